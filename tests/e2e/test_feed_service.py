"""FeedService over a real server on loopback and a real PostgreSQL: filters by client, stream
kind and event type; exact resumption from a position; typed payloads with exact money; the
scope of each role; a reader that stops reading is cut with its resume point."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from harbour.api.v1 import events_pb2, feed_pb2, feed_pb2_grpc
from harbour.eventstore.model import NewEvent
from harbour.eventstore.notify import FeedNotifier
from harbour.eventstore.store import EventStore
from harbour.feed.service import RESUME_TRAILER
from harbour.ledger import events as ev
from harbour.ledger.money import Money
from harbour.ledger.postings import transfer
from harbour.runtime.database import open_database
from harbour.runtime.server import RunningServer, Runtime, start_server, system_clock
from harbour.runtime.settings import Settings
from tests.conftest import drop_database, new_database

AT = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)
BTC_PRICE = Decimal("523456.78901234")
RISK = "desk:risk"
Request = feed_pb2.FeedServiceSubscribeRequest


def new(event: ev.Event) -> NewEvent:
    event_type, schema_version, data = ev.encode(event)
    return NewEvent(event_type, data, schema_version)


def basis() -> ev.DecisionBasis:
    price = ev.PricePoint("BTC", "HKD", BTC_PRICE, AT, "vendor-a")
    return ev.DecisionBasis(policy_version=1, prices=(price,), decided_at=AT)


def figures() -> ev.RiskFigures:
    hkd = Money.of("HKD", "0.00")
    return ev.RiskFigures(hkd, hkd, Money.of("HKD", "100.01"), None)


# The book, in the order it is appended: (stream, events).
BOOK: list[tuple[str, list[ev.Event]]] = [
    (
        "account-C1",
        [
            ev.ClientOnboarded("C1", None),
            ev.CashDeposited(
                "C1",
                Money.of("HKD", "1234.56"),
                "bank-1",
                transfer("HKD", 123456, source="external:bank", destination="client:C1:cash"),
            ),
        ],
    ),
    ("account-C2", [ev.ClientOnboarded("C2", "G1")]),
    ("price-BTC", [ev.PriceObserved("BTC", "HKD", BTC_PRICE, AT, "vendor-a")]),
    (
        "account-C1",
        [
            ev.CollateralDeposited(
                "C1",
                Money.of("BTC", "0.12345678"),
                "chain-1",
                transfer(
                    "BTC", 12345678, source="external:wallet", destination="client:C1:custody"
                ),
            )
        ],
    ),
    ("policy-collateral", [ev.PolicyChangeRejected("P1", "checker", "too lax")]),
    (
        "account-C2",
        [
            ev.CashDeposited(
                "C2",
                Money.of("HKD", "10.00"),
                "bank-2",
                transfer("HKD", 1000, source="external:bank", destination="client:C2:cash"),
            ),
        ],
    ),
    (
        "account-C1",
        [
            ev.LoanAdvanced(
                "C1",
                Money.of("HKD", "100.01"),
                figures(),
                basis(),
                transfer("HKD", 10001, source="client:C1:loan", destination="client:C1:cash"),
            )
        ],
    ),
]


async def seed(
    store: EventStore, book: Sequence[tuple[str, list[ev.Event]]] = BOOK, label: str = "seed"
) -> None:
    for n, (stream, events) in enumerate(book):
        await store.append(
            stream,
            [new(e) for e in events],
            expected_version=await store.stream_version(stream),
            request_id=f"{label}-{n}",
            metadata={"correlation_id": f"corr-{n}", "actor": "seeder", "service": "tests"},
        )


async def serve(runtime: Runtime, **settings: Any) -> RunningServer:
    limited = replace(runtime, settings=replace(runtime.settings, **settings), streams=None)
    return await start_server("feed", limited, port=0, host="127.0.0.1")


@pytest.fixture(scope="module")
async def book(pg_server: str, template_url: str) -> AsyncIterator[Runtime]:
    """One seeded ledger for the module's readers (a test that appends adds its own clients)."""
    url = new_database(pg_server)
    database = await open_database(url, pool_size=10)
    settings = replace(Settings.from_env({"HARBOUR_DEV_MODE": "1"}), database_url=url)
    store = EventStore(database, clock=system_clock, notifier=FeedNotifier(database))
    await seed(store)
    yield Runtime(settings, database, store, system_clock)
    await database.close()
    drop_database(pg_server, url)


