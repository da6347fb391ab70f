"""A malformed event stops only the projection that cannot apply it; everything else goes on.

The poison is a CashDeposited the decoder refuses, written straight into the event store with
a valid chain hash (tests/integration/poison.py), between good events of real commands.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from harbour.accounts import domain as d
from harbour.accounts.handlers import AccountHandlers
from harbour.accounts.projections import Balances
from harbour.eventstore.database import Database
from harbour.eventstore.model import START, FeedCheckpoint, RecordedEvent
from harbour.eventstore.projections import (
    OnPoison,
    PoisonEvent,
    ProjectionRunner,
    StreamHeads,
)
from harbour.eventstore.schema import stream_heads
from harbour.eventstore.store import EventStore
from harbour.ledger.grades import CreditGrade
from harbour.ledger.money import Money
from harbour.runtime.projections import all_projections
from harbour.runtime.projector import read_model_loop
from harbour.runtime.server import Runtime
from harbour.runtime.settings import Settings
from harbour.runtime.supervisor import Backoff, Loop, LoopState, Supervisor
from tests.integration.cli_in_process import Ran, harbour_in_process
from tests.integration.poison import POISON_TYPE, insert_poison


def now() -> datetime:
    return datetime.now(UTC)


async def onboard(handlers: AccountHandlers, client: str) -> None:
    await handlers.handle(
        d.OnboardClient(
            client, "SMA", "CA", CreditGrade.A, Money.of("HKD", "1000.00"), "MA", "VA", False
        ),
        request_id=f"{client}-onboard",
        request={"k": "onboard"},
        metadata={},
    )


async def deposit(handlers: AccountHandlers, client: str, amount: str) -> None:
    await handlers.handle(
        d.DepositCash(client, Money.of("HKD", amount), "bank"),
        request_id=f"{client}-deposit-{amount}",
        request={"k": amount},
        metadata={},
    )


async def feed_end(store: EventStore) -> FeedCheckpoint:
    return (await store.read_feed(START, limit=100_000)).checkpoint


async def checkpoint_before(store: EventStore, position: int) -> FeedCheckpoint:
    events = (await store.read_feed(START, limit=100_000)).events
    before = START
    for event in events:
        if event.position == position:
            return before
        before = event.checkpoint
    raise AssertionError(f"no event at position {position}")


async def cash(store: EventStore, client: str) -> str | None:
    async with store.engine.connect() as conn:
        amount = await conn.scalar(
            sa.text("SELECT amount FROM balances WHERE ledger_account = :a AND asset = 'HKD'"),
            {"a": f"client:{client}:cash"},
        )
    return None if amount is None else str(amount)


async def history_with_poison(store: EventStore, database_url: str) -> int:
    """C1 deposits 100.00, then the poison (stream account-BAD), then C1 deposits 50.00 and
    C2 is onboarded. Returns the poison's position."""
    handlers = AccountHandlers(store, clock=now)
    await onboard(handlers, "C1")
    await deposit(handlers, "C1", "100.00")
    poison = insert_poison(database_url, "account-BAD")
    await deposit(handlers, "C1", "50.00")
    await onboard(handlers, "C2")
    return poison


async def test_poison_stops_only_the_read_models_that_cannot_apply_it(
    store: EventStore, database_url: str
) -> None:
    poison = await history_with_poison(store, database_url)
    runner = ProjectionRunner(store, clock=now, page_size=4)  # the poison inside a page
    projections = all_projections()

    await runner.catch_up_together(projections)

    statuses = {s.name: s for s in await runner.statuses(p.name for p in projections)}
    assert {name for name, s in statuses.items() if s.quarantined} == set(POISONED)
    before = await checkpoint_before(store, poison)
    for name in POISONED:
        stopped = statuses[name]
        assert stopped.poison is not None
        assert (stopped.poison.position, stopped.poison.stream_id, stopped.poison.version) == (
            poison,
            "account-BAD",
            1,
        )
        assert stopped.poison.event_type == POISON_TYPE
        assert stopped.poison.reason.startswith("DecodeError: CashDeposited")
        # Everything before the poison is applied; its checkpoint is just before it.
        assert stopped.checkpoint == before
        assert stopped.behind == 9  # the poison, C1's second deposit, C2's 7 onboarding events
    assert await cash(store, "C1") == "10000"  # the first deposit only (minor units)
    assert await clients(store) == ["C1"]

    # Every other read model went past it, in the same transactions.
    end = await feed_end(store)
    for name in statuses.keys() - POISONED:
        assert statuses[name].checkpoint == end and statuses[name].behind == 0, name
    assert await heads(store) == [("account-BAD", 1), ("account-C1", 9), ("account-C2", 7)]

    # Later good events: the healthy keep applying them, the quarantined stay where they are.
    await deposit(AccountHandlers(store, clock=now), "C2", "7.00")
    await runner.catch_up_together(projections)
    assert await heads(store) == [("account-BAD", 1), ("account-C1", 9), ("account-C2", 8)]
    for status in await runner.statuses(p.name for p in projections):
        assert status.behind == (10 if status.name in POISONED else 0), status.name
    assert await cash(store, "C1") == "10000"

    # A release without a fix meets the poison again; rows and checkpoint stay as they were.
    assert await runner.release("balances") is True
    assert await runner.release("balances") is False  # already released
    await runner.catch_up(Balances())
    again = await runner.status(Balances())
    assert again.quarantined and again.checkpoint == before
    assert again.poison is not None and again.poison.position == poison

    # A rebuild lifts the quarantine, replays up to the poison and stops there again.
    assert await runner.rebuild(Balances()) == 8
    assert (await runner.status(Balances())).quarantined
    assert await cash(store, "C1") == "10000"


