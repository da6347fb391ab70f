"""Appending to two streams in one statement: both or neither, chained and idempotent."""

from __future__ import annotations

import asyncio

import pytest

from harbour.eventstore.errors import ConcurrencyConflict, InvalidAppend, RequestIdReused
from harbour.eventstore.model import NewEvent, StreamWrite
from harbour.eventstore.store import EventStore
from harbour.eventstore.verify import verify_store


def event(amount: str) -> NewEvent:
    return NewEvent("LoanAdvanced", {"amount": amount})


def exposure(amount: str) -> NewEvent:
    return NewEvent("BrokerExposureChanged", {"change": amount})


async def test_both_streams_advance_together(store: EventStore) -> None:
    await store.append("broker-exposure", [exposure("5")], expected_version=0)
    result = await store.append_together(
        [
            StreamWrite("account-C1", [event("10"), event("11")], 0),
            StreamWrite("broker-exposure", [exposure("21")], 1),
        ],
        request_id="draw-1",
        response={"ok": True},
    )
    assert (result.stream_id, result.version, result.replayed) == ("account-C1", 2, False)
    account = await store.read_stream("account-C1")
    broker = await store.read_stream("broker-exposure")
    assert [e.version for e in account] == [1, 2] and [e.version for e in broker] == [1, 2]
    positions = [e.position for e in (*account, broker[1])]
    assert (result.first_position, result.last_position) == (min(positions), max(positions))
    assert {e.metadata["request_id"] for e in (*account, broker[1])} == {"draw-1"}
    assert (await verify_store(store)).intact


async def test_a_stale_second_stream_writes_nothing_to_either(store: EventStore) -> None:
    await store.append("broker-exposure", [exposure("5")], expected_version=0)
    with pytest.raises(ConcurrencyConflict) as refused:
        await store.append_together(
            [
                StreamWrite("account-C1", [event("10")], 0),
                StreamWrite("broker-exposure", [exposure("10")], 0),  # it is at 1
            ],
            request_id="draw-2",
        )
    assert refused.value.stream_id == "broker-exposure"
    assert refused.value.actual_version == 1
    assert await store.stream_version("account-C1") == 0
    assert await store.stream_version("broker-exposure") == 1
    assert await store.lookup_command("draw-2") is None


async def test_a_repeat_returns_the_first_result_and_a_different_one_is_refused(
    store: EventStore,
) -> None:
    writes = [
        StreamWrite("account-C1", [event("10")], 0),
        StreamWrite("broker-exposure", [exposure("10")], 0),
    ]
    first = await store.append_together(writes, request_id="draw-3", response={"n": 1})
    again = await store.append_together(writes, request_id="draw-3", response={"n": 1})
    assert again.replayed and again.response == {"n": 1}
    assert (again.version, again.last_position) == (first.version, first.last_position)
    assert await store.stream_version("broker-exposure") == 1
    with pytest.raises(RequestIdReused):
        await store.append_together(
            [
                StreamWrite("account-C1", [event("99")], 1),
                StreamWrite("broker-exposure", [exposure("99")], 1),
            ],
            request_id="draw-3",
        )


async def test_concurrent_writers_across_a_shared_stream_never_lose_an_update(
    store: EventStore,
) -> None:
    """Sixteen clients each draw five times; every draw also moves the shared stream. The
    shared stream ends with exactly one event per draw, in a gap-free chain."""

    async def client(n: int) -> None:
        for _ in range(5):
            while True:
                mine = await store.stream_version(f"account-C{n}")
                shared = await store.stream_version("broker-exposure")
                try:
                    await store.append_together(
                        [
                            StreamWrite(f"account-C{n}", [event("1")], mine),
                            StreamWrite("broker-exposure", [exposure(f"C{n}")], shared),
                        ]
                    )
                    break
                except ConcurrencyConflict:
                    await asyncio.sleep(0)

    await asyncio.gather(*(client(n) for n in range(16)))
    shared = await store.read_stream("broker-exposure")
    assert [e.version for e in shared] == list(range(1, 81))
    for n in range(16):
        assert await store.stream_version(f"account-C{n}") == 5
        assert sum(e.data["change"] == f"C{n}" for e in shared) == 5
    assert (await verify_store(store)).intact


async def test_bad_multi_stream_appends_are_clear_errors(store: EventStore) -> None:
    with pytest.raises(InvalidAppend, match="distinct"):
        await store.append_together(
            [StreamWrite("account-C1", [event("1")], 0), StreamWrite("account-C1", [event("1")], 0)]
        )
    with pytest.raises(InvalidAppend, match="events"):
        await store.append_together(
            [StreamWrite("account-C1", [event("1")], 0), StreamWrite("broker-exposure", [], 0)]
        )