@pytest.fixture(scope="module")
async def feed(book: Runtime) -> AsyncIterator[feed_pb2_grpc.FeedServiceStub]:
    running = await serve(book)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        yield feed_pb2_grpc.FeedServiceStub(channel)
    await running.stop(0)


async def subscribe(
    feed: feed_pb2_grpc.FeedServiceStub, who: str = RISK, **fields: Any
) -> tuple[list[events_pb2.FeedEvent], int]:
    """Every event of one call (ended by max_events or idle), and its resume trailer."""
    fields.setdefault("idle_seconds", 1)
    call = feed.Subscribe(Request(**fields), metadata=(("x-harbour-principal", who),))
    received = [message async for message in call]
    trailer = dict(await call.trailing_metadata())  # type: ignore[arg-type]
    return received, int(trailer[RESUME_TRAILER])


async def refusal(feed: feed_pb2_grpc.FeedServiceStub, who: str, **fields: Any) -> Any:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await subscribe(feed, who, **fields)
    return refused.value


def reason(error: grpc.aio.AioRpcError) -> str:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None, error
    info = error_details_pb2.ErrorInfo()
    assert any(detail.Unpack(info) for detail in status.details)
    return str(info.reason)


def streams(events: Sequence[events_pb2.FeedEvent]) -> list[str]:
    return [e.stream_id for e in events]


# ----------------------------------------------------------------------------- filters


async def test_filters_by_client_stream_kind_and_event_type(
    feed: feed_pb2_grpc.FeedServiceStub, book: Runtime
) -> None:
    head = await book.store.head_position()
    (c1, c1_end), (prices, _), (deposits, _), (both, _) = await asyncio.gather(
        subscribe(feed, client_ids=["C1"]),
        subscribe(feed, stream_kinds=[feed_pb2.STREAM_KIND_PRICE]),
        subscribe(feed, event_types=["CashDeposited"]),
        subscribe(feed, client_ids=["C2"], event_types=["CashDeposited", "ClientOnboarded"]),
    )
    assert streams(c1) == ["account-C1"] * 4
    assert [e.event_type for e in c1] == [
        "ClientOnboarded",
        "CashDeposited",
        "CollateralDeposited",
        "LoanAdvanced",
    ]
    assert [e.version for e in c1] == [1, 2, 3, 4]
    assert c1_end == head  # read up to the head, past what the filter skipped
    assert streams(prices) == ["price-BTC"]
    assert [(e.stream_id, e.event_type) for e in deposits] == [
        ("account-C1", "CashDeposited"),
        ("account-C2", "CashDeposited"),
    ]
    assert [e.event_type for e in both] == ["ClientOnboarded", "CashDeposited"]

    everything, _ = await subscribe(feed)
    assert [e.position for e in everything] == list(range(1, head + 1))

    # A malformed filter is refused, naming the field.
    bad = await refusal(feed, RISK, event_types=["CashDeposited", "Nope"])
    assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT and "event_types[1]" in bad.details()
    bad = await refusal(feed, RISK, client_ids=["C1"], stream_kinds=[feed_pb2.STREAM_KIND_PRICE])
    assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT


# ----------------------------------------------------------------------------- resuming


