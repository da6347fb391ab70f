"""The command path's round trips: a command decides on the cached state and makes one
statement (the append, carrying the feed's wake-up when one is due); the version check is
what proves the cache current, and a refusal on a cached state is confirmed first; a
follower does not read again an account this process's commands left where it has seen it;
the ownership check is a compiled lookup that follows the owners table."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import psycopg
import pytest

from harbour.application.runner import CommandRunner
from harbour.application.streams import StreamKind
from harbour.eventstore.database import Database
from harbour.eventstore.model import NewEvent, RecordedEvent
from harbour.eventstore.notify import CHANNEL, FeedNotifier
from harbour.eventstore.store import EventStore
from harbour.ledger import events as ev
from harbour.ledger.errors import FailedPrecondition
from harbour.ledger.money import Money
from harbour.runtime.database import open_database
from tests.conftest import utc_clock

# A stream's state here is how many events it holds.
COUNTED: StreamKind[int] = StreamKind(lambda _: 0, lambda n, _: n + 1)


def moved(n: int) -> ev.BrokerExposureChanged:
    return ev.BrokerExposureChanged("C1", "C1", Money.of("HKD", "1.00"), "advance", f"e{n}")


class CountingStore(EventStore):
    """The real store, counting the statements a command makes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reads = 0
        self.appends = 0

    async def read_stream(self, stream_id: str, **kwargs: Any) -> list[RecordedEvent]:
        self.reads += 1
        return await super().read_stream(stream_id, **kwargs)

    async def read_streams(self, after: Mapping[str, int]) -> dict[str, list[RecordedEvent]]:
        self.reads += 1
        return await super().read_streams(after)

    async def load_snapshot(self, stream_id: str, **kwargs: Any) -> Any:
        self.reads += 1
        return await super().load_snapshot(stream_id, **kwargs)

    async def append_together(self, *args: Any, **kwargs: Any) -> Any:
        self.appends += 1
        return await super().append_together(*args, **kwargs)


async def add(runner: CommandRunner, stream: str, request_id: str) -> int:
    """One event on ``stream``; returns the count the runner decided on."""
    seen: list[int] = []

    def decide(n: int) -> list[ev.Event]:
        seen.append(n)
        return [moved(n)]

    await runner.run(COUNTED, stream, decide, request_id=request_id, request={}, metadata={})
    return seen[-1]


async def take(runner: CommandRunner, stream: str, request_id: str) -> None:
    """Refused unless the stream holds an event already."""

    def decide(n: int) -> list[ev.Event]:
        if n == 0:
            raise FailedPrecondition("nothing to take")
        return [moved(n)]

    await runner.run(COUNTED, stream, decide, request_id=request_id, request={}, metadata={})


async def test_a_command_on_a_cached_stream_makes_one_statement(database: Database) -> None:
    store = CountingStore(database, clock=utc_clock)
    runner = CommandRunner(store)
    await add(runner, "account-A", "r1")  # loads the stream: cold
    store.reads = store.appends = 0
    for n in range(2, 6):
        assert await add(runner, "account-A", f"r{n}") == n - 1
    assert (store.reads, store.appends) == (0, 4)
    assert await store.stream_version("account-A") == 5


async def test_a_stale_cache_loses_on_the_version_and_decides_again(database: Database) -> None:
    store = CountingStore(database, clock=utc_clock)
    ours, theirs = CommandRunner(store), CommandRunner(EventStore(database, clock=utc_clock))
    await add(ours, "account-B", "b1")
    await add(theirs, "account-B", "b2")  # another replica: our cache is behind now
    store.reads = store.appends = 0
    assert await add(ours, "account-B", "b3") == 2  # decided again on the current state
    assert (store.reads, store.appends) == (1, 2)  # the losing append, a read, the append
    assert await store.stream_version("account-B") == 3


