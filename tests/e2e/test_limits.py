"""Limits that hold all the time, over gRPC: accounts, collateral and lending servers on
loopback (the lending server runs the limit monitor), one real PostgreSQL, a manual clock."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

import grpc
import pytest
import sqlalchemy as sa

from harbour.api.v1 import accounts_pb2, collateral_pb2, lending_pb2
from harbour.api.v1.common_pb2 import Amount
from harbour.application.decoding import domain_event
from harbour.application.runner import CommandRunner
from harbour.eventstore.model import RecordedEvent
from harbour.eventstore.projections import ProjectionRunner
from harbour.ledger import events as ev
from harbour.ledger.limits import LIMITS_STREAM
from harbour.lending.limits import LimitMonitor
from harbour.lending.schema import (
    limit_client_flags,
    limit_collateral_held,
    limit_collateral_movements,
    limit_group_members,
)
from harbour.testing.credit import approve_client_facts
from tests.e2e import test_lending_service as lending
from tests.e2e.callers import ALICE, BOB, OPERATOR, PLATFORM, RISK, at, rid
from tests.e2e.followers import SHORT_OF_HEAD_SQL
from tests.e2e.test_audit_service import details
from tests.e2e.test_lending_service import Stack

stack = lending.stack  # accounts, collateral and lending servers sharing a manual clock
LIMIT_EVENTS = (
    "BrokerLimitBreached",
    "BrokerLimitCleared",
    "ConcentrationLimitBreached",
    "ConcentrationLimitCleared",
)


async def limit_events(stack: Stack, stream: str) -> list[ev.Event]:
    recorded = await stack.store.read_stream(stream)
    return [domain_event(r) for r in recorded if r.type in LIMIT_EVENTS]


async def until(stack: Stack, stream: str, count: int) -> list[ev.Event]:
    """The limit events of ``stream`` once there are ``count`` of them (the monitor runs in
    the lending server, on its own time); fails after 10 s."""
    for _ in range(200):
        found = await limit_events(stack, stream)
        if len(found) >= count:
            await asyncio.sleep(0.2)  # and no more come: one event per transition
            return await limit_events(stack, stream)
        await asyncio.sleep(0.05)
    raise AssertionError(f"{stream}: {await limit_events(stack, stream)} after 10 s")


async def propose(stack: Stack, effective: object, **values: str) -> str:
    proposal = rid()
    await stack.collateral.ProposePolicyChange(
        collateral_pb2.ProposePolicyChangeRequest(
            request_id=rid(),
            proposal_id=proposal,
            parameters=[collateral_pb2.PolicyParameter(name=k, value=v) for k, v in values.items()],
            effective_from=at(effective),
        ),
        metadata=ALICE,
    )
    return proposal


async def approve(stack: Stack, proposal: str, metadata: object = BOB) -> None:
    await stack.collateral.ApprovePolicyChange(
        collateral_pb2.ApprovePolicyChangeRequest(request_id=rid(), proposal_id=proposal),
        metadata=metadata,  # type: ignore[arg-type]
    )


async def report(
    stack: Stack, as_of: object = None
) -> dict[tuple[str, str], lending_pb2.LimitStatus]:
    request = lending_pb2.GetLimitReportRequest()
    if as_of is not None:
        request.as_of.CopyFrom(at(as_of))  # type: ignore[arg-type]
    response = await stack.lending.GetLimitReport(request, metadata=RISK)
    return {(line.kind, line.subject): line for line in response.limits}


def shape(event: ev.Event) -> tuple[str, str, str]:
    assert isinstance(
        event,
        ev.BrokerLimitBreached
        | ev.BrokerLimitCleared
        | ev.ConcentrationLimitBreached
        | ev.ConcentrationLimitCleared,
    )
    return type(event).__name__, event.subject, event.cause


async def test_capitalised_interest_breaches_the_single_client_limit_until_repaid(
    stack: Stack,
) -> None:
    # 20% of 2,000,010.00 = 400,002.00: a draw of 400,000 fits, its interest does not.
    await stack.policy(**{"broker.shareholders_funds": "2000010.00"})
    await stack.borrower("C1")
    await stack.draw("C1", "400000.00")
    stack.clock.now += timedelta(days=40)  # past a month end: the interest is capitalised
    through = (stack.clock.now - timedelta(days=1)).date().isoformat()
    await stack.lending.AccrueInterest(
        lending_pb2.AccrueInterestRequest(request_id=rid(), client_id="C1", through=through),
        metadata=OPERATOR,
    )
    [breach] = await until(stack, "account-C1", 1)
    assert shape(breach) == ("ConcentrationLimitBreached", "C1", "capitalisation")
    assert isinstance(breach, ev.ConcentrationLimitBreached)
    assert breach.exposure.minor > breach.limit_amount.minor == 40_000_200
    assert breach.basis is not None and breach.basis.policy_version == 3

    await stack.lending.RepayLoan(
        lending_pb2.RepayLoanRequest(
            request_id=rid(), client_id="C1", amount=lending.hkd("10000.00")
        ),
        metadata=OPERATOR,
    )
    cleared = (await until(stack, "account-C1", 2))[1]
    assert shape(cleared) == ("ConcentrationLimitCleared", "C1", "repayment")
    assert await limit_events(stack, LIMITS_STREAM) == []  # 5 x capital is far away


async def test_a_capital_cut_takes_effect_at_its_instant_and_is_cleared_when_restored(
    stack: Stack,
) -> None:
    await stack.borrower("C1")
    await stack.draw("C1", "400000.00")
    before = stack.clock.now
    effective = before + timedelta(hours=1)
    # 5 x 79,000.00 = 395,000.00 < the 400,000 lent.
    cut = await propose(stack, effective, **{"broker.capital": "79000.00"})
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await approve(stack, cut, ALICE)  # the maker may not check her own proposal
    assert details(refused.value)[0] == "same_maker_and_checker"
    await approve(stack, cut)
    await asyncio.sleep(1.2)  # the monitor goes round: nothing has taken effect yet
    assert await limit_events(stack, LIMITS_STREAM) == []
    assert not (await report(stack))[("total_loans", "broker")].breached

    stack.clock.now = effective + timedelta(seconds=1)  # the monitor wakes for the instant
    # Every limit against capital moves: total loans, and the BTC held (2 x 79,000.00).
    breach, btc = await until(stack, LIMITS_STREAM, 2)
    assert shape(breach) == ("BrokerLimitBreached", "broker", "broker_figures")
    assert isinstance(breach, ev.BrokerLimitBreached)
    assert (breach.measured.minor, breach.limit_amount.minor) == (40_000_000, 39_500_000)
    assert breach.basis.policy_version == 3
    assert shape(btc) == ("BrokerLimitBreached", "BTC", "broker_figures")
    await stack.price("BTC", "500000.00")  # fresh prices: the draw is judged on the limits
    await stack.price("0700.HK", "400.00")
    with pytest.raises(grpc.aio.AioRpcError) as over:  # the new capital refuses a draw
        await stack.draw("C1", "1.00")
    assert details(over.value)[0] == "broker_limit_exceeded"

    # The report as of two instants: the old capital before the cut, the new one after it.
    earlier, now = await report(stack, before), await report(stack)
    assert earlier[("total_loans", "broker")].limit.value == "500000000.00"
    assert not earlier[("total_loans", "broker")].breached
    line = now[("total_loans", "broker")]
    assert (line.measured.value, line.limit.value, line.headroom.value, line.breached) == (
        "400000.00",
        "395000.00",
        "-5000.00",
        True,
    )
    assert now[("single_client", "C1")].measured.value == "400000.00"

    await approve(stack, await propose(stack, stack.clock.now, **{"broker.capital": "1000000.00"}))
    cleared = (await until(stack, LIMITS_STREAM, 4))[2:]
    assert [shape(event) for event in cleared] == [
        ("BrokerLimitCleared", "broker", "broker_figures"),
        ("BrokerLimitCleared", "BTC", "broker_figures"),
    ]


async def test_group_changes_and_price_moves_breach_and_clear_each_limit_once(
    stack: Stack,
) -> None:
    # 20% of 2,500,000.00 = 500,000.00 per client or group.
    await stack.policy(**{"broker.shareholders_funds": "2500000.00"})
    for client in ("C1", "C2"):
        await stack.borrower(client)
        await stack.draw(client, "300000.00")

    async def group(client: str, group_id: str) -> None:
        await stack.accounts.SetRelatedGroup(
            accounts_pb2.SetRelatedGroupRequest(
                request_id=rid(), client_id=client, group_id=group_id
            ),
            metadata=OPERATOR,
        )

    await group("C1", "G1")
    await group("C2", "G1")  # G1 owes 600,000 > 500,000: both members are over
    for client in ("C1", "C2"):
        [breach] = await until(stack, f"account-{client}", 1)
        assert shape(breach) == ("ConcentrationLimitBreached", "G1", "group_change")
    exposure = await stack.lending.GetBrokerExposure(
        lending_pb2.GetBrokerExposureRequest(), metadata=RISK
    )
    assert (exposure.largest_group_id, exposure.largest_group.value) == ("G1", "600000.00")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stack.draw("C1", "1.00")
    assert details(refused.value)[0] == "concentration_limit_exceeded"

    await group("C2", "")  # C2 leaves: G1 and C2 owe 300,000 each
    for client in ("C1", "C2"):
        cleared = (await until(stack, f"account-{client}", 2))[1]
        assert isinstance(cleared, ev.ConcentrationLimitCleared)
        assert cleared.cause == "group_change"
        assert cleared.exposure.minor == 30_000_000

    # Then a price move: BTC limited to 0.01 x capital = 1,000,000.00 and 0700.HK to 0.008 x
    # capital = 800,000.00, both exactly what C1 and C2 hold (1 BTC at 500,000 and 1,000
    # shares at 400 each).
    await stack.policy(
        **{"limit.asset_exposure.BTC": "0.01", "limit.asset_exposure.0700.HK": "0.008"}
    )
    await stack.price("BTC", "510000.00")
    [breach] = await until(stack, LIMITS_STREAM, 1)
    assert shape(breach) == ("BrokerLimitBreached", "BTC", "price")
    assert isinstance(breach, ev.BrokerLimitBreached)
    assert breach.limit == "asset_concentration" and breach.measured.minor == 102_000_000
    assert [p.price for p in breach.basis.prices if p.base_asset == "BTC"] == [510000]

    await stack.price("0700.HK", "401.00")
    second = (await until(stack, LIMITS_STREAM, 2))[1]
    assert shape(second) == ("BrokerLimitBreached", "0700.HK", "price")
    assert isinstance(second, ev.BrokerLimitBreached)
    assert second.limit == "security_concentration"

    await stack.price("BTC", "490000.00")
    third = (await until(stack, LIMITS_STREAM, 3))[2]
    assert shape(third) == ("BrokerLimitCleared", "BTC", "price")
    lines = await report(stack)
    assert lines[("asset_concentration", "BTC")].headroom.value == "20000.00"
    assert lines[("security_concentration", "0700.HK")].breached

    # A monitor restarted from nothing (its read models rebuilt from the whole feed, every
    # page replayed) records nothing twice: not a limit event, not a group move.
    before = await stack.event_count()
    await replay_everything(stack)
    assert await stack.event_count() == before


async def replay_everything(stack: Stack) -> None:
    """A new monitor (as after a restart, with no memory) replays the whole feed from zero
    onto emptied read models, in a transaction rolled back afterwards."""
    monitor = LimitMonitor(CommandRunner(stack.store), clock=stack.clock)
    async with stack.store.engine.connect() as conn:
        for table in (
            limit_collateral_movements,
            limit_collateral_held,
            limit_group_members,
            limit_client_flags,
        ):
            await conn.execute(sa.delete(table))
        events: list[RecordedEvent] = []
        while page := await stack.store.read_all(
            after_position=events[-1].position if events else 0
        ):
            events += page
        for start in range(0, len(events), 7):  # in small pages, as a slow follower would
            await monitor.apply(conn, events[start : start + 7])
        await monitor.on_time()
        await conn.rollback()


async def test_collateral_held_counts_eth_to_its_eighteen_decimals(stack: Stack) -> None:
    # 20 ETH is 2 x 10**19 minor units: more than a BIGINT holds.
    await stack.borrower("C1")
    await stack.accounts.DepositCollateral(
        accounts_pb2.DepositCollateralRequest(
            request_id=rid(),
            client_id="C1",
            quantity=Amount(asset="ETH", value="20"),
            reference="custody",
        ),
        metadata=PLATFORM,
    )
    held = None
    for _ in range(200):
        async with stack.store.engine.connect() as conn:
            held = await conn.scalar(
                sa.select(limit_collateral_held.c.quantity).where(
                    limit_collateral_held.c.asset == "ETH"
                )
            )
        if held is not None:
            break
        await asyncio.sleep(0.05)
    assert held == 20 * 10**18


# ------------------------------------------------------------------- the causes, one by one


@dataclass(frozen=True)
class _Checkpointed:
    """The limit monitor as far as its checkpoint goes (it runs in the lending server)."""

    name: str = "limit_monitor"
    tables: tuple[sa.Table, ...] = ()


async def monitor_round_done(stack: Stack) -> None:
    """The limit monitor has applied every event written so far and ended that round, so
    the next event is measured in a round of its own (a round's flips are put down to what
    that round read: a version that moved a limit's amount wins)."""
    head = await stack.store.head_position()
    runner = ProjectionRunner(stack.store, clock=stack.clock)
    for _ in range(400):
        checkpoint = await runner.checkpoint(_Checkpointed())  # type: ignore[arg-type]
        async with stack.store.engine.connect() as conn:
            short = await conn.scalar(
                SHORT_OF_HEAD_SQL,
                {"head": head, "txid": str(checkpoint.txid), "position": checkpoint.position},
            )
        if not short:
            await asyncio.sleep(0.3)  # its on_time after the catch-up
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the limit monitor did not pass the head in 20 s")


async def test_an_fx_rate_breaches_and_clears_the_total_and_the_clients_limit(
    stack: Stack,
) -> None:
    # 5 x 80,000.00 = 400,000.00 of loans; 20% of 2,000,000.00 = 400,000.00 a client; BTC
    # allowed 10 x capital so that only the loans are watched here.
    await stack.policy(
        **{
            "broker.capital": "80000.00",
            "broker.shareholders_funds": "2000000.00",
            "limit.asset_exposure.BTC": "10",
        }
    )
    await stack.price("USD", "7.80")
    await stack.borrower("C1")
    # A USD limit proposed and approved by a second principal: a facility lends within it.
    usd_limit = Amount(asset="USD", value="100000.00")
    await stack.accounts.ProposeClientFact(
        accounts_pb2.ProposeClientFactRequest(
            request_id=rid(),
            client_id="C1",
            proposal_id="limit-usd",
            credit_limit=accounts_pb2.CreditLimitFact(limit=usd_limit),
        ),
        metadata=OPERATOR,
    )
    await approve_client_facts(stack.accounts, "C1", ["limit-usd"])
    await stack.lending.ApproveFacility(  # nothing owed yet: the loan currency becomes USD
        lending_pb2.ApproveFacilityRequest(
            request_id=rid(),
            client_id="C1",
            facility_id="F-C1-USD",
            credit_limit=usd_limit,
            annual_rate="0.068",
        ),
        metadata=RISK,
    )
    await stack.lending.DrawLoan(
        lending_pb2.DrawLoanRequest(
            request_id=rid(), client_id="C1", amount=Amount(asset="USD", value="50000.00")
        ),
        metadata=PLATFORM,
    )  # USD 50,000.00 at 7.80: HKD 390,000.00, within both
    await monitor_round_done(stack)
    assert await limit_events(stack, LIMITS_STREAM) == []

    await stack.price("USD", "8.10")  # HKD 405,000.00: over both
    [total] = await until(stack, LIMITS_STREAM, 1)
    [client] = await until(stack, "account-C1", 1)
    assert shape(total) == ("BrokerLimitBreached", "broker", "fx")
    assert shape(client) == ("ConcentrationLimitBreached", "C1", "fx")
    assert isinstance(total, ev.BrokerLimitBreached)
    assert isinstance(client, ev.ConcentrationLimitBreached)
    assert total.measured.minor == client.exposure.minor == 40_500_000
    assert [str(p.price) for p in total.basis.prices if p.base_asset == "USD"] == ["8.10"]
    lines = await report(stack)
    assert lines[("total_loans", "broker")].measured.value == "405000.00"
    assert lines[("single_client", "C1")].breached

    await stack.price("USD", "7.90")  # HKD 395,000.00: within both again
    cleared = (await until(stack, LIMITS_STREAM, 2))[1]
    client_cleared = (await until(stack, "account-C1", 2))[1]
    assert shape(cleared) == ("BrokerLimitCleared", "broker", "fx")
    assert shape(client_cleared) == ("ConcentrationLimitCleared", "C1", "fx")
    assert isinstance(cleared, ev.BrokerLimitCleared) and cleared.measured.minor == 39_500_000


async def test_collateral_deposited_and_withdrawn_breaches_and_clears_a_concentration(
    stack: Stack,
) -> None:
    # ETH allowed 0.001 x 100,000,000.00 = 100,000.00 of collateral, at 20,000.00 an ETH.
    await stack.policy(**{"limit.asset_exposure.ETH": "0.001"})
    await stack.price("ETH", "20000.00")
    await stack.borrower("C1")  # owes nothing: its collateral may leave at any time
    await monitor_round_done(stack)
    assert await limit_events(stack, LIMITS_STREAM) == []

    async def move(kind: str, quantity: str) -> None:
        request = dict(
            request_id=rid(),
            client_id="C1",
            quantity=Amount(asset="ETH", value=quantity),
            reference="custody",
        )
        if kind == "in":
            await stack.accounts.DepositCollateral(
                accounts_pb2.DepositCollateralRequest(**request), metadata=PLATFORM
            )
        else:
            await stack.accounts.WithdrawCollateral(
                accounts_pb2.WithdrawCollateralRequest(**request), metadata=PLATFORM
            )

    await move("in", "6")  # 120,000.00 of ETH held
    [breach] = await until(stack, LIMITS_STREAM, 1)
    assert shape(breach) == ("BrokerLimitBreached", "ETH", "collateral")
    assert isinstance(breach, ev.BrokerLimitBreached)
    assert breach.limit == "asset_concentration"
    assert (breach.measured.minor, breach.limit_amount.minor) == (12_000_000, 10_000_000)

    # The manual clock stands still: two rounds at one instant decide on different figures
    # (a round's request id once named only the instant and the policy version, and this
    # clearance replayed the breach's answer and was never recorded).
    await move("out", "2")  # 80,000.00 left
    cleared = (await until(stack, LIMITS_STREAM, 2))[1]
    assert shape(cleared) == ("BrokerLimitCleared", "ETH", "collateral")
    assert isinstance(cleared, ev.BrokerLimitCleared) and cleared.measured.minor == 8_000_000
    assert not (await report(stack))[("asset_concentration", "ETH")].breached


async def test_a_cut_in_shareholders_funds_breaches_a_group_until_restored(
    stack: Stack,
) -> None:
    for client in ("C1", "C2"):
        await stack.borrower(client)
        await stack.accounts.SetRelatedGroup(  # nothing owed yet: nothing to carry over
            accounts_pb2.SetRelatedGroupRequest(request_id=rid(), client_id=client, group_id="G1"),
            metadata=OPERATOR,
        )
        await stack.draw(client, "150000.00")  # G1 owes 300,000.00
    await monitor_round_done(stack)

    # 20% of 1,000,000.00 = 200,000.00 per group, from an instant an hour away.
    effective = stack.clock.now + timedelta(hours=1)
    cut = await propose(stack, effective, **{"broker.shareholders_funds": "1000000.00"})
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await approve(stack, cut, ALICE)  # the maker may not check her own proposal
    assert details(refused.value)[0] == "same_maker_and_checker"
    await approve(stack, cut)
    await monitor_round_done(stack)  # approved, not in force: nothing yet
    assert await limit_events(stack, "account-C1") == []

    stack.clock.now = effective + timedelta(seconds=1)  # the monitor wakes for the instant
    for client in ("C1", "C2"):
        [breach] = await until(stack, f"account-{client}", 1)
        assert shape(breach) == ("ConcentrationLimitBreached", "G1", "broker_figures")
        assert isinstance(breach, ev.ConcentrationLimitBreached)
        assert (breach.exposure.minor, breach.limit_amount.minor) == (30_000_000, 20_000_000)
        assert breach.basis is not None and breach.basis.policy_version == 3
    assert await limit_events(stack, LIMITS_STREAM) == []  # capital did not move
    await stack.price("BTC", "500000.00")  # fresh prices: the draw is judged on the limits
    await stack.price("0700.HK", "400.00")
    with pytest.raises(grpc.aio.AioRpcError) as over:
        await stack.draw("C2", "1.00")
    assert details(over.value)[0] == "concentration_limit_exceeded"

    await approve(
        stack, await propose(stack, stack.clock.now, **{"broker.shareholders_funds": "2000000.00"})
    )  # 400,000.00 a group
    for client in ("C1", "C2"):
        cleared = (await until(stack, f"account-{client}", 2))[1]
        assert shape(cleared) == ("ConcentrationLimitCleared", "G1", "broker_figures")