async def test_resuming_after_a_position_returns_exactly_the_next_events(
    feed: feed_pb2_grpc.FeedServiceStub, book: Runtime
) -> None:
    page = await book.store.read_feed(limit=100)
    order = [e.position for e in page.events]
    first, end = await subscribe(feed, max_events=3)
    assert [e.position for e in first] == order[:3]
    assert end == first[-1].position  # ended by max_events: resume after the last one sent
    nxt, _ = await subscribe(feed, after_position=first[-1].position, max_events=2)
    assert [e.position for e in nxt] == order[3:5]
    assert first[-1].checkpoint.position == first[-1].position

    # A narrow subscription resumes after its trailer (past every event it skipped), and
    # sees only what comes next. (New clients: the other tests read this book too.)
    nothing, trailer = await subscribe(feed, client_ids=["C4"])
    assert (nothing, trailer) == ([], order[-1])
    later = asyncio.ensure_future(subscribe(feed, client_ids=["C4"], after_position=trailer))
    await asyncio.sleep(0.2)
    await seed(
        book.store,
        [
            ("account-C3", [ev.ClientOnboarded("C3", None)]),
            ("account-C4", [ev.ClientOnboarded("C4", None)]),
        ],
        label="later",
    )
    resumed, _ = await asyncio.wait_for(later, timeout=10)
    assert [(e.stream_id, e.event_type, e.version) for e in resumed] == [
        ("account-C4", "ClientOnboarded", 1)
    ]

    for position in (-1, 10_000):
        bad = await refusal(feed, RISK, after_position=position)
        assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "after_position" in bad.details()


# ----------------------------------------------------------------------------- payloads


async def test_payloads_are_typed_with_exact_money_and_the_envelope(
    feed: feed_pb2_grpc.FeedServiceStub, book: Runtime
) -> None:
    events, _ = await subscribe(feed, max_events=100)
    by_type = {e.event_type: e for e in reversed(events)}  # the first of each type

    deposit = by_type["CashDeposited"]
    assert deposit.WhichOneof("payload") == "cash_deposited"
    cash = deposit.cash_deposited
    assert isinstance(cash, events_pb2.CashDepositedEvent)
    assert (cash.client_id, cash.amount.asset, cash.amount.value) == ("C1", "HKD", "1234.56")
    assert [(p.ledger_account, p.amount.value) for p in cash.journal.postings] == [
        ("client:C1:cash", "1234.56"),
        ("external:bank", "-1234.56"),
    ]
    assert (deposit.request_id, deposit.correlation_id, deposit.actor) == (
        "seed-0",
        "corr-0",
        "seeder",
    )
    stored = (await book.store.read_stream("account-C1"))[1]
    assert deposit.recorded_at.ToDatetime(tzinfo=UTC) == stored.recorded_at
    assert (deposit.position, deposit.version, deposit.schema_version) == (stored.position, 2, 1)
    assert deposit.checkpoint.txid == str(stored.txid)

    btc = by_type["CollateralDeposited"].collateral_deposited.quantity
    assert (btc.asset, btc.value) == ("BTC", "0.12345678")
    assert by_type["PriceObserved"].price_observed.price == "523456.78901234"
    loan = by_type["LoanAdvanced"].loan_advanced
    assert loan.amount.value == "100.01"
    assert loan.risk_after.utilisation == ""  # unbounded
    assert loan.basis.prices[0].price == "523456.78901234"
    assert loan.basis.decided_at.ToDatetime(tzinfo=UTC) == AT
    onboarded = by_type["ClientOnboarded"]
    assert onboarded.client_onboarded.related_group_id == ""  # None on the wire
    rejected = by_type["PolicyChangeRejected"].policy_change_rejected
    assert (rejected.proposal_id, rejected.reason) == ("P1", "too lax")


# ----------------------------------------------------------------------------- roles