async def test_a_refusal_on_a_cached_state_is_confirmed_before_it_is_answered(
    database: Database,
) -> None:
    store = CountingStore(database, clock=utc_clock)
    ours, theirs = CommandRunner(store), CommandRunner(EventStore(database, clock=utc_clock))
    with pytest.raises(FailedPrecondition):
        await take(ours, "account-C", "c1")  # refused, and the empty state is cached
    await add(theirs, "account-C", "c2")
    await take(ours, "account-C", "c3")  # the cache said "empty"; the stream did not
    assert await store.stream_version("account-C") == 2
    with pytest.raises(FailedPrecondition):
        await take(ours, "account-D", "d1")  # truly empty: still refused


async def test_a_repeated_request_on_a_cached_stream_gets_its_first_answer(
    database: Database,
) -> None:
    store = CountingStore(database, clock=utc_clock)
    runner = CommandRunner(store)
    await add(runner, "account-E", "e1")
    await add(runner, "account-E", "e1")  # the retry of a command that was applied
    assert await store.stream_version("account-E") == 1


async def test_a_follower_does_not_read_again_what_the_commands_left_current(
    database: Database,
) -> None:
    store = CountingStore(database, clock=utc_clock)
    ours, theirs = CommandRunner(store), CommandRunner(EventStore(database, clock=utc_clock))
    await add(ours, "account-S", "s1")
    await add(ours, "account-S", "s2")
    wanted: Sequence[tuple[StreamKind[Any], str]] = [(COUNTED, "account-S")]
    store.reads = 0
    # The feed page showed version 2: this process's own command left the cache there.
    assert await ours.load_many(wanted, {"account-S": 2}) == [2]
    assert store.reads == 0
    await add(theirs, "account-S", "s3")  # another process: the next page shows version 3
    assert await ours.load_many(wanted, {"account-S": 3}) == [3]
    assert store.reads == 1


@pytest.fixture
async def listening(database_url: str) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    conn = await psycopg.AsyncConnection.connect(database_url, autocommit=True)
    await conn.execute(f"LISTEN {CHANNEL}")
    yield conn
    await conn.close()


async def notices(conn: psycopg.AsyncConnection[Any], seconds: float) -> list[str]:
    return [n.payload async for n in conn.notifies(timeout=seconds)]


async def test_the_wake_up_rides_in_a_later_append_one_commit_for_both(
    database: Database, listening: psycopg.AsyncConnection[Any]
) -> None:
    notifier = FeedNotifier(database, interval=0.2)
    store = EventStore(database, clock=utc_clock, notifier=notifier)
    await store.append("account-F", [NewEvent("CashDeposited", {"x": 1})], expected_version=0)
    await asyncio.sleep(0.12)  # its wake-up has waited half the interval: the next append...
    await store.append("account-G", [NewEvent("CashDeposited", {"x": 1})], expected_version=0)
    # ...carried it, sent by its commit (the timer would have sent it 0.2 s in), and no
    # NOTIFY of its own followed: one wake-up, no commit of its own.
    assert await notices(listening, 0.05) == [""]
    assert await notices(listening, 0.3) == []
    # A lull: the wake-up goes on its own after the interval.
    await store.append("account-H", [NewEvent("CashDeposited", {"x": 1})], expected_version=0)
    assert await notices(listening, 0.5) == [""]
    await notifier.drain()


async def _append_as(url: str, role: str, event_type: str, stream: str) -> None:
    database = await open_database(url, role=role, pool_size=1)
    try:
        store = EventStore(database, clock=utc_clock)
        await store.append(stream, [NewEvent(event_type, {"x": 1})], expected_version=0)
    finally:
        await database.close()


async def test_the_compiled_ownership_check_follows_the_owners_table(database_url: str) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        await _append_as(database_url, "harbour_audit", "CashDeposited", "account-O1")
    with psycopg.connect(database_url, autocommit=True) as conn:  # as a migration would
        conn.execute(
            "INSERT INTO event_type_owners (role, event_type) "
            "VALUES ('harbour_audit', 'CashDeposited')"
        )
    await _append_as(database_url, "harbour_audit", "CashDeposited", "account-O2")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DELETE FROM event_type_owners WHERE role = 'harbour_audit'")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        await _append_as(database_url, "harbour_audit", "CashDeposited", "account-O3")
