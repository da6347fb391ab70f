"""Two replicas of the projector over one read model that has no checkpoint row yet (its first
page, or just rebuilt): they take turns on the checkpoint row, so no page is applied twice."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import sqlalchemy as sa

from harbour.eventstore.model import NewEvent
from harbour.eventstore.projections import ProjectionRunner, StreamHeads
from harbour.eventstore.store import EventStore


def now() -> datetime:
    return datetime.now(UTC)


async def test_two_projectors_starting_from_nothing_count_every_event_once(
    store: EventStore,
) -> None:
    for n in range(40):
        await store.append(
            f"race-{n % 4}",
            [NewEvent("Noted", {"n": n})],
            expected_version=n // 4,
        )
    runners = [ProjectionRunner(store, clock=now, page_size=5) for _ in range(2)]
    for _ in range(3):  # also after a rebuild, which deletes the checkpoint row again
        await asyncio.gather(*(r.catch_up(StreamHeads()) for r in runners))
        assert await runners[0].verify(StreamHeads()) == []
        async with store.engine.connect() as conn:
            counted = await conn.scalar(sa.text("SELECT sum(event_count) FROM stream_heads"))
        assert counted == 40
        await asyncio.gather(runners[0].rebuild(StreamHeads()), runners[1].catch_up(StreamHeads()))
