"""Concurrent commands' appends sharing statements (CoalescingAppender), on a real store:
each command's outcome is the one it would have had alone."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from harbour.eventstore.coalesce import CoalescingAppender
from harbour.eventstore.errors import ConcurrencyConflict, InvalidAppend, RequestIdReused
from harbour.eventstore.model import AppendResult, CommandWrite, NewEvent, StreamWrite
from harbour.eventstore.store import EventStore, request_fingerprint
from harbour.eventstore.verify import verify_store


class CountingStore(EventStore):
    """The real store, counting the statements that carried several commands."""

    batches: list[int]

    async def append_batch(self, commands: Sequence[CommandWrite]) -> list[AppendResult]:
        self.batches.append(len(commands))
        return await super().append_batch(commands)


@pytest.fixture
def counting(store: EventStore) -> CountingStore:
    store.__class__ = CountingStore
    assert isinstance(store, CountingStore)
    store.batches = []
    return store


def deposit(stream: str, expected: int, request_id: str, amount: object = "1.00") -> CommandWrite:
    events = [NewEvent("CashDeposited", {"amount": amount})]
    request = {"rpc": "Deposit", "stream": stream, "request_id": request_id}
    return CommandWrite(
        [StreamWrite(stream, events, expected)],
        request_id,
        request_fingerprint(request),
        {"actor": "test"},
        {"ok": request_id},
    )


async def test_commands_arriving_together_share_a_statement_and_each_is_logged(
    counting: CountingStore,
) -> None:
    appender = CoalescingAppender(counting)
    results = await asyncio.gather(
        *(appender.append(deposit(f"account-C{n}", 0, f"r{n}")) for n in range(10))
    )
    # All ten were queued before the sending task first ran: one statement for the ten.
    assert counting.batches == [10]
    assert [(r.stream_id, r.version, r.replayed) for r in results] == [
        (f"account-C{n}", 1, False) for n in range(10)
    ]
    for n in range(10):
        (recorded,) = await counting.read_stream(f"account-C{n}")
        assert recorded.metadata == {"actor": "test", "request_id": f"r{n}"}
        logged = await counting.lookup_command(f"r{n}")
        assert logged is not None and logged.response == {"ok": f"r{n}"}
    assert (await verify_store(counting)).intact


async def test_a_stale_stream_fails_only_its_own_command(counting: CountingStore) -> None:
    await counting.append("account-C3", [NewEvent("CashDeposited", {})], expected_version=0)
    appender = CoalescingAppender(counting)
    outcomes = await asyncio.gather(
        *(appender.append(deposit(f"account-C{n}", 0, f"r{n}")) for n in range(6)),
        return_exceptions=True,
    )
    assert counting.batches == [6]  # refused as a whole, then applied one by one
    conflict = outcomes[3]
    assert isinstance(conflict, ConcurrencyConflict) and conflict.stream_id == "account-C3"
    assert all(isinstance(o, AppendResult) for n, o in enumerate(outcomes) if n != 3)
    assert [await counting.stream_version(f"account-C{n}") for n in range(6)] == [1] * 6
    assert await counting.lookup_command("r3") is None


async def test_a_repeat_in_a_batch_is_answered_from_the_log_and_a_reuse_refused(
    counting: CountingStore,
) -> None:
    appender = CoalescingAppender(counting)
    first = await appender.append(deposit("account-C1", 0, "r1"))
    outcomes = await asyncio.gather(
        appender.append(deposit("account-C2", 0, "r2")),
        appender.append(deposit("account-C1", 0, "r1")),  # the same command again
        appender.append(deposit("account-C9", 0, "r1")),  # r1 again, another command
        appender.append(deposit("account-C4", 0, "r4")),
        return_exceptions=True,
    )
    again = outcomes[1]
    assert isinstance(again, AppendResult) and again.replayed
    assert (again.version, again.first_position) == (first.version, first.first_position)
    assert isinstance(outcomes[0], AppendResult) and not outcomes[0].replayed
    assert isinstance(outcomes[2], RequestIdReused)
    assert isinstance(outcomes[3], AppendResult) and not outcomes[3].replayed
    assert await counting.stream_version("account-C1") == 1  # never appended twice
    assert await counting.stream_version("account-C9") == 0


async def test_two_commands_on_one_stream_never_share_a_statement(
    counting: CountingStore,
) -> None:
    appender = CoalescingAppender(counting)
    outcomes = await asyncio.gather(
        appender.append(deposit("account-C0", 0, "r0")),
        appender.append(deposit("account-C1", 0, "a")),
        appender.append(deposit("account-C1", 0, "b")),  # decided on the same state as "a"
        appender.append(deposit("account-C2", 0, "c")),
        return_exceptions=True,
    )
    assert counting.batches == [3]  # "r0", "a" and "c"; "b" waited for the next statement
    assert isinstance(outcomes[2], ConcurrencyConflict)  # it lost to "a", as it would alone
    (only,) = await counting.read_stream("account-C1")
    assert only.metadata["request_id"] == "a"


async def test_an_unstorable_command_fails_alone(counting: CountingStore) -> None:
    appender = CoalescingAppender(counting)
    outcomes = await asyncio.gather(
        appender.append(deposit("account-C0", 0, "r0")),
        appender.append(deposit("account-C1", 0, "r1")),
        appender.append(deposit("account-C2", 0, "r2", amount="\u0000")),  # no NUL in jsonb
        appender.append(deposit("account-C3", 0, "r3")),
        return_exceptions=True,
    )
    assert isinstance(outcomes[2], InvalidAppend)
    assert [isinstance(o, AppendResult) for o in outcomes] == [True, True, False, True]
    assert await counting.stream_version("account-C2") == 0


async def test_a_caller_that_gives_up_does_not_stop_the_others(counting: CountingStore) -> None:
    appender = CoalescingAppender(counting)
    first = asyncio.create_task(appender.append(deposit("account-C0", 0, "r0")))
    await asyncio.sleep(0)  # its statement is on its way
    waiting = [
        asyncio.create_task(appender.append(deposit(f"account-C{n}", 0, f"r{n}")))
        for n in range(1, 4)
    ]
    await asyncio.sleep(0)
    waiting[0].cancel()  # its deadline passed while it waited for the next statement
    await first
    done = await asyncio.gather(*waiting[1:])
    assert [r.version for r in done] == [1, 1]
    with pytest.raises(asyncio.CancelledError):
        await waiting[0]
    # Its command went with the others all the same: the outcome is in the store and a
    # retry with the same request id is answered from the log.
    assert await counting.stream_version("account-C1") == 1
    retried = await appender.append(deposit("account-C1", 0, "r1"))
    assert retried.replayed