async def test_each_role_sees_only_its_scope(feed: feed_pb2_grpc.FeedServiceStub) -> None:
    refused = await refusal(feed, "platform:trading-platform")
    assert refused.code() == grpc.StatusCode.PERMISSION_DENIED
    assert reason(refused) == "feed_client_ids_required"
    assert "client_ids" in refused.details()

    platform, price_feed = await asyncio.gather(
        subscribe(feed, "platform:trading-platform", client_ids=["C2"]),
        subscribe(feed, "vendor:price-feed"),
    )
    assert set(streams(platform[0])) == {"account-C2"} and len(platform[0]) == 2
    assert streams(price_feed[0]) == ["price-BTC"]

    for who, fields in [
        ("platform:trading-platform", {"stream_kinds": [feed_pb2.STREAM_KIND_POLICY]}),
        ("vendor:price-feed", {"client_ids": ["C1"]}),
        ("vendor:price-feed", {"stream_kinds": [feed_pb2.STREAM_KIND_ACCOUNT]}),
        ("admin:policy-admin", {}),
    ]:
        denied = await refusal(feed, who, **fields)
        assert denied.code() == grpc.StatusCode.PERMISSION_DENIED, (who, fields)
        assert denied.details(), (who, fields)
    assert reason(await refusal(feed, "vendor:price-feed", client_ids=["C1"])) == (
        "feed_stream_kind_not_permitted"
    )


# ----------------------------------------------------------------------------- slow readers


async def test_a_reader_that_stops_reading_is_cut_with_its_resume_point(
    runtime: Runtime,
) -> None:
    total, size = 60, 40_000  # ~2.4 MB: far more than the reader's connection takes in
    for start in range(0, total, 20):
        batch = [
            new(
                ev.CashDeposited(
                    "S",
                    Money.of("HKD", f"{n + 1}.00"),
                    "x" * size,
                    transfer(
                        "HKD", (n + 1) * 100, source="external:bank", destination="client:S:cash"
                    ),
                )
            )
            for n in range(start, start + 20)
        ]
        await runtime.store.append("account-S", batch, expected_version=start)
    limited = replace(runtime, settings=replace(runtime.settings, stream_stall_ms=300))
    running = await start_server("feed", limited, port=0, host="127.0.0.1")
    # No window growth on the reader's connection (BDP probing off): it buffers ~64 KB, not
    # megabytes, so a small book backs it up.
    options = [("grpc.http2.bdp_probe", 0), ("grpc.use_local_subchannel_pool", 1)]
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}", options) as channel:
            call = feed_pb2_grpc.FeedServiceStub(channel).Subscribe(
                Request(), metadata=(("x-harbour-principal", "slow:auditor"),)
            )
            received = [(await call.read()).position]  # type: ignore[union-attr]
            for _ in range(100):  # it reads nothing more; the server cuts it
                await asyncio.sleep(0.1)
                if limited.open_streams().total == 0:
                    break
            assert limited.open_streams().total == 0, "the stalled stream still holds its slot"
            with pytest.raises(grpc.aio.AioRpcError) as cut:
                while True:
                    message = await call.read()
                    assert message is not grpc.aio.EOF
                    received.append(message.position)  # type: ignore[union-attr]
    finally:
        await running.stop(0)
    assert received == list(range(1, len(received) + 1))
    assert len(received) < total // 2, len(received)  # it stopped reading the feed for it
    assert cut.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert reason(cut.value) == "slow_consumer"
    status = rpc_status.from_call(cut.value)  # type: ignore[arg-type]
    info = error_details_pb2.ErrorInfo()
    assert status is not None and status.details[0].Unpack(info)
    resume = int(info.metadata["after_position"])
    assert resume in (received[-1], received[-2])

    running = await serve(runtime)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            stub = feed_pb2_grpc.FeedServiceStub(channel)
            after, _ = await subscribe(stub, "x:auditor", after_position=resume, max_events=2)
    finally:
        await running.stop(0)
    assert [e.position for e in after] == [resume + 1, resume + 2]
    assert after[0].cash_deposited.amount.value == f"{resume + 1}.00"
