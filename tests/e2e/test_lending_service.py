"""Margin lending over gRPC: accounts, collateral and lending servers on loopback, one real
PostgreSQL, a manual clock shared by all three."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import grpc
import pytest
import sqlalchemy as sa

from harbour.accounts.projections import TRIAL_BALANCE_SQL, Balances
from harbour.api.v1 import (
    accounts_pb2,
    accounts_pb2_grpc,
    collateral_pb2,
    collateral_pb2_grpc,
    lending_pb2,
    lending_pb2_grpc,
)
from harbour.api.v1.common_pb2 import Amount, Price
from harbour.eventstore.database import Database
from harbour.eventstore.notify import FeedNotifier
from harbour.eventstore.projections import ProjectionRunner
from harbour.eventstore.store import EventStore
from harbour.eventstore.verify import verify_store
from harbour.ledger.limits import LIMITS_STREAM
from harbour.lending.projections import Loans, MarginCalls
from harbour.runtime.metrics import serve_metrics
from harbour.runtime.server import Runtime, start_server
from harbour.runtime.settings import Settings
from harbour.testing.credit import approve_client_facts
from tests.e2e import followers
from tests.e2e.callers import (
    ALICE,
    BOB,
    FEED,
    OPERATOR,
    PLATFORM,
    RISK,
    ManualClock,
    at,
    rid,
)
from tests.e2e.followers import caught_up
from tests.e2e.test_audit_service import details
from tests.e2e.test_observability import Samples, scrape, value

RISK_EVENTS = {
    "EarlyWarningIssued",
    "EarlyWarningCleared",
    "MarginCallIssued",
    "MarginCallMet",
    "AdvancesSuspended",
    "AdvancesResumed",
    "MarginCallExpired",
    "LiquidationStarted",
}


def hkd(value: str) -> Amount:
    return Amount(asset="HKD", value=value)


@dataclass
class Stack:
    accounts: accounts_pb2_grpc.AccountsServiceStub
    collateral: collateral_pb2_grpc.CollateralServiceStub
    lending: lending_pb2_grpc.LendingServiceStub
    store: EventStore
    clock: ManualClock

    async def price(self, code: str, value: str) -> None:
        self.clock.now += timedelta(seconds=1)  # each observation later than the last
        response = await self.collateral.RecordPrice(
            collateral_pb2.RecordPriceRequest(
                request_id=rid(),
                price=Price(base_asset=code, quote_asset="HKD", value=value),
                observed_at=at(self.clock.now),
                source="vendor-a",
            ),
            metadata=FEED,
        )
        assert response.accepted, response.rejection_reason

    async def policy(self, **values: str) -> None:
        proposal = rid()
        await self.collateral.ProposePolicyChange(
            collateral_pb2.ProposePolicyChangeRequest(
                request_id=rid(),
                proposal_id=proposal,
                parameters=[
                    collateral_pb2.PolicyParameter(name=k, value=v) for k, v in values.items()
                ],
                effective_from=at(self.clock.now),
            ),
            metadata=ALICE,
        )
        await self.collateral.ApprovePolicyChange(
            collateral_pb2.ApprovePolicyChangeRequest(request_id=rid(), proposal_id=proposal),
            metadata=BOB,
        )

    async def borrower(
        self, client: str, *, shares: str = "1000", limit: str = "1000000.00"
    ) -> None:
        await self.accounts.OnboardClient(
            accounts_pb2.OnboardClientRequest(
                request_id=rid(),
                client_id=client,
                securities_margin_account_id=f"SMA-{client}",
                credit_grade="A",
                credit_limit=hkd(limit),
                margin_agreement_version="MA-2026",
                risk_disclosure_version="VARD-1",
            ),
            metadata=OPERATOR,
        )
        await approve_client_facts(self.accounts, client)  # a second person approves the credit
        for code, quantity in (("0700.HK", shares), ("BTC", "1")):
            await self.accounts.DepositCollateral(
                accounts_pb2.DepositCollateralRequest(
                    request_id=rid(),
                    client_id=client,
                    quantity=Amount(asset=code, value=quantity),
                    reference="custody",
                ),
                metadata=PLATFORM,
            )
        await self.lending.ApproveFacility(
            lending_pb2.ApproveFacilityRequest(
                request_id=rid(),
                client_id=client,
                facility_id=f"F-{client}",
                credit_limit=hkd(limit),
                annual_rate="0.068",
            ),
            metadata=RISK,
        )

    async def draw(
        self, client: str, value: str, request_id: str = ""
    ) -> lending_pb2.DrawLoanResponse:
        response: lending_pb2.DrawLoanResponse = await self.lending.DrawLoan(
            lending_pb2.DrawLoanRequest(
                request_id=request_id or rid(), client_id=client, amount=hkd(value)
            ),
            metadata=PLATFORM,
        )
        return response

    async def withdraw_cash(self, client: str, value: str) -> None:
        await self.accounts.WithdrawCash(
            accounts_pb2.WithdrawCashRequest(
                request_id=rid(), client_id=client, amount=hkd(value), reference="bank"
            ),
            metadata=PLATFORM,
        )

    async def check(self, client: str) -> list[str]:
        response = await self.lending.CheckRisk(
            lending_pb2.CheckRiskRequest(request_id=rid(), client_id=client), metadata=RISK
        )
        return list(response.events)

    async def loan(self, client: str) -> lending_pb2.Loan:
        response = await self.lending.GetLoan(
            lending_pb2.GetLoanRequest(client_id=client), metadata=RISK
        )
        return response.loan

    async def event_count(self) -> int:
        """Events the commands under test could write: every stream but the limit monitor's,
        which watches in the background and records a breach a policy change sets off (a
        capital of 20,000 puts C1's collateral over its asset limit) whenever it gets there."""
        async with self.store.engine.connect() as conn:
            count = await conn.scalar(
                sa.text("SELECT count(*) FROM events WHERE stream_id <> :limits"),
                {"limits": LIMITS_STREAM},
            )
        return int(count or 0)


@pytest.fixture(scope="module")
def metrics_port() -> Iterator[int]:
    """This process's /metrics (the servers of the stack run in it), scraped over HTTP."""
    serving = serve_metrics(0, "127.0.0.1")
    yield serving.port
    serving.close()


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    """How far a counter (or a histogram's _count or _sum) moved between two scrapes."""
    return value(after, name, **labels) - value(before, name, **labels)


@pytest.fixture
async def stack(settings: Settings, database: Database) -> AsyncIterator[Stack]:
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
    store = EventStore(database, clock=clock, notifier=FeedNotifier(database))
    runtime = Runtime(settings, database, store, clock)
    servers = [
        await start_server(name, runtime, port=0, host="127.0.0.1")
        for name in ("accounts", "collateral", "lending")
    ]
    channels = [grpc.aio.insecure_channel(f"127.0.0.1:{s.port}") for s in servers]
    stack = Stack(
        accounts_pb2_grpc.AccountsServiceStub(channels[0]),
        collateral_pb2_grpc.CollateralServiceStub(channels[1]),
        lending_pb2_grpc.LendingServiceStub(channels[2]),
        store,
        clock,
    )
    # 0700.HK eligible at a 30% haircut; prices for both collateral assets.
    await stack.policy(**{"haircut.0700.HK": "0.30"})
    await stack.price("BTC", "500000.00")
    await stack.price("0700.HK", "400.00")
    yield stack
    for channel in channels:
        await channel.close()
    for server in servers:
        await server.stop(0)


async def test_the_margin_lifecycle_draw_warning_call_cure(stack: Stack, metrics_port: int) -> None:
    before = scrape(metrics_port)
    await stack.borrower("C1")
    # CV: 0700.HK 400,000 x 0.7 = 280,000; BTC 500,000 x 0.4 = 200,000 (cap allows 280,000)
    # -> 480,000. Drawing 400,000 gives U = 0.833334 (rounded up): within 90%.
    drawn = await stack.draw("C1", "400000.00")
    assert drawn.utilisation_after == "0.833334"
    assert drawn.policy_version == 2
    await stack.withdraw_cash("C1", "400000.00")  # the proceeds leave: U stays 0.833334
    assert (await stack.loan("C1")).principal.value == "400000.00"

    # The risk monitor runs in the lending server too and may get there first: whoever does,
    # the account ends in the state its utilisation implies, and the events are in its stream.
    await stack.price("0700.HK", "340.00")  # CV 238,000 + 200,000 = 438,000: U 0.9132 > 90%
    await stack.check("C1")
    assert (await stack.loan("C1")).risk_state == "warning"
    assert await stack.check("C1") == []  # nothing left to change

    await stack.price("0700.HK", "280.00")  # non-VA 196,000; VA capped at 196,000: U 1.0204
    await stack.check("C1")
    loan = await stack.loan("C1")
    assert loan.risk_state == "margin_call" and loan.advances_suspended
    assert loan.margin_call.amount.value == "8000.00"  # D - CV = 400,000 - 392,000

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stack.draw("C1", "1.00")
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION

    await stack.accounts.DepositCash(
        accounts_pb2.DepositCashRequest(
            request_id=rid(), client_id="C1", amount=hkd("50000.00"), reference="bank"
        ),
        metadata=PLATFORM,
    )  # non-VA 246,000, VA 200,000 -> CV 446,000: U 0.8969, healthy again
    await stack.check("C1")
    loan = await stack.loan("C1")
    assert loan.risk_state == "healthy" and not loan.advances_suspended
    history = [e.type for e in await stack.store.read_stream("account-C1")]
    risk_events = [t for t in history if t in RISK_EVENTS]
    assert risk_events == [
        "EarlyWarningIssued",
        "MarginCallIssued",
        "AdvancesSuspended",
        "MarginCallMet",
        "AdvancesResumed",
    ]
    # Counted once each, whoever appended them (the test's CheckRisk or the risk monitor).
    after = scrape(metrics_port)
    assert moved(before, after, "harbour_early_warnings_issued_total") == 1
    assert moved(before, after, "harbour_margin_calls_issued_total") == 1
    for appended in ("LoanAdvanced", "MarginCallIssued", "MarginCallMet"):
        assert moved(before, after, "harbour_events_appended_total", type=appended) == 1

    await caught_up(stack.store, [MarginCalls(), Loans()], clock=stack.clock)
    calls = await stack.lending.ListMarginCalls(lending_pb2.ListMarginCallsRequest(), metadata=RISK)
    assert [(c.client_id, c.state, c.amount.value) for c in calls.calls] == [
        ("C1", "met", "8000.00")
    ]
    listed = await stack.lending.ListLoans(lending_pb2.ListLoansRequest(), metadata=RISK)
    assert [(x.client_id, x.principal.value) for x in listed.loans] == [("C1", "400000.00")]


async def test_the_risk_monitor_reacts_to_a_price_change_by_itself(
    stack: Stack, metrics_port: int
) -> None:
    await stack.borrower("C1")
    await stack.draw("C1", "400000.00")
    await stack.withdraw_cash("C1", "400000.00")
    await caught_up(stack.store, [Balances()], clock=stack.clock)  # who holds what
    await followers.passed(stack.store, "risk_monitor", clock=stack.clock)
    before = scrape(metrics_port)
    await stack.price("0700.HK", "340.00")
    for _ in range(100):
        if (await stack.loan("C1")).risk_state == "warning":
            break
        await asyncio.sleep(0.05)
    assert (await stack.loan("C1")).risk_state == "warning"
    await followers.passed(stack.store, "risk_monitor", clock=stack.clock)
    # One price move screened the book once; the screen found one account to check exactly.
    after = scrape(metrics_port)
    assert moved(before, after, "harbour_risk_ticks_total") == 1
    assert moved(before, after, "harbour_risk_checks_total") == 1
    assert moved(before, after, "harbour_early_warnings_issued_total") == 1


@pytest.mark.parametrize(
    ("setup", "amount", "reason"),
    [
        ("none", "432000.01", "utilisation_too_high"),  # 0.9 x 480,000 = 432,000
        ("limit", "100000.01", "credit_limit_exceeded"),
        ("stale", "1.00", "stale_price"),
        ("broker", "100000.01", "broker_limit_exceeded"),
        ("group", "60000.01", "concentration_limit_exceeded"),
        ("dollars", "1.00", "invalid_argument"),
    ],
)
async def test_a_draw_is_refused_at_each_limit_with_its_reason(
    stack: Stack, setup: str, amount: str, reason: str
) -> None:
    await stack.borrower("C1", limit="100000.00" if setup == "limit" else "1000000.00")
    if setup == "stale":
        stack.clock.now += timedelta(seconds=121)
    if setup == "broker":
        await stack.policy(**{"broker.capital": "20000.00"})  # 5 x 20,000 = 100,000
    if setup == "group":
        await stack.policy(**{"broker.shareholders_funds": "300000.00"})  # 20% = 60,000
    before = await stack.event_count()
    request = lending_pb2.DrawLoanRequest(
        request_id=rid(),
        client_id="C1",
        amount=Amount(asset="USD" if setup == "dollars" else "HKD", value=amount),
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stack.lending.DrawLoan(request, metadata=PLATFORM)
    assert details(refused.value)[0] == reason, refused.value.details()
    assert await stack.event_count() == before


async def test_concurrent_draws_on_one_account_never_exceed_its_limit(stack: Stack) -> None:
    await stack.borrower("C1", limit="100000.00")
    results = await asyncio.gather(
        *(stack.draw("C1", "7000.00") for _ in range(24)), return_exceptions=True
    )
    succeeded = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(succeeded) == 14 and len(refused) == 10  # 14 x 7,000 = 98,000 <= 100,000
    assert {details(r)[0] for r in refused} == {"credit_limit_exceeded"}
    assert (await stack.loan("C1")).principal.value == "98000.00"


async def test_concurrent_draws_across_clients_never_exceed_the_broker_limit(stack: Stack) -> None:
    clients = [f"C{n}" for n in range(8)]
    for client in clients:
        await stack.borrower(client)
    await stack.policy(**{"broker.capital": "100000.00"})  # total loans <= 500,000
    results = await asyncio.gather(
        *(stack.draw(client, "100000.00") for client in clients), return_exceptions=True
    )
    succeeded = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(succeeded) == 5 and len(refused) == 3
    assert {details(r)[0] for r in refused} == {"broker_limit_exceeded"}
    exposure = await stack.lending.GetBrokerExposure(
        lending_pb2.GetBrokerExposureRequest(), metadata=RISK
    )
    assert exposure.total.value == "500000.00" and exposure.total_limit.value == "500000.00"


async def test_a_burst_of_draws_is_group_committed_each_exactly_once(
    stack: Stack, metrics_port: int
) -> None:
    clients = [f"G{n}" for n in range(12)]
    for client in clients:
        await stack.borrower(client, limit="25000.00")
    first_ids = {client: rid() for client in clients}
    before = scrape(metrics_port)

    async def burst(client: str) -> list[object]:
        # Three draws (the third over the limit), a retry of the first with its request id,
        # and a cash deposit that moves the account while its draws queue.
        return await asyncio.gather(
            stack.draw(client, "10000.00", first_ids[client]),
            stack.draw(client, "10000.00"),
            stack.draw(client, "10000.00"),
            stack.draw(client, "10000.00", first_ids[client]),
            stack.accounts.DepositCash(
                accounts_pb2.DepositCashRequest(
                    request_id=rid(), client_id=client, amount=hkd("1.00"), reference="bank"
                ),
                metadata=PLATFORM,
            ),
            return_exceptions=True,
        )

    results = await asyncio.gather(*(burst(client) for client in clients))
    for outcome in results:
        *draws, repeat, deposited = outcome
        refused = [r for r in draws if isinstance(r, grpc.aio.AioRpcError)]
        # Whichever draw came last met the limit; the retry got the first one's answer.
        assert len(refused) == 1 and details(refused[0])[0] == "credit_limit_exceeded"
        original = draws[0]
        if isinstance(original, grpc.aio.AioRpcError):
            assert isinstance(repeat, grpc.aio.AioRpcError)
            assert details(repeat)[0] == "credit_limit_exceeded"
        else:
            assert isinstance(original, lending_pb2.DrawLoanResponse), original
            assert isinstance(repeat, lending_pb2.DrawLoanResponse), repeat
            assert repeat.result.position == original.result.position
            assert repeat.utilisation_after == original.utilisation_after
            assert {original.result.replayed, repeat.result.replayed} == {False, True}
        assert isinstance(deposited, accounts_pb2.DepositCashResponse), deposited
    for client in clients:
        assert (await stack.loan(client)).principal.value == "20000.00"
    exposure = await stack.lending.GetBrokerExposure(
        lending_pb2.GetBrokerExposureRequest(), metadata=RISK
    )
    assert exposure.total.value == "240000.00"
    async with stack.store.engine.connect() as conn:
        advances, batches = (
            await conn.execute(
                sa.text(
                    "SELECT count(*), count(DISTINCT txid) FROM events "
                    "WHERE stream_id = 'broker-exposure' AND type = 'BrokerExposureChanged'"
                )
            )
        ).one()
        logged = (
            await conn.execute(
                sa.text("SELECT count(*) FROM command_log WHERE request_id = ANY(:ids)"),
                {"ids": list(first_ids.values())},
            )
        ).scalar_one()
    # 24 advances (the only exposure changes here), usually several per statement: how many
    # share one depends on timing (how grouping pays is measured in bench/, not asserted).
    assert advances == 24 and batches <= advances
    # The histogram saw each statement of the exposure stream's group commit, and each draw
    # it wrote in one. A batch the database refused (a retry's request id already logged)
    # sends its draws down the one-at-a-time path, which the histogram does not see: each of
    # those is in a transaction of its own (or shares one with other commands' appends), so
    # every exposure transaction is a group statement or holds some of those draws.
    # The store counted each event it appended (a replayed retry: none).
    after = scrape(metrics_port)
    batch = {"stream": "broker-exposure"}
    statements = moved(before, after, "harbour_group_commit_batch_size_count", **batch)
    grouped = moved(before, after, "harbour_group_commit_batch_size_sum", **batch)
    assert 1 <= statements <= grouped <= advances
    assert statements <= batches <= statements + (advances - grouped)
    for appended, count in (("LoanAdvanced", 24), ("BrokerExposureChanged", 24)):
        assert moved(before, after, "harbour_events_appended_total", type=appended) == count
    assert moved(before, after, "harbour_events_appended_total", type="CashDeposited") == 12
    applied_first = sum(not isinstance(outcome[0], grpc.aio.AioRpcError) for outcome in results)
    assert logged == applied_first  # each retried request logged once, or not at all
    assert (await verify_store(stack.store)).intact


async def test_interest_accrues_once_per_day_and_repayment_pays_interest_first(
    stack: Stack,
) -> None:
    await stack.borrower("C1")
    await stack.draw("C1", "100000.00")
    stack.clock.now += timedelta(days=3)
    await stack.price("BTC", "500000.00")
    await stack.price("0700.HK", "400.00")
    through = (stack.clock.now + timedelta(hours=8)).date() - timedelta(days=1)
    await caught_up(stack.store, [Loans()], clock=stack.clock)  # the borrowers
    run = lending_pb2.AccrueInterestRequest(request_id=rid(), through=through.isoformat())
    first = await stack.lending.AccrueInterest(run, metadata=OPERATOR)
    again = await stack.lending.AccrueInterest(
        lending_pb2.AccrueInterestRequest(request_id=rid(), through=through.isoformat()),
        metadata=OPERATOR,
    )
    assert again.days_accrued == 0  # the same days never accrue twice
    # The service's own hourly scheduler also sees the clock jump three days, once the loans
    # read model names the borrower, and may accrue some of these days before this call:
    # each day is accrued once, by one of them.
    accrued = [
        e.data["accrual_date"]
        for e in await stack.store.read_stream("account-C1")
        if e.type == "InterestAccrued"
    ]
    assert first.accounts == 1 and len(accrued) >= 2 and first.days_accrued <= len(accrued)
    assert len(set(accrued)) == len(accrued) and max(accrued) == through.isoformat()
    loan = await stack.loan("C1")
    # 100,000.00 x 6.8% / 365 = 18.630136... -> 18.64 a day, rounded up.
    capitalised = any(
        e.type == "InterestCapitalised" for e in await stack.store.read_stream("account-C1")
    )
    if not capitalised:  # no month end in the run (else it became principal)
        assert Decimal(loan.accrued_interest.value) == Decimal("18.64") * len(accrued)
    repaid = await stack.lending.RepayLoan(
        lending_pb2.RepayLoanRequest(request_id=rid(), client_id="C1", amount=hkd("1000.00")),
        metadata=PLATFORM,
    )
    interest = repaid.interest_paid.value
    assert interest == loan.accrued_interest.value
    assert Decimal(repaid.principal_paid.value) == Decimal("1000.00") - Decimal(interest)


async def test_an_ineligible_client_is_refused_a_facility_with_every_reason(stack: Stack) -> None:
    opened = await stack.accounts.OnboardClient(
        accounts_pb2.OnboardClientRequest(request_id=rid(), client_id="C9", credit_grade="BB"),
        metadata=OPERATOR,
    )
    await approve_client_facts(stack.accounts, "C9", opened.fact_proposal_ids)
    before = await stack.event_count()
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stack.lending.ApproveFacility(
            lending_pb2.ApproveFacilityRequest(
                request_id=rid(),
                client_id="C9",
                facility_id="F-9",
                credit_limit=hkd("100000.00"),
                annual_rate="0.07",
            ),
            metadata=RISK,
        )
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert details(refused.value)[0] == "not_eligible"
    for reason in (
        "no_securities_margin_account",
        "credit_grade_below_minimum",
        "margin_agreement_missing",
        "risk_disclosure_missing",
    ):
        assert reason in refused.value.details()
    assert await stack.event_count() == before


async def test_a_facility_is_approved_only_within_the_approved_credit_limit(stack: Stack) -> None:
    # C1's limit of 300,000.00 was proposed at onboarding and approved by a second principal;
    # its facility lends exactly that. One risk officer may not raise it by a cent.
    await stack.borrower("C1", limit="300000.00")
    # C2's limit is proposed but only its grade is approved: no limit to lend within yet.
    await stack.accounts.OnboardClient(
        accounts_pb2.OnboardClientRequest(
            request_id=rid(),
            client_id="C2",
            securities_margin_account_id="SMA-C2",
            credit_grade="A",
            credit_limit=hkd("300000.00"),
            margin_agreement_version="MA-2026",
            risk_disclosure_version="VARD-1",
        ),
        metadata=OPERATOR,
    )
    await approve_client_facts(stack.accounts, "C2", ["onboarding-credit-assessment"])
    before = await stack.event_count()
    for client, limit, reason in (
        ("C1", hkd("300000.01"), "facility_above_approved_credit_limit"),
        ("C1", Amount(asset="USD", value="1.00"), "credit_limit_not_approved"),
        ("C2", hkd("100000.00"), "credit_limit_not_approved"),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stack.lending.ApproveFacility(
                lending_pb2.ApproveFacilityRequest(
                    request_id=rid(),
                    client_id=client,
                    facility_id=f"F-{client}-2",
                    credit_limit=limit,
                    annual_rate="0.07",
                ),
                metadata=RISK,
            )
        assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION, client
        assert details(refused.value)[0] == reason, refused.value.details()
    assert await stack.event_count() == before
    assert (await stack.loan("C1")).credit_limit == hkd("300000.00")


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (lending_pb2.DrawLoanRequest(client_id="C1", amount=hkd("-1")), "amount.value"),
        (lending_pb2.DrawLoanRequest(client_id="C1", amount=hkd("1.001")), "amount.value"),
        (
            lending_pb2.DrawLoanRequest(client_id="C1", amount=Amount(asset="XYZ", value="1")),
            "amount.asset",
        ),
        (lending_pb2.DrawLoanRequest(client_id="bad id", amount=hkd("1")), "client_id"),
        (lending_pb2.RepayLoanRequest(client_id="C1", amount=hkd("abc")), "amount.value"),
        (
            lending_pb2.ApproveFacilityRequest(
                client_id="C1", facility_id="F", credit_limit=hkd("1"), annual_rate="1.5"
            ),
            "annual_rate",
        ),
        (lending_pb2.AccrueInterestRequest(through="2026-13-01"), "through"),
    ],
)
async def test_bad_input_is_invalid_and_appends_nothing(
    stack: Stack, request_: object, field: str
) -> None:
    await stack.borrower("C1")
    before = await stack.event_count()
    request_.request_id = rid()  # type: ignore[attr-defined]
    method = {
        lending_pb2.DrawLoanRequest: stack.lending.DrawLoan,
        lending_pb2.RepayLoanRequest: stack.lending.RepayLoan,
        lending_pb2.ApproveFacilityRequest: stack.lending.ApproveFacility,
        lending_pb2.AccrueInterestRequest: stack.lending.AccrueInterest,
    }[type(request_)]
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await method(request_, metadata=OPERATOR)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in details(refused.value)[1]
    assert await stack.event_count() == before


async def test_a_withdrawal_runs_the_same_advance_test(stack: Stack) -> None:
    await stack.borrower("C1")
    await stack.draw("C1", "400000.00")
    await stack.withdraw_cash("C1", "400000.00")  # U 0.833334
    before = await stack.event_count()
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        # Without the BTC: CV = 280,000 and D = 400,000.
        await stack.accounts.WithdrawCollateral(
            accounts_pb2.WithdrawCollateralRequest(
                request_id=rid(),
                client_id="C1",
                quantity=Amount(asset="BTC", value="1"),
                reference="wallet",
            ),
            metadata=PLATFORM,
        )
    assert details(refused.value)[0] == "utilisation_too_high"
    assert await stack.event_count() == before
    stack.clock.now += timedelta(seconds=300)  # every price stale now
    with pytest.raises(grpc.aio.AioRpcError) as stale:
        await stack.accounts.WithdrawCollateral(
            accounts_pb2.WithdrawCollateralRequest(
                request_id=rid(),
                client_id="C1",
                quantity=Amount(asset="0700.HK", value="1"),
                reference="depository",
            ),
            metadata=PLATFORM,
        )
    assert details(stale.value)[0] == "stale_price"


async def test_every_read_model_equals_a_rebuild_after_the_lifecycle(stack: Stack) -> None:
    from harbour.runtime.projections import all_projections

    await stack.borrower("C1")
    await stack.borrower("C2")
    await stack.draw("C1", "300000.00")
    await stack.withdraw_cash("C1", "300000.00")
    await stack.price("0700.HK", "200.00")
    await stack.check("C1")
    await caught_up(stack.store, all_projections(), clock=stack.clock)
    runner = ProjectionRunner(stack.store, clock=stack.clock)
    for projection in all_projections():
        assert await runner.verify(projection) == [], projection.name
    async with stack.store.engine.connect() as conn:
        trial = (await conn.execute(sa.text(TRIAL_BALANCE_SQL))).all()
    assert trial == []
