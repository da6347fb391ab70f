"""The global feed never skips a late committer; projections are exactly-once and rebuildable."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from harbour.collector import PAUSE_COLLECTOR_FROM
from harbour.eventstore.encoding import GENESIS_HASH, chain_hash, event_content
from harbour.eventstore.model import START, CommandWrite, NewEvent, RecordedEvent, StreamWrite
from harbour.eventstore.notify import FeedListener, FeedNotifier
from harbour.eventstore.projections import ProjectionRunner, StreamHeads
from harbour.eventstore.schema import stream_heads
from harbour.eventstore.store import EventStore
from harbour.runtime.settings import libpq_url

RAW_INSERT = (
    "INSERT INTO events (stream_id, version, type, schema_version, recorded_at, hash, content) "
    "VALUES (%s, 1, 'CashDeposited', 1, %s, %s, %s) RETURNING position, txid::text"
)


def raw_first_event(stream_id: str) -> tuple[str, datetime, bytes, bytes]:
    """RAW_INSERT's parameters: the database refuses a hash that does not start the chain."""
    at = datetime.now(UTC)
    content = event_content(
        stream_id=stream_id,
        version=1,
        event_type="CashDeposited",
        schema_version=1,
        data_json="{}",
        metadata_json="{}",
        recorded_at=at,
    )
    return stream_id, at, chain_hash(GENESIS_HASH, content), content


def clock() -> datetime:
    return datetime.now(UTC)


async def test_a_late_committer_is_never_skipped(store: EventStore, database_url: str) -> None:
    url = libpq_url(database_url)
    with psycopg.connect(url) as early, psycopg.connect(url) as late:
        # `early` takes its xid first but commits last: the classic gap of position-based feeds.
        early_position, early_txid = early.execute(
            RAW_INSERT, raw_first_event("account-EARLY")
        ).fetchone()  # type: ignore[misc]
        late_position, late_txid = late.execute(
            RAW_INSERT, raw_first_event("account-LATE")
        ).fetchone()  # type: ignore[misc]
        late.commit()
        assert early_position < late_position and int(early_txid) < int(late_txid)

        page = await store.read_feed(START)
        # A reader going by position alone would hand out a checkpoint past `early` now.
        assert page.events == [] and page.checkpoint == START
        assert page.horizon <= int(early_txid)

        early.commit()
    page = await store.read_feed(page.checkpoint)
    assert [e.stream_id for e in page.events] == ["account-EARLY", "account-LATE"]
    assert (await store.read_feed(page.checkpoint)).events == []


async def test_a_follower_sees_every_event_exactly_once_under_concurrent_writers(
    store: EventStore,
) -> None:
    writers_done = asyncio.Event()
    seen: list[int] = []

    async def writer(n: int) -> None:
        for version in range(25):
            await store.append(
                f"account-W{n}",
                [NewEvent("CashDeposited", {"n": version})],
                expected_version=version,
            )

    async def follower() -> None:
        checkpoint = START
        while True:
            done = writers_done.is_set()
            page = await store.read_feed(checkpoint, limit=37)
            seen.extend(e.position for e in page.events)
            checkpoint = page.checkpoint
            if done and not page.events:
                return
            await asyncio.sleep(0)

    follow = asyncio.create_task(follower())
    await asyncio.gather(*(writer(n) for n in range(12)))
    writers_done.set()
    await follow
    everything = [e.position for e in await store.read_all()]
    assert len(seen) == len(set(seen)) == 300  # nothing twice
    assert sorted(seen) == everything  # nothing skipped


async def heads(conn: AsyncConnection) -> list[tuple[Any, ...]]:
    rows = await conn.execute(sa.select(stream_heads).order_by(stream_heads.c.stream_id))
    return [tuple(row) for row in rows]


async def test_projection_rebuild_equals_the_live_projection(store: EventStore) -> None:
    runner = ProjectionRunner(store, clock=clock, page_size=50)
    projection = StreamHeads()

    async def writer(n: int) -> None:
        for version in range(20):
            await store.append(
                f"account-P{n % 5}-{n}",
                [NewEvent("CashDeposited", {"v": version})],
                expected_version=version,
            )

    async def live_runner() -> None:
        for _ in range(10):
            await runner.catch_up(projection)
            await asyncio.sleep(0.01)

    await asyncio.gather(live_runner(), *(writer(n) for n in range(10)))
    await runner.catch_up(projection)
    assert await runner.verify(projection) == []
    async with store.engine.connect() as conn:
        live = await heads(conn)
    assert len(live) == 10 and all(row[1] == 20 and row[2] == 20 for row in live)
    assert await runner.rebuild(projection) == 200
    async with store.engine.connect() as conn:
        assert await heads(conn) == live


async def test_verify_reports_a_projection_that_drifted(
    store: EventStore, database_url: str
) -> None:
    runner = ProjectionRunner(store, clock=clock)
    await store.append("account-C1", [NewEvent("CashDeposited", {})], expected_version=0)
    await runner.catch_up(StreamHeads())
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        conn.execute("UPDATE stream_heads SET event_count = 7")
    (difference,) = await runner.verify(StreamHeads())
    assert (difference.table, difference.only_live, difference.only_rebuilt) == (
        "stream_heads",
        1,
        1,
    )


