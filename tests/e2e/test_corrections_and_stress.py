"""Corrections (maker-checker reversals) on the accounts service and stress tests on the
collateral service, through real gRPC servers on loopback and a real PostgreSQL."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import grpc
import pytest

from harbour.accounts.projections import Accounts, Balances
from harbour.api.v1 import accounts_pb2, accounts_pb2_grpc, collateral_pb2, collateral_pb2_grpc
from harbour.api.v1.common_pb2 import Amount, PageRequest, Price
from harbour.application.outcome import new_event
from harbour.eventstore.database import Database
from harbour.eventstore.model import NewEvent
from harbour.eventstore.notify import FeedNotifier
from harbour.eventstore.projections import ProjectionRunner
from harbour.eventstore.store import EventStore
from harbour.ledger import events as ev
from harbour.ledger import journals, stress
from harbour.ledger.assets import asset
from harbour.ledger.money import Money, format_minor
from harbour.lending.projections import MarginCalls
from harbour.runtime.server import Runtime, start_server
from harbour.runtime.settings import Settings
from harbour.runtime.upcasting import vocabulary_upcasters
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
from tests.e2e.test_audit_service import details

ANN = (("x-harbour-principal", "ann:operator"),)
BEN = (("x-harbour-principal", "ben:operator"),)
AUDITOR = (("x-harbour-principal", "audit:auditor"),)


def hkd(value: str) -> Amount:
    return Amount(asset="HKD", value=value)


@dataclass
class Stack:
    accounts: accounts_pb2_grpc.AccountsServiceStub
    collateral: collateral_pb2_grpc.CollateralServiceStub
    store: EventStore
    clock: ManualClock

    async def price(self, code: str, value: str) -> None:
        self.clock.now += timedelta(seconds=1)
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

    async def onboard(self, client: str) -> None:
        await self.accounts.OnboardClient(
            accounts_pb2.OnboardClientRequest(request_id=rid(), client_id=client),
            metadata=OPERATOR,
        )

    async def deposit(self, client: str, value: str) -> accounts_pb2.DepositCashResponse:
        response: accounts_pb2.DepositCashResponse = await self.accounts.DepositCash(
            accounts_pb2.DepositCashRequest(
                request_id=rid(), client_id=client, amount=hkd(value), reference="bank"
            ),
            metadata=PLATFORM,
        )
        return response

    async def withdraw(self, client: str, value: str) -> None:
        await self.accounts.WithdrawCash(
            accounts_pb2.WithdrawCashRequest(
                request_id=rid(), client_id=client, amount=hkd(value), reference="bank"
            ),
            metadata=PLATFORM,
        )

    async def propose(
        self, client: str, correction: str, *, version: int = 0, position: int = 0
    ) -> accounts_pb2.ProposeCorrectionResponse:
        request = accounts_pb2.ProposeCorrectionRequest(
            request_id=rid(), client_id=client, correction_id=correction, reason="booked twice"
        )
        if version:
            request.original_version = version
        else:
            request.original_position = position
        response: accounts_pb2.ProposeCorrectionResponse = await self.accounts.ProposeCorrection(
            request, metadata=ANN
        )
        return response

    async def approve(
        self, client: str, correction: str, metadata: tuple[tuple[str, str], ...] = BEN
    ) -> accounts_pb2.ApproveCorrectionResponse:
        response: accounts_pb2.ApproveCorrectionResponse = await self.accounts.ApproveCorrection(
            accounts_pb2.ApproveCorrectionRequest(
                request_id=rid(), client_id=client, correction_id=correction
            ),
            metadata=metadata,
        )
        return response

    async def cash(self, client: str) -> list[str]:
        response = await self.accounts.GetAccount(
            accounts_pb2.GetAccountRequest(client_id=client), metadata=OPERATOR
        )
        return [f"{a.value} {a.asset}" for a in response.account.cash]


@pytest.fixture
async def stack(settings: Settings, database: Database) -> AsyncIterator[Stack]:
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
    # The vocabulary's upcasters, as in production: an older run reads in today's shape.
    store = EventStore(
        database, clock=clock, notifier=FeedNotifier(database), upcasters=vocabulary_upcasters()
    )
    runtime = Runtime(settings, database, store, clock)
    servers = [
        await start_server(name, runtime, port=0, host="127.0.0.1")
        for name in ("accounts", "collateral")
    ]
    channels = [grpc.aio.insecure_channel(f"127.0.0.1:{s.port}") for s in servers]
    yield Stack(
        accounts_pb2_grpc.AccountsServiceStub(channels[0]),
        collateral_pb2_grpc.CollateralServiceStub(channels[1]),
        store,
        clock,
    )
    for channel in channels:
        await channel.close()
    for server in servers:
        await server.stop(0)


# ------------------------------------------------------------------------------ corrections


async def test_a_reversal_restores_the_balances_and_the_statement_shows_both(
    stack: Stack,
) -> None:
    await stack.onboard("C1")
    await stack.deposit("C1", "1000.00")
    mistaken = await stack.deposit("C1", "500.00")  # booked twice
    assert await stack.cash("C1") == ["1500.00 HKD"]

    proposed = await stack.propose("C1", "FIX-1", position=mistaken.result.position)
    assert proposed.original_version == mistaken.result.stream_version
    assert await stack.cash("C1") == ["1500.00 HKD"]  # nothing moves until approved
    approved = await stack.approve("C1", "FIX-1")
    assert await stack.cash("C1") == ["1000.00 HKD"]

    statement = await stack.accounts.GetStatement(
        accounts_pb2.GetStatementRequest(client_id="C1"), metadata=OPERATOR
    )
    entries = {e.version: e for e in statement.entries}
    original = entries[mistaken.result.stream_version]
    reversal = entries[approved.result.stream_version]
    assert (original.type, reversal.type) == ("CashDeposited", "MovementReversed")
    flipped = [(p.ledger_account, p.amount.asset, p.amount.value) for p in original.postings]
    assert [
        (p.ledger_account, p.amount.asset, p.amount.value.removeprefix("-"))
        for p in reversal.postings
    ] == [(a, c, v.removeprefix("-")) for a, c, v in flipped]
    assert [p.amount.value.startswith("-") for p in reversal.postings] == [
        not p.amount.value.startswith("-") for p in original.postings
    ]
    assert f'"original_version":{mistaken.result.stream_version}' in reversal.data_json
    assert (
        '"approved_by":"ben"' in reversal.data_json and '"proposed_by":"ann"' in reversal.data_json
    )

    # The ledger still balances, and the balances read model agrees with the stream.
    runner = ProjectionRunner(stack.store, clock=stack.clock)
    await runner.catch_up(Balances())
    balances = await stack.accounts.GetBalances(
        accounts_pb2.GetBalancesRequest(client_id="C1"), metadata=OPERATOR
    )
    assert [(b.ledger_account, b.balance.value) for b in balances.balances] == [
        ("client:C1:cash", "1000.00")
    ]


async def test_reversing_twice_or_spent_cash_is_refused_and_writes_nothing(stack: Stack) -> None:
    await stack.onboard("C1")
    first = await stack.deposit("C1", "1000.00")
    second = await stack.deposit("C1", "500.00")
    await stack.propose("C1", "FIX-1", version=second.result.stream_version)
    await stack.approve("C1", "FIX-1")
    await stack.withdraw("C1", "400.00")  # HKD 600 left of the 1,000

    before = await event_count(stack.store)
    with pytest.raises(grpc.aio.AioRpcError) as twice:
        await stack.propose("C1", "FIX-2", version=second.result.stream_version)
    assert twice.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert details(twice.value)[0] == "already_reversed"
    with pytest.raises(grpc.aio.AioRpcError) as spent:
        await stack.propose("C1", "FIX-3", version=first.result.stream_version)
    assert spent.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert details(spent.value)[0] == "insufficient_balance"
    with pytest.raises(grpc.aio.AioRpcError) as onboarding:
        await stack.propose("C1", "FIX-4", version=1)
    assert details(onboarding.value)[0] == "not_reversible"
    assert await event_count(stack.store) == before
    assert await stack.cash("C1") == ["600.00 HKD"]


async def test_the_maker_may_not_approve_their_own_correction(stack: Stack) -> None:
    await stack.onboard("C1")
    deposited = await stack.deposit("C1", "10.00")
    await stack.propose("C1", "FIX-1", version=deposited.result.stream_version)
    before = await event_count(stack.store)
    with pytest.raises(grpc.aio.AioRpcError) as same:
        await stack.approve("C1", "FIX-1", metadata=ANN)
    assert same.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert details(same.value)[0] == "same_maker_and_checker"
    with pytest.raises(grpc.aio.AioRpcError) as platform:
        await stack.approve("C1", "FIX-1", metadata=PLATFORM)  # not an operator
    assert platform.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert await event_count(stack.store) == before

    rejected = await stack.accounts.RejectCorrection(
        accounts_pb2.RejectCorrectionRequest(
            request_id=rid(), client_id="C1", correction_id="FIX-1", reason="it was right"
        ),
        metadata=BEN,
    )
    # After the deposit: the proposal, then the rejection.
    assert rejected.result.stream_version == deposited.result.stream_version + 2
    assert await stack.cash("C1") == ["10.00 HKD"]
    with pytest.raises(grpc.aio.AioRpcError) as decided:
        await stack.approve("C1", "FIX-1")
    assert details(decided.value)[0] == "correction_not_pending"


# ------------------------------------------------------------------------------ stress tests

PRICES = {"BTC": Decimal("500000.00"), "ETH": Decimal("20000.00"), "0700.HK": Decimal("400.00")}
SHOCKED = {"BTC": Decimal("350000.00"), "ETH": Decimal("12000.00"), "0700.HK": Decimal("320.00")}
HAIRCUTS = {"HKD": Fraction(0), "BTC": Fraction(60, 100), "ETH": Fraction(65, 100)}
HAIRCUTS["0700.HK"] = Fraction(30, 100)
FEE = Fraction(2, 100)
ACCOUNTS = 200


@dataclass(frozen=True)
class Seeded:
    client: str
    held: dict[str, int]  # minor units
    debt: int  # HKD cents


def seeded_book(rng: random.Random) -> list[Seeded]:
    """Borrowers of every kind: crypto only (no marginable value under the VA cap), shares
    only, mixed, with cash, owing nothing, owing a lot."""
    book = []
    for n in range(ACCOUNTS):
        held: dict[str, int] = {}
        if rng.random() < 0.7:
            held["BTC"] = rng.randrange(1_000_000, 300_000_000)  # 0.01-3 BTC
        if rng.random() < 0.4:
            held["ETH"] = rng.randrange(10**16, 40 * 10**18)  # 0.01-40 ETH
        if rng.random() < 0.8:
            held["0700.HK"] = rng.randrange(100, 5_000)
        if rng.random() < 0.3:
            held["HKD"] = rng.randrange(100, 20_000_000)
        cv = _marginable(held, PRICES)
        utilisation = Fraction(rng.randrange(0, 120), 100)
        debt = int(cv * utilisation) if rng.random() < 0.9 else 0
        if not cv and rng.random() < 0.6:
            # No marginable value (crypto only, under the VA cap) yet owing: a deficit in the
            # making, often beyond what selling everything would bring after the shock.
            market_value = sum(_value(c, q, PRICES) for c, q in held.items())
            debt = int(market_value * Fraction(rng.randrange(40, 130), 100)) + 1
        book.append(Seeded(f"S{n:03d}", held, debt))
    return book


def _value(code: str, minor: int, prices: dict[str, Decimal]) -> int:
    """Market value in HKD cents, rounded down (HKD is 1)."""
    price = Fraction(1) if code == "HKD" else Fraction(prices[code])
    return int(Fraction(minor, asset(code).unit) * price * 100 // 1)


def _marginable(held: dict[str, int], prices: dict[str, Decimal]) -> int:
    va = other = 0
    for code, minor in held.items():
        keep = int(_value(code, minor, prices) * (1 - HAIRCUTS[code]) // 1)
        if code in ("BTC", "ETH"):
            va += keep
        else:
            other += keep
    return other + min(va, other)  # a 50% VA share cap admits VA up to the non-VA part


@dataclass(frozen=True)
class Expected:
    counts: dict[str, int]
    shortfall: int
    short: int
    # (client, shortfall, utilisation in millionths rounded up or None) of every account
    # warned, called, liquidated or short, worst first.
    worst: list[tuple[str, int, int | None]]
    # (client, implied state, shortfall, utilisation as worst) of every account warned,
    # called or liquidated, worst first: who the run lists.
    moved: list[tuple[str, str, int, int | None]]


WIRE_STATES = {"warned": "WARNING", "called": "MARGIN_CALL", "liquidated": "FORCED_SALE"}


def expected(book: list[Seeded]) -> Expected:
    """The exact rule per account, written independently of the service."""
    counts = {"warned": 0, "called": 0, "liquidated": 0}
    total, short, counted, moved = 0, 0, [], []
    for one in book:
        debt = one.debt
        cv = _marginable(one.held, SHOCKED)
        state = "healthy"
        if debt > 0:
            if cv == 0 or debt >= Fraction(13, 10) * cv:
                state = "liquidated"
            elif debt > cv:
                state = "called"
            elif debt > Fraction(9, 10) * cv:
                state = "warned"
        if state != "healthy":
            counts[state] += 1
        net = 0
        for code, minor in one.held.items():
            value = _value(code, minor, SHOCKED)
            fee = 0 if code == "HKD" else -((-value * FEE.numerator) // FEE.denominator)
            net += value - fee
        shortfall = max(0, debt - net)
        total += shortfall
        short += shortfall > 0
        if state != "healthy" or shortfall:
            utilisation = -((-debt * 10**6) // cv) if cv else None
            counted.append((one.client, shortfall, utilisation))
            if state != "healthy":
                moved.append((one.client, WIRE_STATES[state], shortfall, utilisation))
    counted.sort(key=lambda c: (-c[1], c[2] is not None, -(c[2] or 0), c[0]))
    moved.sort(key=lambda c: (-c[2], c[3] is not None, -(c[3] or 0), c[0]))
    return Expected(counts, total, short, counted, moved)


async def seed(stack: Stack, book: list[Seeded]) -> None:
    """Each account's events appended as the deciders would have written them."""
    zero = Money.of("HKD", "0")
    figures = ev.RiskFigures(zero, zero, zero, Decimal(0))
    basis = ev.DecisionBasis(2, (), stack.clock.now)
    for one in book:
        events: list[ev.Event] = [ev.ClientOnboarded(one.client, None)]
        for code, minor in sorted(one.held.items()):
            amount = Money(asset(code), minor)
            if code == "HKD":
                journal = journals.cash_deposit(one.client, amount)
                events.append(ev.CashDeposited(one.client, amount, "bank", journal))
            else:
                journal = journals.collateral_deposit(one.client, amount)
                events.append(ev.CollateralDeposited(one.client, amount, "custody", journal))
        if one.debt:
            loan = Money(asset("HKD"), one.debt)
            journal = journals.loan_advance(one.client, loan)
            events.append(ev.LoanAdvanced(one.client, loan, figures, basis, journal))
            # The proceeds were paid out: only the debt stays.
            out = journals.cash_withdrawal(one.client, loan)
            events.append(ev.CashWithdrawn(one.client, loan, basis, out))
        await stack.store.append(
            f"account-{one.client}", [new_event(e) for e in events], expected_version=0
        )
    closed = [ev.ClientOnboarded("GONE", None), ev.AccountClosed("GONE", "closed on request")]
    await stack.store.append("account-GONE", [new_event(e) for e in closed], expected_version=0)
    runner = ProjectionRunner(stack.store, clock=stack.clock)
    for projection in (Balances(), Accounts(), MarginCalls()):
        await runner.catch_up(projection)


