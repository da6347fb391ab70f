"""The command runner's reads: its cache of states, and many streams read at once."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from harbour.application import runner as runner_module
from harbour.application.outcome import new_event
from harbour.application.runner import CommandRunner
from harbour.application.streams import StreamKind
from harbour.eventstore.model import RecordedEvent
from harbour.eventstore.store import EventStore
from harbour.ledger import events as ev
from harbour.ledger.money import Money

# A stream's state here is just how many events it holds.
COUNTED: StreamKind[int] = StreamKind(lambda _: 0, lambda n, _: n + 1)


def exposure_moved(client: int, n: int) -> ev.BrokerExposureChanged:
    return ev.BrokerExposureChanged(
        str(client), str(client), Money.of("HKD", "1.00"), "advance", f"e{n}"
    )


async def test_load_many_reads_cold_streams_in_chunks_and_caches_them(
    store: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A screen of many accounts: the ones cached are brought up to date, the others read
    # LOAD_CHUNK at a time (two round trips a chunk, not two per stream), then cached.
    for n in range(5):
        for version in range(n + 1):
            await store.append(
                f"account-{n}",
                [new_event(exposure_moved(n, version))],
                expected_version=version,
            )
    runner = CommandRunner(store)
    await runner.load(COUNTED, "account-0")  # one cached already
    monkeypatch.setattr(runner_module, "LOAD_CHUNK", 2)
    reads: list[int] = []
    read_streams = store.read_streams

    async def counted(after: Mapping[str, int]) -> dict[str, list[RecordedEvent]]:
        reads.append(len(after))
        return await read_streams(after)

    monkeypatch.setattr(store, "read_streams", counted)
    wanted = [(COUNTED, f"account-{n}") for n in (4, 0, 3, 1, 2, 9)]
    assert await runner.load_many(wanted) == [5, 1, 4, 2, 3, 0]
    assert reads == [1, 2, 2, 1]  # the one cached, then the five others two at a time
    reads.clear()
    assert await runner.load_many(wanted) == [5, 1, 4, 2, 3, 0]
    assert reads == [6]  # every one cached now: one round trip


async def test_the_state_cache_keeps_the_most_recently_used_streams(
    store: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(3):
        await store.append(f"account-{n}", [new_event(exposure_moved(n, 0))], expected_version=0)
    runner = CommandRunner(store, cached=2)  # HARBOUR_STATE_CACHE
    for n in range(3):
        await runner.load(COUNTED, f"account-{n}")
    reads: list[tuple[str, int]] = []
    read_stream = store.read_stream

    async def counted(stream: str, **options: Any) -> list[RecordedEvent]:
        reads.append((stream, options.get("after_version", 0)))
        return await read_stream(stream, **options)

    monkeypatch.setattr(store, "read_stream", counted)
    for n in (2, 1, 0):
        assert (await runner.load(COUNTED, f"account-{n}")).state == 1
    # The two most recent only read what is newer than their cached version; the first one
    # loaded was evicted and is read from the start.
    assert reads == [("account-2", 1), ("account-1", 1), ("account-0", 0)]