class FailingProjection(StreamHeads):
    name = "failing"

    async def apply(self, conn: AsyncConnection, events: Sequence[RecordedEvent]) -> None:
        await super().apply(conn, events)
        raise RuntimeError("crash after writing rows, before the checkpoint")


async def test_rows_and_checkpoint_commit_together(store: EventStore) -> None:
    runner = ProjectionRunner(store, clock=clock)
    await store.append("account-C1", [NewEvent("CashDeposited", {})], expected_version=0)
    with pytest.raises(RuntimeError):
        await runner.catch_up(FailingProjection())
    assert await runner.checkpoint(FailingProjection()) == START
    async with store.engine.connect() as conn:
        assert await heads(conn) == []


async def test_an_append_wakes_a_listener_and_quiet_times_out(database: Any) -> None:
    notifier = FeedNotifier(database, interval=0.001)
    store = EventStore(database, clock=clock, notifier=notifier)
    async with FeedListener.for_database(database) as listener:
        assert await listener.wait(0.2) is False  # nothing happened
        started = asyncio.get_running_loop().time()
        await store.append("account-C1", [NewEvent("CashDeposited", {})], expected_version=0)
        assert await listener.wait(5.0) is True
        assert asyncio.get_running_loop().time() - started < 1.0
    await notifier.drain()


class Recording:
    """A projection that remembers the positions it was given (rows would hide a repeat)."""

    tables: Sequence[sa.Table] = ()

    def __init__(self, name: str) -> None:
        self.name = name
        self.positions: list[int] = []

    async def apply(self, conn: AsyncConnection, events: Sequence[RecordedEvent]) -> None:
        self.positions.extend(e.position for e in events)


async def test_projections_caught_up_together_each_get_every_event_once(store: EventStore) -> None:
    for version in range(7):
        await store.append("account-T1", [NewEvent("CashDeposited", {})], expected_version=version)
    runner = ProjectionRunner(store, clock=clock, page_size=3)
    ahead, behind = Recording("ahead"), Recording("behind")
    await runner.catch_up(ahead)  # one projection already has the first seven
    for version in range(7, 12):
        await store.append("account-T1", [NewEvent("CashDeposited", {})], expected_version=version)

    # Pages of three from the one furthest behind: 12 events, 4 full pages, 1 empty.
    assert await runner.catch_up_together([ahead, behind, StreamHeads()]) == 12
    every = [e.position for e in (await store.read_feed(START, limit=100)).events]
    assert ahead.positions == every and behind.positions == every
    for projection in (ahead, behind, StreamHeads()):
        assert await runner.checkpoint(projection) == (await store.read_feed(START)).checkpoint
    assert await runner.verify(StreamHeads()) == []
    assert await runner.catch_up_together([ahead, behind]) == 0


class CollectorWatching(Recording):
    """Records, for each page it is given, its size and whether the collector was on."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.pages: list[tuple[int, bool]] = []

    async def apply(self, conn: AsyncConnection, events: Sequence[RecordedEvent]) -> None:
        self.pages.append((len(events), gc.isenabled()))
        await super().apply(conn, events)


async def test_a_big_page_is_applied_with_the_collector_paused_and_a_small_one_is_not(
    store: EventStore,
) -> None:
    big = PAUSE_COLLECTOR_FROM
    streams = [f"account-G{n}" for n in range(big + 3)]
    await store.append_batch(
        [
            CommandWrite([StreamWrite(s, [NewEvent("CashDeposited", {})], 0)], None, b"", {})
            for s in streams
        ]
    )
    assert gc.isenabled()
    alone, together = CollectorWatching("alone"), CollectorWatching("together")
    runner = ProjectionRunner(store, clock=clock, page_size=big)
    await runner.catch_up(alone)
    await runner.catch_up_together([together])
    # A page of `big` events, then the last three: paused for the first only, and the
    # collector is on again after the catch-up.
    assert alone.pages == together.pages == [(big, False), (3, True)]
    assert gc.isenabled()


async def test_a_paced_listener_spaces_its_rounds(database: Any) -> None:
    notifier = FeedNotifier(database, interval=0.001)
    store = EventStore(database, clock=clock, notifier=notifier)
    loop = asyncio.get_running_loop()
    async with FeedListener.for_database(database, pace=1.0) as listener:
        assert await listener.wait(0.05) is False
        first_round = loop.time()
        await store.append("account-C1", [NewEvent("CashDeposited", {})], expected_version=0)
        assert await listener.wait(5.0) is True
        # Woken well within the pace: the round waits out the rest of it.
        assert loop.time() - first_round >= 1.0
        await asyncio.sleep(1.1)  # quiet for longer than the pace: the next wake-up is prompt
        started = loop.time()
        await store.append("account-C1", [NewEvent("CashDeposited", {})], expected_version=1)
        assert await listener.wait(5.0) is True
        assert loop.time() - started < 0.8
    await notifier.drain()