def cents(minor: int) -> str:
    return format_minor(asset("HKD"), minor)


def ratio(millionths: int | None) -> str:
    return "" if millionths is None else str(Decimal(millionths).scaleb(-6))


def stress_request(run_id: str, page_size: int = 0) -> collateral_pb2.RunStressTestRequest:
    return collateral_pb2.RunStressTestRequest(
        request_id=rid(),
        run_id=run_id,
        scenario="crypto_winter",
        shocks=[
            collateral_pb2.StressShock(asset="BTC", change="-0.30"),
            collateral_pb2.StressShock(asset="ETH", change="-0.40"),
        ],
        securities_shock="-0.20",
        worst_accounts=5,
        page_size=page_size,
    )


def listed(accounts: list[collateral_pb2.StressedAccount]) -> list[tuple[str, str, int, str]]:
    return [
        (
            a.client_id,
            collateral_pb2.ImpliedState.Name(a.implied_state).removeprefix("IMPLIED_STATE_"),
            int(Decimal(a.shortfall.value) * 100),
            a.utilisation,
        )
        for a in accounts
    ]


async def every_listed(
    stack: Stack, first: collateral_pb2.RunStressTestResponse, page_size: int
) -> list[tuple[str, str, int, str]]:
    """The run's listed accounts: the first page RunStressTest answered, then
    GetStressTestRun's pages until the last."""
    found = listed(list(first.accounts))
    token = first.page.next_page_token
    while token:
        page = await stack.collateral.GetStressTestRun(
            collateral_pb2.GetStressTestRunRequest(
                run_id=first.run_id, page=PageRequest(page_size=page_size, page_token=token)
            ),
            metadata=AUDITOR,
        )
        assert len(page.run.accounts) == page_size or not page.run.page.next_page_token
        assert page.run.expected_shortfall == first.expected_shortfall
        found += listed(list(page.run.accounts))
        token = page.run.page.next_page_token
    return found


