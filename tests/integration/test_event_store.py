"""The event-store contract of docs/event-store.md, against a real PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from harbour.eventstore.encoding import event_content
from harbour.eventstore.errors import ConcurrencyConflict, InvalidAppend, RequestIdReused
from harbour.eventstore.model import NewEvent, RecordedEvent
from harbour.eventstore.store import EventStore
from harbour.eventstore.upcasting import Upcasters
from harbour.eventstore.verify import ChainVerifier
from harbour.runtime.settings import libpq_url


def deposit(amount: str = "1.00") -> NewEvent:
    return NewEvent("CashDeposited", {"amount": amount, "asset": "HKD"})


async def test_append_assigns_versions_and_positions(store: EventStore) -> None:
    first = await store.append("account-C1", [deposit(), deposit("2.00")], expected_version=0)
    second = await store.append("account-C1", [deposit("3.00")], expected_version=2)
    assert (first.version, second.version) == (2, 3)
    assert first.last_position == first.first_position + 1
    assert second.first_position > first.last_position
    events = await store.read_stream("account-C1")
    assert [(e.version, e.data["amount"]) for e in events] == [
        (1, "1.00"),
        (2, "2.00"),
        (3, "3.00"),
    ]


async def test_expected_version_mismatch_is_a_conflict_and_writes_nothing(
    store: EventStore,
) -> None:
    await store.append("account-C1", [deposit()], expected_version=0)
    with pytest.raises(ConcurrencyConflict) as refused:
        await store.append("account-C1", [deposit(), deposit()], expected_version=0)
    assert refused.value.actual_version == 1
    with pytest.raises(ConcurrencyConflict):
        await store.append("account-C1", [deposit()], expected_version=5)  # no gaps either
    assert await store.stream_version("account-C1") == 1


async def test_sixteen_concurrent_writers_one_winner_per_version(store: EventStore) -> None:
    winners: dict[int, int] = {}

    async def writer(n: int) -> None:
        for _ in range(10):
            while True:
                version = await store.stream_version("account-HOT")
                try:
                    result = await store.append(
                        "account-HOT", [deposit(f"{n}.00")], expected_version=version
                    )
                except ConcurrencyConflict:
                    continue
                assert result.version not in winners, "two winners for one version"
                winners[result.version] = n
                break

    await asyncio.gather(*(writer(n) for n in range(16)))
    events = await store.read_stream("account-HOT")
    assert [e.version for e in events] == list(range(1, 161))  # no gaps, no duplicates
    assert sorted(winners) == list(range(1, 161))
    assert [e.data["amount"] for e in events] == [f"{winners[v]}.00" for v in range(1, 161)]


async def test_idempotent_retry_returns_first_result_and_appends_nothing(store: EventStore) -> None:
    first = await store.append(
        "account-C1", [deposit()], expected_version=0, request_id="req-1", response={"ok": "1"}
    )
    # The retry comes from a client that never saw the answer: same command, stale version.
    again = await store.append(
        "account-C1", [deposit()], expected_version=0, request_id="req-1", response={"ok": "1"}
    )
    assert again.replayed and not first.replayed
    assert (again.version, again.first_position, again.response) == (
        1,
        first.first_position,
        {"ok": "1"},
    )
    assert await store.stream_version("account-C1") == 1
    with pytest.raises(RequestIdReused):
        await store.append("account-C1", [deposit("9.99")], expected_version=1, request_id="req-1")
    assert await store.stream_version("account-C1") == 1


async def test_concurrent_duplicates_of_one_request_apply_once(store: EventStore) -> None:
    results = await asyncio.gather(
        *(
            store.append("account-C2", [deposit()], expected_version=0, request_id="dup")
            for _ in range(8)
        ),
        return_exceptions=True,
    )
    assert all(not isinstance(r, BaseException) for r in results), results
    assert sum(1 for r in results if not r.replayed) == 1  # type: ignore[union-attr]
    assert len({r.first_position for r in results}) == 1  # type: ignore[union-attr]
    assert await store.stream_version("account-C2") == 1


@pytest.mark.parametrize(
    ("stream_id", "expected_version", "events", "field"),
    [
        ("", 0, [deposit()], "stream_id"),
        ("has space", 0, [deposit()], "stream_id"),
        ("x" * 201, 0, [deposit()], "stream_id"),
        ("account-C1", -1, [deposit()], "expected_version"),
        ("account-C1", 0, [], "events"),
        ("account-C1", 0, [NewEvent("not a type", {})], "type"),
        ("account-C1\n", 0, [deposit()], "stream_id"),  # "$" alone would let this through
        ("account-C1", 0, [NewEvent("CashDeposited\n", {})], "type"),
        ("account-C1", 0, [NewEvent("CashDeposited", {"amount": 1.5})], "data.amount"),
        ("account-C1", 0, [NewEvent("CashDeposited", {"at": datetime.now(UTC)})], "data.at"),
        ("account-C1", 0, [NewEvent("CashDeposited", {"note": "nul\x00"})], "data.note"),
        ("account-C1", 0, [NewEvent("CashDeposited", {"big": 2**70})], "data.big"),
        ("account-C1", 0, [NewEvent("CashDeposited", {1: "x"})], "data"),  # type: ignore[dict-item]
        (
            "account-C1",
            0,
            [NewEvent("CashDeposited", {"amount": "1"}, schema_version=0)],
            "schema_version",
        ),
    ],
)
async def test_bad_input_is_a_clear_error_and_writes_nothing(
    store: EventStore, stream_id: str, expected_version: int, events: list[NewEvent], field: str
) -> None:
    with pytest.raises(InvalidAppend) as refused:
        await store.append(stream_id, events, expected_version=expected_version)
    assert refused.value.field == field
    assert await store.head_position() == 0


async def test_bad_request_id_is_refused(store: EventStore) -> None:
    for request_id in ("", " ", "x" * 129, "tab\there"):
        with pytest.raises(InvalidAppend) as refused:
            await store.append("account-C1", [deposit()], expected_version=0, request_id=request_id)
        assert refused.value.field == "request_id"
    assert await store.head_position() == 0


async def test_reads_as_of_version_position_and_instant(database: Any) -> None:
    moments = iter(datetime(2026, 1, day, tzinfo=UTC) for day in range(1, 10))
    store = EventStore(database, clock=lambda: next(moments))
    results = [
        await store.append("account-C1", [deposit(f"{n}.00")], expected_version=n - 1)
        for n in (1, 2, 3)
    ]
    assert len(await store.read_stream("account-C1", up_to_version=2)) == 2
    assert len(await store.read_stream("account-C1", up_to_position=results[0].last_position)) == 1
    as_of = await store.read_stream(
        "account-C1", recorded_until=datetime(2026, 1, 2, 12, tzinfo=UTC)
    )
    assert [e.data["amount"] for e in as_of] == ["1.00", "2.00"]
    assert as_of[1].recorded_at == datetime(2026, 1, 2, tzinfo=UTC)


async def test_upcasters_reshape_old_events_on_read_and_leave_storage_alone(database: Any) -> None:
    def rename_asset(data: dict[str, Any]) -> dict[str, Any]:
        return {"amount": data["amount"], "currency": data["asset"]}

    upcasters = Upcasters()
    upcasters.register("CashDeposited", 1, rename_asset)
    store = EventStore(database, clock=lambda: datetime.now(UTC), upcasters=upcasters)
    await store.append("account-C1", [deposit()], expected_version=0)
    (event,) = await store.read_stream("account-C1")
    assert event.data == {"amount": "1.00", "currency": "HKD"}
    assert event.stored_data == {"amount": "1.00", "asset": "HKD"}
    assert event.schema_version == 1
    verifier = ChainVerifier()
    verifier.check(event)
    assert verifier.intact  # the chain covers the stored bytes, not the upcast view


async def test_snapshots_are_a_cache(store: EventStore) -> None:
    assert await store.load_snapshot("account-C1") is None
    for version in range(5):  # a snapshot is bound to the event it folds to: it must exist
        await store.append("account-C1", [deposit()], expected_version=version)
    await store.save_snapshot("account-C1", 5, {"cash": "10.00"})
    await store.save_snapshot("account-C1", 3, {"cash": "stale"})  # older never replaces newer
    assert await store.load_snapshot("account-C1") == (5, 1, {"cash": "10.00"})
    assert await store.load_snapshot("account-C1", up_to_version=4) is None


async def test_recorded_at_round_trips_to_the_microsecond(database: Any) -> None:
    moment = datetime(2026, 2, 3, 4, 5, 6, 789012, tzinfo=UTC) + timedelta(hours=0)
    store = EventStore(database, clock=lambda: moment)
    await store.append("account-C1", [deposit()], expected_version=0)
    (event,) = await store.read_stream("account-C1")
    assert event.recorded_at == moment
    verifier = ChainVerifier()
    verifier.check(event)
    assert verifier.intact


def owner_connection(url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(libpq_url(url), autocommit=True)


def test_a_recorded_event_built_from_a_row_equals_one_built_normally() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    content = event_content(
        stream_id="account-C1",
        version=2,
        event_type="CashDeposited",
        schema_version=1,
        data_json='{"a":"1"}',
        metadata_json='{"actor":"x"}',
        recorded_at=at,
    )
    row = (7, "account-C1", 2, "CashDeposited", 1, content, at, "99", b"h" * 32)
    fast = RecordedEvent.from_row(row)
    assert fast == RecordedEvent(
        7, "account-C1", 2, "CashDeposited", 1, '{"a":"1"}', '{"actor":"x"}', at, 99, b"h" * 32
    )
    assert fast.data == {"a": "1"} and fast.metadata == {"actor": "x"}
    assert fast.checkpoint.txid == 99 and fast.content == content
    # Bytes that are no event's envelope read as empty data: decoding it fails downstream.
    assert RecordedEvent.from_row((*row[:5], b"\xff[", *row[6:])).data_json == ""
    with pytest.raises(AttributeError):
        fast.position = 8  # type: ignore[misc]


async def test_several_streams_are_read_after_their_own_versions_in_one_call(
    store: EventStore,
) -> None:
    await store.append("price-BTC", [deposit("1.00"), deposit("2.00")], expected_version=0)
    await store.append("price-ETH", [deposit("3.00")], expected_version=0)
    found = await store.read_streams({"price-BTC": 1, "price-ETH": 0, "price-USD": 0})
    assert {s: [e.data["amount"] for e in events] for s, events in found.items()} == {
        "price-BTC": ["2.00"],
        "price-ETH": ["3.00"],
        "price-USD": [],
    }
    with pytest.raises(InvalidAppend):
        await store.read_streams({"": 0})
