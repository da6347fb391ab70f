"""A process never races itself on a stream: commands of one runner on the same stream queue
behind each other (harbour.application.stream_locks) and each decides on the state the one
before left, so none loses its append on ``expected_version``. And the table of locks holds
only what is held or waited for."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from prometheus_client import REGISTRY

from harbour.application.runner import CommandRunner
from harbour.application.stream_locks import StreamLocks
from harbour.application.streams import StreamKind
from harbour.eventstore.database import Database
from harbour.eventstore.store import EventStore
from harbour.ledger import events as ev
from harbour.ledger.money import Money
from tests.conftest import utc_clock

COUNTED: StreamKind[int] = StreamKind(lambda _: 0, lambda n, _: n + 1)


def conflicts() -> int:
    return int(
        REGISTRY.get_sample_value("harbour_command_retries_total", {"reason": "version_conflict"})
        or 0
    )


class AppendCountingStore(EventStore):
    """The real store, counting the statements that append (won or lost)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.appends = 0

    async def append_together(self, writes: Any, **kwargs: Any) -> Any:
        self.appends += 1
        return await super().append_together(writes, **kwargs)

    async def append_batch(self, commands: Any) -> Any:
        self.appends += 1
        return await super().append_batch(commands)


async def test_commands_of_one_process_on_one_stream_append_once_each(
    database: Database,
) -> None:
    store = AppendCountingStore(database, clock=utc_clock)
    runner = CommandRunner(store)
    seen: Counter[int] = Counter()  # the state each decision saw

    async def note(n: int) -> None:
        def decide(state: int) -> list[ev.Event]:
            seen[state] += 1
            return [ev.BrokerExposureChanged("C1", "C1", Money.of("HKD", "1.00"), "advance", "r")]

        await runner.run(
            COUNTED, "account-A", decide, request_id=f"n-{n}", request={"n": n}, metadata={}
        )

    before = conflicts()
    await asyncio.gather(*(note(n) for n in range(8)))

    assert await store.stream_version("account-A") == 8
    # Each decided once, on the state the one before it left: no append lost, none repeated.
    assert seen == Counter(range(8))
    assert conflicts() - before == 0
    assert store.appends == 8


async def test_commands_on_different_streams_do_not_wait_for_each_other() -> None:
    locks = StreamLocks()
    inside = asyncio.Event()
    release = asyncio.Event()

    async def hold(stream: str) -> None:
        async with locks.holding([stream]):
            inside.set()
            await release.wait()

    first = asyncio.create_task(hold("account-A"))
    await inside.wait()
    async with locks.holding(["account-B"]):  # would hang, were it the same lock
        assert len(locks) == 2
    release.set()
    await first
    assert len(locks) == 0  # nothing held or waited for: nothing kept


async def test_a_command_cancelled_while_waiting_leaves_no_lock_behind() -> None:
    locks = StreamLocks()
    async with locks.holding(["account-A"]):
        # It holds B, then waits for A: cancelled there, it gives B back.
        waiting = asyncio.create_task(locks.holding(["account-B", "account-A"]).__aenter__())
        await asyncio.sleep(0.01)
        assert len(locks) == 2
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        async with locks.holding(["account-B"]):  # free again
            pass
    assert len(locks) == 0


async def test_a_stream_named_twice_is_held_once() -> None:
    locks = StreamLocks()
    async with asyncio.timeout(1):  # twice would wait for itself forever
        async with locks.holding(["account-A", "account-A"]):
            assert len(locks) == 1
    assert len(locks) == 0
