"""Checked reads: a decision that rests on streams it does not write (the policy, the prices)
may use them as cached, without a round trip, because its append holds each at the version it
read — as it holds a written stream at its expected version. A stream that moved refuses the
append, and the command reads again; a refusal on a cached read is confirmed first. And two
statements that write the same streams wait for each other in one order."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import psycopg
import pytest
from prometheus_client import REGISTRY

from harbour.application.group_commit import Decide
from harbour.application.outcome import new_event
from harbour.application.runner import CommandRunner
from harbour.application.streams import StreamKind
from harbour.eventstore.append import APPEND_BATCH_SQL
from harbour.eventstore.database import Database
from harbour.eventstore.errors import BatchNotApplied, ConcurrencyConflict, InvalidAppend
from harbour.eventstore.model import CommandWrite, NewEvent, RecordedEvent, StreamWrite
from harbour.eventstore.store import EventStore
from harbour.ledger import events as ev
from harbour.ledger.errors import FailedPrecondition
from harbour.ledger.money import Money
from tests.conftest import utc_clock

# A stream's state here is how many events it holds.
COUNTED: StreamKind[int] = StreamKind(lambda _: 0, lambda n, _: n + 1)
NOTE = NewEvent("Noted", {"n": 1})
RETRIES = "harbour_command_retries_total"


def moved(reference: str) -> ev.BrokerExposureChanged:
    return ev.BrokerExposureChanged("C1", "C1", Money.of("HKD", "1.00"), "advance", reference)


PRICE = new_event(moved("a new price"))  # what the runner's tests fold: any domain event


def command(stream: str, expected: int, reads: Mapping[str, int], request_id: str) -> CommandWrite:
    return CommandWrite(
        [StreamWrite(stream, [NOTE], expected)], request_id, request_id.encode(), {}, None, reads
    )


class ReadCountingStore(EventStore):
    """The real store, counting the reads a command makes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reads = 0

    async def read_streams(self, after: Mapping[str, int]) -> dict[str, list[RecordedEvent]]:
        self.reads += 1
        return await super().read_streams(after)

    async def read_stream(self, stream_id: str, **kwargs: Any) -> list[RecordedEvent]:
        self.reads += 1
        return await super().read_stream(stream_id, **kwargs)


