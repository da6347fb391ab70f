"""Waiting for read models while servers write in the background.

The feed shows an event to followers once every transaction older than it has ended (its
horizon is the snapshot's xmin), so one catch-up pass can stop short of an event the test just
wrote: a risk monitor or an engine in a server may have a transaction open at that moment. A
test that reads a read model after its own writes waits here until every projection it names
has applied every event up to the head, or gives up saying what holds them back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime

import sqlalchemy as sa

from harbour.eventstore.projections import Projection, ProjectionRunner
from harbour.eventstore.store import EventStore

# A budget of time, not of rounds: on a loaded CI machine a round (a page of every read model,
# a 50 ms pause) takes longer, and 200 of them once ran out in the crash-over-a-book test.
CATCH_UP_SECONDS = 120.0
# Events up to a head position a checkpoint has not yet passed. The feed is ordered by
# (txid, position), so its last event need not hold the highest position: comparing positions
# alone can wait forever for an event already applied, or stop short of one that is not.
SHORT_OF_HEAD_SQL = sa.text(
    "SELECT count(*) FROM events WHERE position <= :head "
    "AND (txid, position) > (CAST(:txid AS xid8), :position)"
)
# The oldest transaction open on the server: while it runs, the feed shows no event written
# after it started, so followers wait however often asked.
OLDEST_OPEN_SQL = sa.text(
    "SELECT pid, xact_start, now() - xact_start AS age, state, backend_xid::text AS xid, "
    "left(query, 200) AS query FROM pg_stat_activity "
    "WHERE xact_start IS NOT NULL AND pid <> pg_backend_pid() ORDER BY xact_start LIMIT 1"
)


async def caught_up(
    store: EventStore,
    projections: Sequence[Projection],
    *,
    clock: Callable[[], datetime],
    within: float = CATCH_UP_SECONDS,
) -> None:
    """Every one of ``projections`` caught up with every event written before this call."""
    runner = ProjectionRunner(store, clock=clock)
    head = await store.head_position()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        await runner.catch_up_together(projections)
        behind = await short_of_head(store, runner, projections, head)
        if not behind:
            return
        if loop.time() >= deadline:
            why = await why_behind(store, runner, behind, head)
            raise AssertionError(f"the read models did not catch up in {within:g} s: {why}")
        await asyncio.sleep(0.05)


async def short_of_head(
    store: EventStore, runner: ProjectionRunner, projections: Sequence[Projection], head: int
) -> list[Projection]:
    """The projections whose checkpoint has not passed every event up to ``head``."""
    behind = []
    async with store.engine.connect() as conn:
        for projection in projections:
            checkpoint = await runner.checkpoint(projection)
            short = await conn.scalar(
                SHORT_OF_HEAD_SQL,
                {"head": head, "txid": str(checkpoint.txid), "position": checkpoint.position},
            )
            if short:
                behind.append(projection)
    return behind


async def why_behind(
    store: EventStore, runner: ProjectionRunner, behind: Sequence[Projection], head: int
) -> str:
    """What the followers wait for, in one line: the head, which read models are short of it,
    where the first stands and whether it is quarantined, the feed's horizon and the oldest
    open transaction."""
    status = await runner.status(behind[0])
    checkpoint = status.checkpoint
    async with store.engine.connect() as conn:
        short = await conn.scalar(
            SHORT_OF_HEAD_SQL,
            {"head": head, "txid": str(checkpoint.txid), "position": checkpoint.position},
        )
        horizon = await conn.scalar(sa.text("SELECT pg_snapshot_xmin(pg_current_snapshot())"))
        oldest = (await conn.execute(OLDEST_OPEN_SQL)).mappings().first()
    quarantine = (
        f"QUARANTINED at {status.poison.describe()}"
        if status.quarantined and status.poison is not None
        else ("QUARANTINED" if status.quarantined else "not quarantined")
    )
    open_one = (
        "no other transaction open"
        if oldest is None
        else (
            f"oldest open transaction: pid {oldest['pid']} since {oldest['xact_start']} "
            f"({oldest['age']}), {oldest['state']}, xid {oldest['xid']}: {oldest['query']!r}"
        )
    )
    names = ", ".join(p.name for p in behind)
    return (
        f"head position {head}; short of it: {names}; {status.name} checkpoint (txid "
        f"{checkpoint.txid}, position {checkpoint.position}), {status.behind} events behind "
        f"the feed, {short} of them at or before the head; {quarantine}; feed horizon xid "
        f"{horizon}; {open_one}"
    )


class Follower:
    """A follower a server runs in the background (the risk monitor, the limit monitor),
    named for its checkpoint only: the test reads where it stands, never runs it."""

    tables = ()

    def __init__(self, name: str) -> None:
        self.name = name

    async def apply(self, conn: object, events: object) -> None:
        raise AssertionError(f"{self.name} runs in its server, not in the test")


async def passed(
    store: EventStore, name: str, *, clock: Callable[[], datetime], within: float = CATCH_UP_SECONDS
) -> None:
    """The background follower ``name`` has applied every event written before this call
    (it runs on its own: this only waits for its checkpoint)."""
    runner = ProjectionRunner(store, clock=clock)
    follower = Follower(name)
    head = await store.head_position()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while await short_of_head(store, runner, [follower], head):
        if loop.time() >= deadline:
            why = await why_behind(store, runner, [follower], head)
            raise AssertionError(f"{name} did not pass the head in {within:g} s: {why}")
        await asyncio.sleep(0.05)
