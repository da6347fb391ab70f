"""The collateral service through a real gRPC server on loopback and a real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from harbour.accounts.projections import Balances
from harbour.api.v1 import accounts_pb2, accounts_pb2_grpc, collateral_pb2_grpc
from harbour.api.v1 import collateral_pb2 as pb
from harbour.api.v1.common_pb2 import Amount, Price
from harbour.collateral.projections import Prices
from harbour.eventstore.database import Database
from harbour.eventstore.notify import FeedNotifier
from harbour.eventstore.store import EventStore
from harbour.runtime.server import Runtime, start_server
from harbour.runtime.settings import Settings
from tests.e2e.callers import (
    ALICE,
    BOB,
    FEED,
    OPERATOR,
    PLATFORM,
    RISK,
    ManualClock,
    at,
    event_count,
    rid,
)
from tests.e2e.followers import caught_up
from tests.e2e.test_audit_service import details


@dataclass
class Stack:
    collateral: collateral_pb2_grpc.CollateralServiceStub
    accounts: accounts_pb2_grpc.AccountsServiceStub
    store: EventStore
    clock: ManualClock

    async def event_count(self) -> int:
        return await event_count(self.store)


@pytest.fixture
def clock() -> Iterator[ManualClock]:
    yield ManualClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
async def stack(settings: Settings, database: Database, clock: ManualClock) -> AsyncIterator[Stack]:
    store = EventStore(database, clock=clock, notifier=FeedNotifier(database))
    runtime = Runtime(settings, database, store, clock)
    servers = [
        await start_server(s, runtime, port=0, host="127.0.0.1") for s in ("collateral", "accounts")
    ]
    channels = [grpc.aio.insecure_channel(f"127.0.0.1:{s.port}") for s in servers]
    yield Stack(
        collateral_pb2_grpc.CollateralServiceStub(channels[0]),
        accounts_pb2_grpc.AccountsServiceStub(channels[1]),
        store,
        clock,
    )
    for channel in channels:
        await channel.close()
    for server in servers:
        await server.stop(0)


def observation(
    asset: str, value: str, observed: datetime, *, quote: str = "HKD", request_id: str = ""
) -> pb.RecordPriceRequest:
    return pb.RecordPriceRequest(
        request_id=request_id or rid(),
        price=Price(base_asset=asset, quote_asset=quote, value=value),
        observed_at=at(observed),
        source="vendor-a",
    )


async def record(
    stack: Stack, asset: str, value: str, observed: datetime
) -> pb.RecordPriceResponse:
    response: pb.RecordPriceResponse = await stack.collateral.RecordPrice(
        observation(asset, value, observed), metadata=FEED
    )
    return response


# ------------------------------------------------------------------------------ prices


async def test_prices_are_recorded_rejected_with_a_reason_and_read_back(stack: Stack) -> None:
    now = stack.clock.now
    first = await record(stack, "BTC", "650000.00", now - timedelta(seconds=10))
    assert first.accepted and first.result.stream_id == "price-BTC"
    late = await record(stack, "BTC", "651000.00", now - timedelta(seconds=20))
    assert not late.accepted and late.rejection_reason == "out_of_order"
    jump = await record(stack, "BTC", "6500000.00", now - timedelta(seconds=5))
    assert not jump.accepted and jump.rejection_reason == "jump_beyond_band"
    await record(stack, "BTC", "655000.00", now - timedelta(seconds=2))

    await caught_up(stack.store, [Prices()], clock=stack.clock)
    latest = await stack.collateral.GetPrice(pb.GetPriceRequest(asset="BTC"), metadata=RISK)
    assert latest.price.value == "655000.00" and not latest.stale
    earlier = await stack.collateral.GetPrice(
        pb.GetPriceRequest(asset="BTC", at=at(now - timedelta(seconds=3))), metadata=RISK
    )
    assert earlier.price.value == "650000.00"

    stack.clock.advance(timedelta(seconds=200))
    stale = await stack.collateral.GetPrice(pb.GetPriceRequest(asset="BTC"), metadata=RISK)
    assert stale.stale  # 202 s old against the default 120 s


async def test_a_price_feed_streams_many_observations(stack: Stack) -> None:
    now = stack.clock.now

    async def feed() -> AsyncIterator[pb.StreamPricesRequest]:
        for seconds, value in ((30, "20000.00"), (20, "20100.00"), (25, "20050.00"), (10, "1.00")):
            yield pb.StreamPricesRequest(
                observation=observation("ETH", value, now - timedelta(seconds=seconds))
            )

    summary = await stack.collateral.StreamPrices(feed(), metadata=FEED)
    assert (summary.accepted, summary.rejected) == (2, 2)
    assert [r.reason for r in summary.rejections] == ["out_of_order", "jump_beyond_band"]


async def test_a_repeated_observation_is_recorded_once(stack: Stack) -> None:
    request = observation("BTC", "650000.00", stack.clock.now, request_id="tick-1")
    first = await stack.collateral.RecordPrice(request, metadata=FEED)
    again = await stack.collateral.RecordPrice(request, metadata=FEED)
    assert again.result.replayed and not first.result.replayed
    assert again.accepted == first.accepted and again.result.position == first.result.position


BAD_PRICES = [
    (observation("BTC", "-1", datetime.now(UTC)), "price.value"),
    (observation("BTC", "0", datetime.now(UTC)), "price.value"),
    (observation("BTC", "1e5", datetime.now(UTC)), "price.value"),
    (observation("BTC", "12,5", datetime.now(UTC)), "price.value"),
    (observation("DOGE", "1", datetime.now(UTC)), "price.base_asset"),
    (observation("BTC", "1", datetime.now(UTC), quote="USD"), "price.quote_asset"),
    (observation("BTC", "1", datetime.now(UTC) + timedelta(hours=1)), "observed_at"),
    (
        pb.RecordPriceRequest(
            request_id="x", price=Price(base_asset="BTC", quote_asset="HKD", value="1")
        ),
        "observed_at",
    ),
    (observation("BTC", "1", datetime.now(UTC), request_id="\n"), "request_id"),
]


@pytest.mark.parametrize(("request_", "field"), BAD_PRICES)
async def test_bad_prices_are_invalid_and_append_nothing(
    stack: Stack, request_: pb.RecordPriceRequest, field: str
) -> None:
    before = await stack.event_count()
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stack.collateral.RecordPrice(request_, metadata=FEED)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in details(raised.value)[1]
    assert await stack.event_count() == before


async def test_only_a_price_feed_may_record_prices(stack: Stack) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stack.collateral.RecordPrice(observation("BTC", "1", stack.clock.now), metadata=RISK)
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED


# ------------------------------------------------------------------------------ policy


def change(proposal_id: str, effective: datetime, **values: str) -> pb.ProposePolicyChangeRequest:
    return pb.ProposePolicyChangeRequest(
        request_id=rid(),
        proposal_id=proposal_id,
        parameters=[pb.PolicyParameter(name=k, value=v) for k, v in values.items()],
        effective_from=at(effective),
    )


async def test_maker_checker_and_effective_dating(stack: Stack) -> None:
    effective = stack.clock.now + timedelta(hours=1)
    proposed = await stack.collateral.ProposePolicyChange(
        change("P-1", effective, **{"haircut.BTC": "0.70"}), metadata=ALICE
    )
    assert proposed.base_version == 1
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stack.collateral.ApprovePolicyChange(
            pb.ApprovePolicyChangeRequest(request_id=rid(), proposal_id="P-1"), metadata=ALICE
        )
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert details(raised.value)[0] == "same_maker_and_checker"

    approved = await stack.collateral.ApprovePolicyChange(
        pb.ApprovePolicyChangeRequest(request_id=rid(), proposal_id="P-1"), metadata=BOB
    )
    assert approved.policy_version == 2
    now = await stack.collateral.GetPolicy(pb.GetPolicyRequest(), metadata=RISK)
    assert now.policy.version == 1  # not yet in force
    then = await stack.collateral.GetPolicy(pb.GetPolicyRequest(at=at(effective)), metadata=RISK)
    assert then.policy.version == 2
    assert (then.policy.proposed_by, then.policy.approved_by) == ("alice", "bob")
    assert {p.name: p.value for p in then.policy.parameters}["haircut.BTC"] == "0.70"
    listed = await stack.collateral.ListPolicyVersions(
        pb.ListPolicyVersionsRequest(), metadata=RISK
    )
    assert [v.version for v in listed.versions] == [1, 2]
    assert [(p.proposal_id, p.state) for p in listed.proposals] == [("P-1", "approved")]


@pytest.mark.parametrize(
    ("values", "field", "reason"),
    [
        ({"haircut.BTC": "1.5"}, "parameters[0].value", "malformed_decimal"),
        ({"haircut.BTC": "0.50"}, "parameters[0].value", "haircut_below_floor"),
        ({"haircut.DOGE": "0.50"}, "parameters[0].name", "unknown_asset"),
        ({"haircut.ETH": "abc"}, "parameters[0].value", "malformed_decimal"),
        ({"leverage": "10"}, "parameters[0].name", "unknown_policy_parameter"),
    ],
)
async def test_bad_policy_changes_are_invalid_and_append_nothing(
    stack: Stack, values: dict[str, str], field: str, reason: str
) -> None:
    before = await stack.event_count()
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stack.collateral.ProposePolicyChange(
            change("P-bad", stack.clock.now + timedelta(hours=1), **values), metadata=ALICE
        )
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert details(raised.value) == (reason, [field])
    assert await stack.event_count() == before


# ------------------------------------------------------------------------------ valuation


async def onboard_with_collateral(stack: Stack, client: str) -> None:
    await stack.accounts.OnboardClient(
        accounts_pb2.OnboardClientRequest(
            request_id=rid(),
            client_id=client,
            securities_margin_account_id="SMA-1",
            credit_grade="A",
            credit_limit=Amount(asset="HKD", value="1000000.00"),
            margin_agreement_version="MA-2026",
            risk_disclosure_version="VARD-1",
        ),
        metadata=OPERATOR,
    )
    await stack.accounts.DepositCash(
        accounts_pb2.DepositCashRequest(
            request_id=rid(),
            client_id=client,
            amount=Amount(asset="HKD", value="100000.00"),
            reference="bank",
        ),
        metadata=PLATFORM,
    )
    for code, quantity in (("BTC", "1"), ("0700.HK", "1000")):
        await stack.accounts.DepositCollateral(
            accounts_pb2.DepositCollateralRequest(
                request_id=rid(),
                client_id=client,
                quantity=Amount(asset=code, value=quantity),
                reference="custody",
            ),
            metadata=PLATFORM,
        )


async def test_valuation_before_and_after_a_policy_takes_effect(stack: Stack) -> None:
    await onboard_with_collateral(stack, "C1")
    await record(stack, "BTC", "500000.00", stack.clock.now)
    await record(stack, "0700.HK", "400.00", stack.clock.now)
    effective = stack.clock.now + timedelta(hours=1)
    await stack.collateral.ProposePolicyChange(
        change("P-0700", effective, **{"haircut.0700.HK": "0.30"}), metadata=ALICE
    )
    await stack.collateral.ApprovePolicyChange(
        pb.ApprovePolicyChangeRequest(request_id=rid(), proposal_id="P-0700"), metadata=BOB
    )

    before = (
        await stack.collateral.ValueAccount(pb.ValueAccountRequest(client_id="C1"), metadata=RISK)
    ).valuation
    # 0700.HK not yet eligible: non-VA CV = cash 100,000; BTC 500,000 x 0.4 = 200,000 capped
    # at 100,000 x 0.5/0.5 = 100,000 -> CV 200,000.
    assert before.policy_version == 1
    assert before.market_value.value == "1000000.00"
    assert before.virtual_marginable_value.value == "200000.00"
    assert before.virtual_cap_effect.value == "100000.00"
    assert before.marginable_value.value == "200000.00"
    assert before.debt.value == "0.00" and before.implied_state == pb.IMPLIED_STATE_HEALTHY

    stack.clock.advance(timedelta(hours=1))
    await record(stack, "BTC", "500000.00", stack.clock.now)  # keep prices fresh
    await record(stack, "0700.HK", "400.00", stack.clock.now)
    after = (
        await stack.collateral.ValueAccount(pb.ValueAccountRequest(client_id="C1"), metadata=RISK)
    ).valuation
    # Now 0700.HK counts 400,000 x 0.7 = 280,000: non-VA 380,000, the cap no longer binds.
    assert after.policy_version == 2
    assert after.other_marginable_value.value == "380000.00"
    assert after.virtual_cap_effect.value == "0.00"
    assert after.marginable_value.value == "580000.00"
    assert {p.price.base_asset for p in after.prices} == {"BTC", "0700.HK"}


async def test_valuing_many_accounts_streams_them_back(stack: Stack) -> None:
    for client in ("C1", "C2", "C3"):
        await onboard_with_collateral(stack, client)
    await record(stack, "BTC", "500000.00", stack.clock.now)
    await caught_up(stack.store, [Balances()], clock=stack.clock)
    chunks = [
        c async for c in stack.collateral.ValueAccounts(pb.ValueAccountsRequest(), metadata=RISK)
    ]
    valuations = [v for c in chunks for v in c.valuations]
    assert [v.client_id for v in valuations] == ["C1", "C2", "C3"]
    assert all(v.unpriced_assets == ["0700.HK"] for v in valuations)
    assert chunks[0].position > 0
    one = await stack.collateral.ValueAccount(pb.ValueAccountRequest(client_id="C2"), metadata=RISK)
    assert valuations[1].marginable_value == one.valuation.marginable_value


async def test_valuing_an_unknown_account_is_not_found(stack: Stack) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stack.collateral.ValueAccount(pb.ValueAccountRequest(client_id="NOPE"), metadata=RISK)
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