class LosingStore(ReadCountingStore):
    """Another writer moves ``price-X`` just before each of the first ``losses`` appends of
    ``account-A``: a cache that keeps losing."""

    def __init__(self, *args: Any, losses: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.losses = losses
        self.elsewhere = EventStore(*args, **kwargs)

    async def _lose_one(self) -> None:
        if self.losses > 0:
            self.losses -= 1
            version = await self.stream_version("price-X")
            await self.elsewhere.append("price-X", [PRICE], expected_version=version)

    async def append_together(self, writes: Any, **kwargs: Any) -> Any:
        await self._lose_one()
        return await super().append_together(writes, **kwargs)

    async def append_batch(self, commands: Any) -> Any:
        if commands:  # a batch whose commands all went round again appends nothing
            await self._lose_one()
        return await super().append_batch(commands)


async def test_an_append_holds_the_streams_it_read_at_their_versions(store: EventStore) -> None:
    await store.append("price-X", [NOTE, NOTE], expected_version=0)

    done = await store.append_together(
        [StreamWrite("account-A", [NOTE], 0)], request_id="r1", reads={"price-X": 2}
    )
    assert done.version == 1

    await store.append("price-X", [NOTE], expected_version=2)
    with pytest.raises(ConcurrencyConflict) as conflict:
        await store.append_together(
            [StreamWrite("account-A", [NOTE], 1)], request_id="r2", reads={"price-X": 2}
        )
    assert (conflict.value.stream_id, conflict.value.expected_version) == ("price-X", 2)
    assert await store.stream_version("account-A") == 1  # nothing written
    assert await store.lookup_command("r2") is None


async def test_a_batch_names_a_read_stream_that_moved_and_writes_nothing(
    store: EventStore,
) -> None:
    await store.append("price-X", [NOTE], expected_version=0)
    batch = [command("account-A", 0, {"price-X": 0}, "a"), command("account-B", 0, {}, "b")]
    with pytest.raises(BatchNotApplied) as refused:
        await store.append_batch(batch)
    assert refused.value.stale == {"price-X"}
    # Two decisions that read one stream at two versions: one of them is behind.
    batch = [
        command("account-A", 0, {"price-X": 1}, "a"),
        command("account-B", 0, {"price-X": 0}, "b"),
    ]
    with pytest.raises(BatchNotApplied) as refused:
        await store.append_batch(batch)
    assert refused.value.stale == {"price-X"}
    assert await store.stream_version("account-A") == await store.stream_version("account-B") == 0

    results = await store.append_batch(
        [command("account-A", 0, {"price-X": 1}, "a"), command("account-B", 0, {"price-X": 1}, "b")]
    )
    assert [r.version for r in results] == [1, 1]


async def test_a_stream_is_read_or_written_by_a_statement_not_both(store: EventStore) -> None:
    batch = [command("account-A", 0, {}, "a"), command("account-B", 0, {"account-A": 0}, "b")]
    with pytest.raises(InvalidAppend, match="reads"):
        await store.append_batch(batch)
    assert await store.stream_version("account-A") == 0


Command = Callable[..., Awaitable[object]]


async def grouped(
    runner: CommandRunner, request_id: str, *, needs: int = 0, used: list[int] | None = None
) -> object:
    """A command on ``account-A`` through the exposure's group commit, resting on the count
    of ``price-X`` (refused below ``needs``); ``used`` receives each count it decided on."""

    async def prepare(_: int, __: int, reads: dict[str, int] | None) -> Decide:
        (price,) = await runner.load_many([(COUNTED, "price-X")], reads=reads)

        def decide(_: int, __: int) -> tuple[list[ev.Event], list[ev.Event]]:
            return judged(price, needs, used, request_id), [moved(request_id)]

        return decide

    return await runner.run_grouped(
        (COUNTED, "account-A"),
        (COUNTED, "broker-exposure"),
        prepare,
        request_id=request_id,
        request={"id": request_id},
        metadata={},
    )


async def alone(
    runner: CommandRunner, request_id: str, *, needs: int = 0, used: list[int] | None = None
) -> object:
    """The same command on ``account-A`` alone (``run_reading``: no hot stream)."""

    async def decide(_: int, reads: dict[str, int] | None) -> list[ev.Event]:
        (price,) = await runner.load_many([(COUNTED, "price-X")], reads=reads)
        return judged(price, needs, used, request_id)

    return await runner.run_reading(
        COUNTED, "account-A", decide, request_id=request_id, request={"id": request_id}, metadata={}
    )


def judged(price: int, needs: int, used: list[int] | None, request_id: str) -> list[ev.Event]:
    if used is not None:
        used.append(price)
    if price < needs:
        raise FailedPrecondition("price too old")
    return [moved(request_id)]


def retries() -> Counter[str]:
    """harbour_command_retries_total so far, by reason."""
    reasons = ("version_conflict", "streams_moved", "behind", "unprepared")
    return Counter(
        {
            reason: int(REGISTRY.get_sample_value(RETRIES, {"reason": reason}) or 0)
            for reason in reasons
        }
    )


BOTH_PATHS = pytest.mark.parametrize("run", [grouped, alone], ids=["group-commit", "alone"])


async def priced(store: EventStore) -> CommandRunner:
    """A runner over ``store``, once ``price-X`` has its first price."""
    await store.append("price-X", [PRICE], expected_version=0)
    return CommandRunner(store)


@BOTH_PATHS
async def test_a_decision_on_a_cached_read_makes_no_read_and_redecides_when_it_moved(
    database: Database, run: Command
) -> None:
    store = ReadCountingStore(database, clock=utc_clock)
    runner = await priced(store)
    elsewhere = EventStore(database, clock=utc_clock)  # another process's store
    used: list[int] = []
    await run(runner, "first", used=used)  # caches account-A and price-X

    reads = store.reads
    await run(runner, "second", used=used)
    assert store.reads == reads  # all it rests on came from the cache, checked by the append

    await elsewhere.append("price-X", [PRICE], expected_version=1)  # a new price
    await run(runner, "third", used=used)
    # Decided on the cached price first; its append was refused and it decided again on the new.
    assert used == [1, 1, 1, 2]
    assert await store.stream_version("account-A") == 3


@BOTH_PATHS
@pytest.mark.parametrize("moving", ["price-X", "account-A"])
async def test_a_retry_reads_once_what_moved_and_decides_again_on_the_cache(
    database: Database, run: Command, moving: str
) -> None:
    store = ReadCountingStore(database, clock=utc_clock)
    runner = await priced(store)
    await run(runner, "first")  # caches account-A (at 1) and price-X (at 1)
    await EventStore(database, clock=utc_clock).append(moving, [PRICE], expected_version=1)

    before, retried = store.reads, retries()
    used: list[int] = []
    await run(runner, "second", used=used)
    # Lost on the cache, caught up in one round trip, decided again on the cache: the read
    # that used to come before each stream's second decision is gone.
    assert store.reads - before == 1
    # Counted for the operators, by why: the batch found streams moved, or the append lost.
    why = "streams_moved" if run is grouped else "version_conflict"
    assert retries() - retried == Counter({why: 1})
    assert used == ([1, 2] if moving == "price-X" else [1, 1])
    assert await store.stream_version("account-A") == (2 if moving == "price-X" else 3)


@BOTH_PATHS
async def test_a_retry_decides_on_what_it_caught_up_which_its_append_does_not_hold(
    database: Database, run: Command
) -> None:
    store = LosingStore(database, clock=utc_clock, losses=0)
    runner = await priced(store)
    await run(runner, "first")
    store.losses = 2  # the price moves just before each of the next two appends
    used: list[int] = []
    await run(runner, "second", used=used)
    # The first decision, on the cached price, lost and caught up; the second rested on the
    # price it caught up, as on a read, and the price that moved after it did not refuse it.
    assert used == [1, 2]
    assert await store.stream_version("price-X") == 3
    assert await store.stream_version("account-A") == 2


@BOTH_PATHS
async def test_a_refusal_on_a_cached_read_is_confirmed_before_it_is_answered(
    database: Database, run: Command
) -> None:
    store = EventStore(database, clock=utc_clock)
    runner = await priced(store)
    with pytest.raises(FailedPrecondition):
        await run(runner, "early", needs=2)  # the price it has is too old: refused

    await EventStore(database, clock=utc_clock).append("price-X", [PRICE], expected_version=1)
    used: list[int] = []
    retried = retries()
    await run(runner, "later", needs=2, used=used)
    assert retries() - retried == Counter({"behind": 1})
    # Refused on the cached price, which had moved (elsewhere): decided again on the new one.
    assert used == [1, 2]
    assert await store.stream_version("account-A") == 1


async def test_statements_that_share_streams_wait_in_one_order_never_deadlock(
    store: EventStore, database_url: str
) -> None:
    """A transaction holds account-A's next version and will take account-B's; a batch that
    lists B before A must wait for A before it takes B, or the two wait for each other."""
    one = await psycopg.AsyncConnection.connect(database_url)  # a transaction held open
    watch = await psycopg.AsyncConnection.connect(database_url, autocommit=True)
    try:
        deadlocks_before = await deadlocks(watch)
        await one.execute(APPEND_BATCH_SQL, params(store, "account-A"))
        batch = asyncio.ensure_future(
            store.append_batch([command("account-B", 0, {}, "b"), command("account-A", 0, {}, "a")])
        )
        for _ in range(1000):  # until the batch waits for account-A (at most 10 s)
            if await waiting_on_a_lock(watch):
                break
            await asyncio.sleep(0.01)
        else:
            pytest.fail("the batch never waited for the open transaction")
        await one.execute(APPEND_BATCH_SQL, params(store, "account-B"))  # not blocked
        await one.commit()
        with pytest.raises(BatchNotApplied):  # A was taken: it decides again
            await batch
        assert await deadlocks(watch) == deadlocks_before
    finally:
        await one.close()
        await watch.close()
    assert await store.stream_version("account-A") == await store.stream_version("account-B") == 1


def params(store: EventStore, stream: str) -> dict[str, Any]:
    write = CommandWrite([StreamWrite(stream, [NOTE], 0)], None, b"", {})
    return store._batch_params([write], utc_clock())[0]


async def waiting_on_a_lock(conn: psycopg.AsyncConnection[Any]) -> bool:
    cursor = await conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock'"
    )
    row = await cursor.fetchone()
    return row is not None and row[0] > 0


async def deadlocks(conn: psycopg.AsyncConnection[Any]) -> int:
    await conn.execute("SELECT pg_stat_force_next_flush()")
    await conn.execute("SELECT pg_stat_clear_snapshot()")
    cursor = await conn.execute(
        "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"
    )
    row = await cursor.fetchone()
    assert row is not None
    return int(row[0])