async def test_a_stress_test_gives_the_exact_rules_counts_and_shortfall(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pages of 10 accounts, so that the listing spans several events and an answer's page
    # spans two of them.
    monkeypatch.setattr(stress, "ACCOUNTS_PER_PAGE", 10)
    await stack.policy(**{"haircut.0700.HK": "0.30"})
    for code, price in PRICES.items():
        await stack.price(code, str(price))
    book = seeded_book(random.Random(20261203))
    await seed(stack, book)
    want = expected(book)
    assert all(want.counts.values()) and want.short  # the seed gives every kind
    accounts_before = await event_count(stack.store)

    request = stress_request("ST-1", page_size=7)
    response = await stack.collateral.RunStressTest(request, metadata=RISK)
    assert response.accounts_tested == ACCOUNTS  # the closed account is not in the book
    assert (
        response.accounts_warned,
        response.accounts_called,
        response.accounts_liquidated,
    ) == (want.counts["warned"], want.counts["called"], want.counts["liquidated"])
    assert response.accounts_short == want.short
    assert response.expected_shortfall == Amount(asset="HKD", value=cents(want.shortfall))
    assert [(w.client_id, w.shortfall.value, w.utilisation) for w in response.worst_accounts] == [
        (client, cents(shortfall), ratio(u)) for client, shortfall, u in want.worst[:5]
    ]
    # Who: every account moved out of healthy, its implied state and shortfall, worst first,
    # paged through to the last.
    moved = len(want.moved)
    assert moved == sum(want.counts.values())
    assert (response.accounts_listed, response.accounts_not_listed) == (moved, 0)
    assert len(response.accounts) == 7 and response.page.next_page_token
    assert await every_listed(stack, response, 13) == [
        (client, state, shortfall, ratio(u)) for client, state, shortfall, u in want.moved
    ]
    assert {w.implied_state for w in response.worst_accounts} <= {
        collateral_pb2.IMPLIED_STATE_MARGIN_CALL,
        collateral_pb2.IMPLIED_STATE_FORCED_SALE,
        collateral_pb2.IMPLIED_STATE_WARNING,
    }
    assert {p.base_asset: p.value for p in response.shocked_prices} == {
        "BTC": "350000.0000",
        "ETH": "12000.0000",
        "0700.HK": "320.0000",
    }
    # Only the accounts the float screen could not clear were valued exactly.
    assert response.accounts_valued_exactly < ACCOUNTS

    # One StressTestRun on its own stream and its pages of 10, nothing on any account.
    recorded, *pages = await stack.store.read_stream("stress-ST-1")
    assert recorded.type == "StressTestRun" and recorded.schema_version == 2
    assert [p.type for p in pages] == ["StressTestAccountsListed"] * -(-moved // 10)
    assert [p.data["page"] for p in pages] == list(range(1, len(pages) + 1))
    assert recorded.data["account_pages"] == len(pages) > 2
    assert response.result.position == pages[-1].position
    assert response.result.stream_version == len(pages) + 1
    written = await event_count(stack.store)
    assert written == accounts_before + 1 + len(pages)
    assert recorded.data["total_shortfall"]["amount"] == response.expected_shortfall.value
    assert recorded.data["requested_by"] == "risk-desk"

    repeat = await stack.collateral.RunStressTest(request, metadata=RISK)
    assert repeat.result.replayed and repeat.expected_shortfall == response.expected_shortfall
    assert repeat.accounts == response.accounts
    assert repeat.result.position == response.result.position
    read = await stack.collateral.GetStressTestRun(
        collateral_pb2.GetStressTestRunRequest(run_id="ST-1"), metadata=OPERATOR
    )
    assert read.run.result.position == response.result.position
    assert listed(list(read.run.accounts))[:7] == listed(list(response.accounts))
    assert len(read.run.accounts) == min(moved, 100)  # the default page

    # Capped: the least bad are counted, not listed.
    monkeypatch.setattr(stress, "MAX_LISTED", 25)
    capped = await stack.collateral.RunStressTest(stress_request("ST-3", 1000), metadata=RISK)
    assert (capped.accounts_listed, capped.accounts_not_listed) == (25, moved - 25)
    assert listed(list(capped.accounts)) == listed(list(read.run.accounts))[:25]
    assert not capped.page.next_page_token
    written = await event_count(stack.store)
    with pytest.raises(grpc.aio.AioRpcError) as again:
        await stack.collateral.RunStressTest(stress_request("ST-1"), metadata=RISK)
    assert again.value.code() == grpc.StatusCode.ALREADY_EXISTS
    with pytest.raises(grpc.aio.AioRpcError) as role:
        await stack.collateral.RunStressTest(stress_request("ST-2"), metadata=PLATFORM)
    assert role.value.code() == grpc.StatusCode.PERMISSION_DENIED
    for run_id, token, caller, code in [
        ("ST-1", "", PLATFORM, grpc.StatusCode.PERMISSION_DENIED),  # it names every client
        ("ST-404", "", RISK, grpc.StatusCode.NOT_FOUND),
        ("ST-1", "x", RISK, grpc.StatusCode.INVALID_ARGUMENT),
    ]:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stack.collateral.GetStressTestRun(
                collateral_pb2.GetStressTestRunRequest(
                    run_id=run_id, page=PageRequest(page_token=token)
                ),
                metadata=caller,
            )
        assert refused.value.code() == code
    assert await event_count(stack.store) == written


async def test_a_stress_test_run_recorded_before_v2_reads_with_nobody_listed(
    stack: Stack,
) -> None:
    v1 = {
        "run_id": "OLD",
        "scenario": "crypto_winter",
        "shocks": [{"asset": "BTC", "change": "-0.30"}],
        "policy_version": 1,
        "run_at": "2026-12-03T09:30:00.000000Z",
        "accounts_tested": 200,
        "accounts_in_margin_call": 7,
        "accounts_liquidating": 3,
        "total_shortfall": {"asset": "HKD", "amount": "12.34"},
        "accounts_warned": 5,
        "worst_accounts": [
            {
                "client_id": "S001",
                "utilisation": None,
                "debt": {"asset": "HKD", "amount": "100.00"},
                "shortfall": {"asset": "HKD", "amount": "12.34"},
            }
        ],
    }
    await stack.store.append(
        "stress-OLD", [NewEvent("StressTestRun", v1, schema_version=1)], expected_version=0
    )
    read = await stack.collateral.GetStressTestRun(
        collateral_pb2.GetStressTestRunRequest(run_id="OLD"), metadata=RISK
    )
    assert (read.run.accounts_listed, read.run.accounts_not_listed) == (0, 15)
    assert not read.run.accounts and not read.run.page.next_page_token
    (worst,) = read.run.worst_accounts
    assert (worst.client_id, worst.implied_state) == ("S001", 0)  # not recorded in v1
    assert read.run.result.stream_version == 1


@pytest.mark.parametrize(
    ("field", "change"),
    [("shocks[0].change", "-1"), ("shocks[0].change", "0.1234567"), ("securities_shock", "x")],
)
async def test_a_malformed_shock_is_refused(stack: Stack, field: str, change: str) -> None:
    request = stress_request("ST-9")
    if field == "securities_shock":
        request.securities_shock = change
    else:
        request.shocks[0].change = change
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stack.collateral.RunStressTest(request, metadata=RISK)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert details(refused.value)[1] == [field]