class Picky:
    """A projection that cannot apply events of account-BAD until it is fixed; remembers the
    positions it applied (a savepoint rolled back must leave none behind)."""

    tables: Sequence[sa.Table] = ()

    def __init__(self, name: str, *, on_poison: OnPoison = OnPoison.QUARANTINE) -> None:
        self.name = name
        self.on_poison = on_poison
        self.fixed = False
        self.positions: list[int] = []
        self._pending: list[int] = []

    async def apply(self, conn: AsyncConnection, events: Sequence[RecordedEvent]) -> None:
        for event in events:
            if event.stream_id == "account-BAD" and not self.fixed:
                raise PoisonEvent(f"cannot apply {event.type}")
        self.positions.extend(e.position for e in events)


class SqlPicky(StreamHeads):
    """A projection whose own SQL fails on one event (a data exception in the database): the
    transaction is aborted up to its savepoint, and only this projection is held back."""

    name = "sql_picky"

    async def apply(self, conn: AsyncConnection, events: Sequence[RecordedEvent]) -> None:
        await super().apply(conn, events)
        if any(e.stream_id == "account-BAD" for e in events):
            await conn.execute(sa.text("SELECT 1 / 0"))


async def test_a_page_is_split_to_apply_everything_before_the_poison(
    store: EventStore, database_url: str
) -> None:
    poison = await history_with_poison(store, database_url)
    every = [e.position for e in (await store.read_feed(START, limit=1000)).events]
    runner = ProjectionRunner(store, clock=now, page_size=1000)  # the whole feed in one page
    picky = Picky("picky")
    skipping = Picky("skipping", on_poison=OnPoison.SKIP)

    await runner.catch_up(picky)
    assert picky.positions == [p for p in every if p < poison]
    assert await runner.checkpoint(picky) == await checkpoint_before(store, poison)
    assert (await runner.status(picky)).quarantined
    assert await runner.catch_up(picky) == 0  # stays stopped: nothing read, nothing applied

    await runner.catch_up(skipping)
    assert skipping.positions == [p for p in every if p != poison]
    skipped = await runner.status(skipping)
    assert not skipped.quarantined and skipped.skipped == 1 and skipped.behind == 0
    assert skipped.poison is not None and skipped.poison.position == poison
    assert skipped.poison.reason == "PoisonEvent: cannot apply CashDeposited"

    # The operator's fix, then the release: it goes past the poison and on to the end.
    picky.fixed = True
    assert await runner.release("picky") is True
    await runner.catch_up(picky)
    assert picky.positions == every
    released = await runner.status(picky)
    assert not released.quarantined and released.behind == 0


async def test_a_projections_own_sql_error_rolls_back_only_its_savepoint(
    store: EventStore, database_url: str
) -> None:
    poison = await history_with_poison(store, database_url)
    runner = ProjectionRunner(store, clock=now)
    await runner.catch_up_together([SqlPicky(), StreamHeads()])

    stopped = await runner.status(SqlPicky())
    assert stopped.quarantined and stopped.poison is not None
    assert stopped.poison.position == poison
    assert "DataError" in stopped.poison.reason and "division by zero" in stopped.poison.reason
    assert stopped.checkpoint == await checkpoint_before(store, poison)
    assert (await runner.status(StreamHeads())).behind == 0
    assert await heads(store) == [("account-BAD", 1), ("account-C1", 9), ("account-C2", 7)]


class Crashing(StreamHeads):
    name = "crashing"

    async def apply(self, conn: AsyncConnection, events: Sequence[RecordedEvent]) -> None:
        await super().apply(conn, events)
        raise RuntimeError("the machinery failed, not an event")


async def test_a_crash_that_is_not_poison_is_raised_and_rolls_the_page_back(
    store: EventStore,
) -> None:
    await onboard(AccountHandlers(store, clock=now), "C1")
    runner = ProjectionRunner(store, clock=now)
    with pytest.raises(RuntimeError):
        await runner.catch_up_together([StreamHeads(), Crashing()])
    assert await runner.checkpoint(StreamHeads()) == START
    assert not (await runner.status(Crashing())).quarantined
    assert await heads(store) == []


