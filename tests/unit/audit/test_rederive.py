"""The re-derivation holds recorded decisions to the deciders' own rules: whatever the lending
decider records (fresh prices, a closed market's last close, a silent feed; a warning, a call,
a forced sale), it re-derives; alter any part of it and it is reported, with why."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from harbour.accounts import domain as accounts
from harbour.audit.rederive import Recorded, Rederivation
from harbour.ledger import events as ev
from harbour.ledger import journals
from harbour.ledger.account import MarginAccount, evolve
from harbour.ledger.advance import AdvanceTest
from harbour.ledger.grades import CreditGrade
from harbour.ledger.money import Money
from harbour.lending import domain as d
from harbour.testing import credit
from tests.unit.lending.test_risk_never_sleeps import (
    FRIDAY_CLOSE,
    FRIDAY_DRAW,
    SATURDAY,
    SEC,
    SUNDAY,
    book,
    context,
    fresh,
    hk,
)

C = "C9"
STREAM = f"account-{C}"
POLICY_FROM = datetime(2026, 1, 1, tzinfo=UTC)
LIMIT = Money.of("HKD", "1000000.00")  # approved by a maker and a checker; the facility's too


@dataclass
class History:
    """Events of every stream in the order they were recorded, as the store would hold them."""

    records: list[Recorded] = field(default_factory=list)
    versions: dict[str, int] = field(default_factory=dict)
    state: MarginAccount = field(default_factory=lambda: MarginAccount.initial(C))

    def record(self, stream: str, events: Sequence[ev.Event], at: datetime) -> list[int]:
        """Append ``events`` as one append; returns their versions."""
        decision = f"append-{len(self.records)}"
        versions = []
        for event in events:
            version = self.versions[stream] = self.versions.get(stream, 0) + 1
            versions.append(version)
            self.records.append(
                Recorded(len(self.records) + 1, stream, version, at, decision, event)
            )
            if stream == STREAM:
                self.state = evolve(self.state, event)
        return versions

    def observe(self, prices: dict[str, ev.PricePoint]) -> None:
        for point in prices.values():
            observed = ev.PriceObserved(
                point.base_asset, point.quote_asset, point.price, point.observed_at, point.source
            )
            self.record(f"price-{point.base_asset}", [observed], point.observed_at)

    def decide(
        self, command: d.Command, now: datetime, prices: dict[str, ev.PricePoint]
    ) -> list[ev.Event]:
        self.observe(prices)
        events = d.decide(self.state, command, context(now, prices)).account
        self.record(STREAM, events, now)
        return events

    def audit(self) -> Rederivation:
        rederivation = Rederivation()
        for recorded in self.records:
            rederivation.feed(recorded)
        return rederivation


def borrower(drawn: str = "504000.00") -> History:
    """The policy (0700.HK at 30%), then a borrower of ``drawn`` on Friday afternoon."""
    history = History()
    parameters = (ev.PolicyParameter(f"haircut.{SEC}", "0.30"),)
    history.record(
        "policy-collateral",
        [
            ev.PolicyChangeProposed("p-1", 1, parameters, POLICY_FROM, "alice"),
            ev.PolicyChangeApproved("p-1", 2, "bob", POLICY_FROM),
        ],
        POLICY_FROM,
    )
    at = FRIDAY_DRAW
    onboard = accounts.OnboardClient(
        C, "SMA-1", "CA-1", CreditGrade.A, LIMIT, "MA-2026", "VARD-1", False, None
    )
    history.record(STREAM, credit.onboarded(onboard, accounts.Context(at)), at)
    facility = d.ApproveFacility(C, "F-1", LIMIT, Decimal("0.08"))
    history.decide(facility, at, fresh(at))
    for quantity in (Money.of(SEC, "1000"), Money.of("BTC", "2")):
        deposit = ev.CollateralDeposited(
            C, quantity, "custody-1", journals.collateral_deposit(C, quantity)
        )
        history.record(STREAM, [deposit], at)
    assert [
        type(e).__name__
        for e in history.decide(d.DrawLoan(C, Money.of("HKD", drawn)), at, fresh(at))
    ] == ["LoanAdvanced"]
    payout = accounts.WithdrawCash(C, Money.of("HKD", drawn), "bank-9")
    paid = accounts.Context(at, margin_check=AdvanceTest(context(at, fresh(at)).policy, fresh(at)))
    history.record(STREAM, accounts.decide(history.state, payout, paid), at)
    return history


def test_a_weekend_crash_re_derives_with_its_closed_market_marked() -> None:
    history = borrower()
    saturday = book("180000", SATURDAY - timedelta(seconds=5), FRIDAY_CLOSE)
    call = history.decide(d.CheckRisk(C), SATURDAY, saturday)
    assert isinstance(call[0], ev.MarginCallIssued)
    assert call[0].basis.closed_market_assets == (SEC,)
    sunday = book("30000", SUNDAY - timedelta(seconds=5), FRIDAY_CLOSE)
    assert [type(e).__name__ for e in history.decide(d.CheckRisk(C), SUNDAY, sunday)] == [
        "LiquidationStarted"
    ]
    audit = history.audit()
    assert audit.discrepancies == []
    assert audit.checked == {"LoanAdvanced": 1, "MarginCallIssued": 1, "LiquidationStarted": 1}


def test_a_gap_through_the_forced_sale_level_re_derives_as_one_decision() -> None:
    history = borrower()
    saturday = book("30000", SATURDAY - timedelta(seconds=5), FRIDAY_CLOSE)
    events = history.decide(d.CheckRisk(C), SATURDAY, saturday)
    assert [type(e).__name__ for e in events] == [
        "MarginCallIssued",
        "AdvancesSuspended",
        "LiquidationStarted",
    ]
    assert history.audit().discrepancies == []


@pytest.mark.parametrize(
    ("btc_age", "sec_at", "stale", "closed"),
    [
        (timedelta(minutes=10), FRIDAY_CLOSE, ("BTC",), (SEC,)),  # silent feed at the weekend
        (timedelta(seconds=5), hk(2026, 11, 27, 11, 0), (SEC,), ()),  # died before the close
    ],
)
def test_stale_and_closed_market_prices_re_derive_as_the_decider_marks_them(
    btc_age: timedelta, sec_at: datetime, stale: tuple[str, ...], closed: tuple[str, ...]
) -> None:
    history = borrower()
    prices = book("180000", SATURDAY - btc_age, sec_at)
    call = history.decide(d.CheckRisk(C), SATURDAY, prices)[0]
    assert isinstance(call, ev.MarginCallIssued)
    assert (call.basis.stale_assets, call.basis.closed_market_assets) == (stale, closed)
    assert history.audit().discrepancies == []


def test_a_warning_and_its_clearing_re_derive() -> None:
    history = borrower("450000.00")  # CV 560,000 on fresh Friday prices: U 0.80
    monday = hk(2026, 11, 30, 11, 0)
    # BTC at 250,000: VA 200,000, CV 480,000, U 0.94 -> warning; back at 600,000 -> cleared.
    warned = history.decide(d.CheckRisk(C), monday, fresh(monday, btc="250000"))
    later = monday + timedelta(hours=1)
    cleared = history.decide(d.CheckRisk(C), later, fresh(later, btc="600000"))
    assert [type(e).__name__ for e in warned + cleared] == [
        "EarlyWarningIssued",
        "EarlyWarningCleared",
    ]
    assert history.audit().discrepancies == []


def test_draws_on_a_facility_lowered_then_raised_within_the_approved_limit_re_derive() -> None:
    history = borrower("100000.00")
    at = FRIDAY_DRAW
    for limit in ("200000.00", "1000000.00"):  # lowered, then raised back to the approved
        facility = d.ApproveFacility(C, "F-1", Money.of("HKD", limit), Decimal("0.08"))
        assert history.decide(facility, at, fresh(at))
    # 250,000.00 owed after it: above the lowered facility, within the raised one.
    assert history.decide(d.DrawLoan(C, Money.of("HKD", "150000.00")), at, fresh(at))
    assert history.state.approved_credit_limit == LIMIT
    audit = history.audit()
    assert audit.discrepancies == []
    assert audit.checked == {"LoanAdvanced": 2}


def test_a_draw_is_held_to_the_facility_limit_not_the_approved_one() -> None:
    history = borrower()  # 504,000.00 drawn on a facility of the approved 1,000,000.00
    altered(
        history,
        ev.MarginFacilityApproved,
        lambda e: replace(e, credit_limit=Money.of("HKD", "500000.00")),
    )
    found = history.audit().discrepancies
    assert [d.event_type for d in found] == ["LoanAdvanced"]
    assert "above its credit limit of 500000.00 HKD" in found[0].reason


def altered(history: History, event_type: type[ev.Event], change: object) -> Recorded:
    """The history with the last ``event_type`` changed by ``change``; returns it."""
    index = max(i for i, r in enumerate(history.records) if isinstance(r.event, event_type))
    record = history.records[index]
    history.records[index] = replace(record, event=change(record.event))  # type: ignore[operator]
    return history.records[index]


def crashed() -> History:
    history = borrower()
    history.decide(
        d.CheckRisk(C), SATURDAY, book("30000", SATURDAY - timedelta(seconds=5), FRIDAY_CLOSE)
    )
    return history


CASES = [
    (  # the closed market's last close passed off as a fresh price
        ev.MarginCallIssued,
        lambda e: replace(e, basis=replace(e.basis, closed_market_assets=())),
        "at a closed market's last close",
    ),
    (
        ev.MarginCallIssued,
        lambda e: replace(e, call_amount=Money.of("HKD", "1000.00")),
        "D - CV re-derives to 200000.00 HKD",
    ),
    (
        ev.MarginCallIssued,
        lambda e: replace(e, deadline=e.deadline + timedelta(days=2)),
        "1 business day(s) on is",
    ),
    (  # a basis on a policy version never approved
        ev.LiquidationStarted,
        lambda e: replace(e, basis=replace(e.basis, policy_version=7)),
        "policy version 7, which had not been approved",
    ),
    (  # a price nobody observed
        ev.LiquidationStarted,
        lambda e: replace(
            e,
            basis=replace(
                e.basis,
                prices=tuple(
                    replace(p, price=p.price * 2) if p.base_asset == "BTC" else p
                    for p in e.basis.prices
                ),
            ),
        ),
        "the price recorded then was 30000",
    ),
    (
        ev.LiquidationStarted,
        lambda e: replace(e, target_utilisation=Decimal("0.50")),
        "sets 0.80",
    ),
    (
        ev.LoanAdvanced,
        lambda e: replace(e, risk_after=replace(e.risk_after, debt=Money.of("HKD", "1.00"))),
        "debt 1.00 HKD (re-derived 504000.00 HKD)",
    ),
]


@pytest.mark.parametrize(("event_type", "change", "why"), CASES)
def test_an_altered_decision_is_reported_with_why(
    event_type: type[ev.Event], change: object, why: str
) -> None:
    history = crashed()
    forged = altered(history, event_type, change)
    found = history.audit().discrepancies
    assert {(d.position, d.stream_id, d.version, d.event_type) for d in found} == {
        (forged.position, STREAM, forged.version, event_type.__name__)
    }
    assert any(why in d.reason for d in found), [d.reason for d in found]


def test_a_forced_sale_below_the_level_is_reported() -> None:
    history = borrower()
    saturday = book("180000", SATURDAY - timedelta(seconds=5), FRIDAY_CLOSE)
    call = history.decide(d.CheckRisk(C), SATURDAY, saturday)[0]
    assert isinstance(call, ev.MarginCallIssued)
    # A liquidation "at the forced-sale level" on the same basis (U 1.19 < 1.30).
    forged = ev.LiquidationStarted(
        C,
        "liq-x",
        ev.LiquidationTrigger.FORCED_SALE_THRESHOLD,
        Decimal("0.80"),
        call.risk,
        call.basis,
    )
    (version,) = history.record(STREAM, [forged], SATURDAY)
    found = history.audit().discrepancies
    assert [(d.version, d.event_type) for d in found] == [(version, "LiquidationStarted")]
    assert "implies margin_call" in found[0].reason and "forced-sale level" in found[0].reason


@pytest.mark.parametrize(
    ("code", "quantity", "price", "rate"),
    [
        ("BTC", 1, "500000.01", "0.02"),
        ("BTC", 12_345_678, "249999.99", "0.02"),
        ("ETH", 10**18 + 7, "18000.5", "0.015"),
        ("0700.HK", 37, "401.2", "0.02"),
    ],
)
def test_the_sale_arithmetic_is_the_engines(
    code: str, quantity: int, price: str, rate: str
) -> None:
    from harbour.audit import rederive
    from harbour.liquidation import sizing

    proceeds = rederive.proceeds_of(code, quantity, Decimal(price))
    assert proceeds == sizing.proceeds_of(code, quantity, Decimal(price))
    fee = rederive.liquidation_fee(proceeds, Decimal(rate))
    assert fee == sizing.liquidation_fee(proceeds, Decimal(rate))