async def test_a_supervised_projector_keeps_serving_past_poison(
    store: EventStore, database: Database, database_url: str
) -> None:
    poison = await history_with_poison(store, database_url)
    settings = replace(Settings.from_env({}), database_url=database_url)
    runtime = Runtime(settings, database, store, now)
    projections = all_projections()
    supervisor = Supervisor(
        [Loop("projector", read_model_loop(runtime, projections, pace=0.0))],
        backoff=Backoff(first=0.05, cap=0.1),
    )
    runner = ProjectionRunner(store, clock=now)
    supervisor.start()
    try:
        await until(lambda: caught_up(runner, "stream_heads", store))
        handlers = AccountHandlers(store, clock=now)
        for n in range(3):  # the loop keeps taking later events, round after round
            await deposit(handlers, "C2", f"{n + 1}.00")
            await until(lambda: caught_up(runner, "stream_heads", store))
        status = supervisor.status("projector")
        assert status.state is LoopState.UP and status.restarts == 0, status
        for name in POISONED:
            stopped = await runner.status(next(p for p in projections if p.name == name))
            assert stopped.quarantined and stopped.poison is not None
            assert stopped.poison.position == poison
    finally:
        await supervisor.stop()
    assert await heads(store) == [("account-BAD", 1), ("account-C1", 9), ("account-C2", 10)]


def harbour(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HARBOUR_DATABASE_URL": url, "HARBOUR_LOG_LEVEL": "CRITICAL"}
    return subprocess.run(
        [sys.executable, "-m", "harbour.runtime.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def in_process(*args: str, url: str) -> Ran:
    return harbour_in_process(*args, url=url, log_level="CRITICAL")


async def test_the_cli_shows_lag_and_quarantine_and_fails_for_it(
    store: EventStore, database_url: str
) -> None:
    poison = await history_with_poison(store, database_url)
    total = len((await store.read_feed(START, limit=1000)).events)
    where = f"position {poison} (account-BAD v1, {POISON_TYPE}): DecodeError: CashDeposited"

    # No projector ran: verify says how far behind each was before it caught them up. It runs
    # as a real process; the later commands in this one (the same code, without a second or
    # more of start-up each).
    verified = harbour("projections", "verify", url=database_url)
    assert verified.returncode == 1, verified.stdout + verified.stderr
    for projection in all_projections():
        assert (
            f"{projection.name}: {total} events behind the feed before this check"
            in verified.stdout
        )
    for name in POISONED:
        assert f"{name}: QUARANTINED at {where}" in verified.stdout
        assert f"harbour projections retry {name}" in verified.stdout
    assert "stream_heads: matches a rebuild" in verified.stdout
    assert "balances: matches a rebuild" in verified.stdout  # up to where it stopped

    status = in_process("projections", "status", url=database_url)
    assert status.returncode == 1, status.stdout + status.stderr
    lines = {line.split(":")[0]: line for line in status.stdout.splitlines()}
    assert lines["balances"].startswith(
        f"balances: checkpoint {await checkpoint_before(store, poison)}, 9 events behind, "
        f"QUARANTINED at {where}"
    )
    assert (
        lines["stream_heads"]
        == f"stream_heads: checkpoint {await feed_end(store)}, 0 events behind"
    )

    retried = in_process("projections", "retry", "balances", url=database_url)
    assert retried.returncode == 1  # no fix: stopped at the same event again
    assert f"balances: QUARANTINED at {where}" in retried.stdout
    assert in_process("projections", "retry", "stream_heads", url=database_url).stdout == (
        f"stream_heads: not quarantined\nstream_heads: running, checkpoint "
        f"{await feed_end(store)}, 0 events behind\n"
    )
    assert in_process("projections", "retry", url=database_url).returncode == 2


POISONED = frozenset({"accounts", "balances", "loans"})  # they decode every account event


async def caught_up(runner: ProjectionRunner, name: str, store: EventStore) -> bool:
    (status,) = await runner.statuses([name], only=True)
    return status.checkpoint == await feed_end(store)


async def until(condition: Callable[[], Awaitable[bool]], within: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def heads(store: EventStore) -> list[tuple[str, int]]:
    async with store.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(stream_heads.c.stream_id, stream_heads.c.version).order_by(
                stream_heads.c.stream_id
            )
        )
        return [(stream, int(version)) for stream, version in rows]


async def clients(store: EventStore) -> list[str]:
    async with store.engine.connect() as conn:
        rows = await conn.execute(sa.text("SELECT client_id FROM accounts ORDER BY client_id"))
        return [client for (client,) in rows]
