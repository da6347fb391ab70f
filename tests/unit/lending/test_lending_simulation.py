"""Deterministic simulation of the whole margin business through the pure deciders.

Clients onboard (some with every eligibility fact, some without), pledge cash and
collateral, have credit limits approved (a maker and a checker), take margin facilities within
them, draw, repay and accrue interest day by day, while seeded
random walks move BTC, ETH, 0700.HK and USD, with occasional crashes of 30-60% and rebounds,
feed outages and quiet gaps that leave prices stale. The risk check runs on every account after
every price move and on a client after each of its own movements (as the lending monitor
does). Everything goes through ``harbour.accounts.domain.decide`` (withdrawals through
``AdvanceTest``) and ``harbour.lending.domain.decide`` with a simulated clock and no I/O; only
the events they return are applied (``evolve`` for account streams, ``evolve_exposure`` for
``broker-exposure``). Refusals are normal outcomes, counted by reason. There is no liquidation
engine among the deciders yet, so an account that reaches LIQUIDATING stays there (it may
still repay).

Every invariant is checked after every step, the risk figures against an *oracle*: the
formulas of docs/domain.md written out again here in integers, not the kernel's
valuation.

1. trial balance: the postings of every journal ever applied sum to zero per asset;
2. every account's balances equal its own postings in the ledger, and replaying its event list
   gives the incrementally evolved state; the broker-exposure stream replays likewise;
3. the broker exposure per currency equals the sum of every account's principal, and per
   related group the sum over its members;
4. after an accepted draw, total margin loans and the client's group (in HKD at that step's
   prices) are within ``total_loans_limit`` and the single-client limit;
5. after an accepted draw or withdrawal, U <= max advance utilisation at that step's prices
   (for a draw with the proceeds not counted), every price it rests on is fresh, and after a
   draw the debt in the loan currency is within the credit limit;
6. risk MARGIN_CALL => an open call and advances suspended; an open call => MARGIN_CALL or
   LIQUIDATING; risk moves only along the edges of the state machine, and every liquidation
   follows a call; no LoanAdvanced while a call is open; after a risk check the recorded
   state is the one the oracle implies at that step's prices, stale ones included (risk never
   sleeps: only a price missing altogether holds a check back), no call is left open past its
   deadline, and a decision's basis marks exactly the prices it rests on that were not fresh;
7. interest: an account never accrues the same date twice; each day's interest is
   ``ceil(principal x rate / 365)`` on the principal at the end of that day, in the loan
   currency and at the rate of the facility in force at the end of that day (a later approval
   changes the terms from then on, not for days already past), month ends capitalise once;
   no balance, principal or accrued interest is ever negative;
8. no float anywhere: every event and state holds ints (minor units), Decimals (finite) and
   dates only.

A failure names its seed and step; ``HARBOUR_SIM_SEED=<seed> pytest
tests/unit/lending/test_lending_simulation.py`` replays exactly that run. The default run is
20 seeds x 300 steps; ``HARBOUR_SIM_SEEDS=<count>`` and ``HARBOUR_SIM_STEPS=<steps>`` run a
larger one (a failure then prints the steps to replay with too).
"""

from __future__ import annotations

import os
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from enum import Enum
from functools import cache

import pytest

from harbour.accounts import domain as acc
from harbour.ledger import events as ev
from harbour.ledger.account import (
    CREDIT_HOLD,
    MARGIN_CALL_HOLD,
    Lifecycle,
    MarginAccount,
    RiskState,
    evolve,
    from_snapshot,
    replay,
    to_snapshot,
)
from harbour.ledger.advance import AdvanceTest
from harbour.ledger.assets import asset
from harbour.ledger.errors import DomainError
from harbour.ledger.exposure import BrokerExposure, evolve_exposure, replay_exposure
from harbour.ledger.grades import CreditGrade
from harbour.ledger.interest import AccrualDay, business_date, days_to_accrue
from harbour.ledger.money import Money
from harbour.ledger.policy import DEFAULT_POLICY, apply_parameters
from harbour.ledger.valuation import ImpliedState
from harbour.lending import domain as d
from harbour.testing import credit

DEFAULT_SEEDS = 20
DEFAULT_STEPS = 300
SEEDS = (
    [int(os.environ["HARBOUR_SIM_SEED"])]
    if "HARBOUR_SIM_SEED" in os.environ
    else range(int(os.environ.get("HARBOUR_SIM_SEEDS", DEFAULT_SEEDS)))
)
STEPS = int(os.environ.get("HARBOUR_SIM_STEPS", DEFAULT_STEPS))
FULL_CHECK_EVERY = 100  # steps between full replays of every stream (see check_invariants)

SEC = "0700.HK"  # eligible: 30% haircut in the simulated policy
ILLIQUID = "0005.HK"  # no haircut listed (100%: ineligible) and no price feed at all
FEEDS = ("BTC", "ETH", SEC, "USD")
CASH = ("HKD", "USD")
COLLATERAL = ("BTC", "ETH", SEC, ILLIQUID)
START = datetime(2026, 11, 25, 1, 30, tzinfo=UTC)  # a Wednesday, 09:30 in Hong Kong
HK = timezone(timedelta(hours=8))

# 14 clients; two related groups share the single-client limit.
CLIENTS = tuple(f"C{n:02d}" for n in range(1, 15))
GROUPS = {"C01": "GRP-A", "C02": "GRP-A", "C03": "GRP-A", "C04": "GRP-B", "C05": "GRP-B"}

# A small broker, so the broker-wide limits bind: total loans <= 5 x 300k = 1.5m HKD, one
# client or group <= 20% x 2.5m = 500k HKD.
POLICY = apply_parameters(
    DEFAULT_POLICY,
    [
        ev.PolicyParameter(f"haircut.{SEC}", "0.30"),
        ev.PolicyParameter("broker.capital", "300000.00"),
        ev.PolicyParameter("broker.shareholders_funds", "2500000.00"),
    ],
    version=2,
    effective_from=START - timedelta(days=30),
)

# The oracle's own haircut table (anything else: 100%, no marginable value).
HAIRCUT = {
    "HKD": Decimal("0"),
    "USD": Decimal("0.05"),
    "BTC": Decimal("0.60"),
    "ETH": Decimal("0.65"),
    SEC: Decimal("0.30"),
}
VIRTUAL = frozenset({"BTC", "ETH"})
START_PRICES = {"BTC": "600000.00", "ETH": "25000.00", SEC: "400.00", "USD": "7.8000"}
QUANTUM = {
    "BTC": Decimal("0.01"),
    "ETH": Decimal("0.01"),
    SEC: Decimal("0.01"),
    "USD": Decimal("0.0001"),
}
VOLATILITY_BP = {"BTC": 300, "ETH": 400, SEC: 150, "USD": 5}  # per move, in basis points

H, W, MC, LIQ = RiskState.HEALTHY, RiskState.WARNING, RiskState.MARGIN_CALL, RiskState.LIQUIDATING
# The edges of docs/domain.md's state machine this simulation can take, one event at a time.
RISK_EDGES = frozenset({(H, W), (W, H), (H, MC), (W, MC), (MC, H), (MC, LIQ)})
WATCHED_AS_HEALTHY = (H, RiskState.RECOVERED, RiskState.WRITTEN_OFF)

# ------------------------------------------------------------------------------ the oracle


@dataclass(frozen=True)
class Figures:
    """A client's risk in HKD minor units, from docs/domain.md's formulas."""

    market_value: int
    marginable_value: int  # CV, VA share cap applied
    debt: int  # D

    def above(self, limit: Decimal) -> bool:
        """U = D / CV > limit, exactly (CV 0 with debt: unbounded)."""
        num, den = limit.as_integer_ratio()
        return self.debt * den > num * self.marginable_value

    @property
    def implied(self) -> ImpliedState:
        if self.debt <= 0:
            return ImpliedState.HEALTHY
        if not self.above(POLICY.warning_utilisation):
            return ImpliedState.HEALTHY
        if not self.above(POLICY.margin_call_utilisation):
            return ImpliedState.WARNING
        num, den = POLICY.forced_sale_utilisation.as_integer_ratio()
        if self.debt * den < num * self.marginable_value:
            return ImpliedState.MARGIN_CALL
        return ImpliedState.FORCED_SALE


@dataclass(frozen=True)
class Terms:
    """A facility's loan currency and rate, and the principal owed in that currency."""

    currency: str
    annual_rate: Decimal | None
    principal: int


def _per_minor(code: str, prices: Mapping[str, ev.PricePoint]) -> tuple[int, int] | None:
    """HKD minor units per minor unit of ``code`` as (num, den); None without a price."""
    if code == "HKD":
        return 1, 1
    point = prices.get(code)
    if point is None:
        return None
    num, den = point.price.as_integer_ratio()
    return num * 100, den * asset(code).unit


def oracle(
    held: Mapping[str, int], owed: Mapping[str, int], prices: Mapping[str, ev.PricePoint]
) -> Figures:
    """MV_i rounds down, marginable_i = MV_i x (1 - haircut_i) rounds down, the VA part of CV
    is capped at cap / (1 - cap) x the rest, D converts each currency rounding up."""
    market = virtual = other = 0
    for code, quantity in held.items():
        ratio = _per_minor(code, prices)
        if quantity == 0 or ratio is None:
            continue  # an unpriced holding is worth nothing
        value = quantity * ratio[0] // ratio[1]
        keep_num, keep_den = (1 - HAIRCUT.get(code, Decimal(1))).as_integer_ratio()
        marginable = value * keep_num // keep_den
        market += value
        if code in VIRTUAL:
            virtual += marginable
        else:
            other += marginable
    cap_num, cap_den = POLICY.va_share_cap.as_integer_ratio()
    if cap_num < cap_den:
        virtual = min(virtual, other * cap_num // (cap_den - cap_num))
    debt = 0
    for code, minor in owed.items():
        if minor == 0:
            continue
        ratio = _per_minor(code, prices)
        assert ratio is not None, f"debt in {code} with no price"
        debt += -(-minor * ratio[0] // ratio[1])
    return Figures(market, other + virtual, debt)


def held_of(state: MarginAccount) -> dict[str, int]:
    held: dict[str, int] = defaultdict(int)
    for code, minor in (*state.cash, *state.collateral):
        held[code] += minor
    return dict(held)


def owed_of(state: MarginAccount) -> dict[str, int]:
    owed: dict[str, int] = defaultdict(int)
    for balances in (state.principal, state.accrued_interest, state.unpaid_fees, state.shortfall):
        for code, minor in balances:
            owed[code] += minor
    return dict(owed)


def unfresh(
    held: Mapping[str, int],
    owed: Mapping[str, int],
    prices: Mapping[str, ev.PricePoint],
    now: datetime,
) -> list[str]:
    """The assets a risk decision rests on (every currency owed, every held asset with
    marginable value) whose price is missing or older than the staleness window."""
    oldest = now - timedelta(seconds=POLICY.price_staleness_seconds)
    relevant = {c for c, m in owed.items() if m} | {
        c for c, m in held.items() if m and HAIRCUT.get(c, Decimal(1)) < 1
    }
    bad = []
    for code in sorted(relevant - {"HKD"}):
        point = prices.get(code)
        if point is None or point.observed_at < oldest:
            bad.append(code)
    return bad


def unpriced(
    held: Mapping[str, int], owed: Mapping[str, int], prices: Mapping[str, ev.PricePoint]
) -> list[str]:
    """The assets a risk decision rests on that have no price at all (a check waits)."""
    relevant = {c for c, m in owed.items() if m} | {
        c for c, m in held.items() if m and HAIRCUT.get(c, Decimal(1)) < 1
    }
    return sorted(relevant - {"HKD"} - set(prices))


def in_hkd(amounts: Mapping[str, int], prices: Mapping[str, ev.PricePoint]) -> int:
    """Loans per currency in HKD minor units, each currency rounded up."""
    total = 0
    for code, minor in amounts.items():
        ratio = _per_minor(code, prices)
        assert ratio is not None, f"loans in {code} with no price"
        total += -(-minor * ratio[0] // ratio[1])
    return total


def end_of_hk_day(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=HK)


_ATOMS = (int, str, date, Enum, type(None))  # bool is an int, datetime a date


def no_floats(value: object, where: str) -> None:
    """Invariant 8: ints, finite Decimals, dates, strings and enums only."""
    if isinstance(value, _ATOMS):
        return
    if isinstance(value, float):
        raise AssertionError(f"a float at {where}: {value!r}")
    if isinstance(value, Decimal):
        assert value.is_finite(), f"a non-finite Decimal at {where}: {value!r}"
    elif isinstance(value, tuple | list):
        for index, item in enumerate(value):
            no_floats(item, f"{where}[{index}]")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            no_floats(key, f"{where} key")
            no_floats(item, f"{where}[{key!r}]")
    else:
        names = getattr(value, "__dataclass_fields__", None)
        assert names is not None, f"an unexpected {type(value).__name__} at {where}"
        for name in names:
            no_floats(getattr(value, name), f"{where}.{name}")


# ------------------------------------------------------------------------------ the world


def _pct(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rng.randint(low, high)) / 100


@dataclass
class World:
    seed: int
    rng: random.Random
    now: datetime = START
    requests: int = 0
    prices: dict[str, ev.PricePoint] = field(default_factory=dict)
    outage: dict[str, int] = field(default_factory=dict)  # asset -> price moves left dark
    accounts: dict[str, MarginAccount] = field(default_factory=dict)
    history: dict[str, list[ev.Event]] = field(default_factory=lambda: defaultdict(list))
    exposure: BrokerExposure = field(default_factory=BrokerExposure)
    exposure_history: list[ev.Event] = field(default_factory=list)
    ledger: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    # The facility's terms and the principal in its currency, at each change: what held at
    # the end of each day (the principal as the lending handler reads it from the stream).
    timeline: dict[str, list[tuple[datetime, Terms]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    first_draw_day: dict[str, date] = field(default_factory=dict)
    last_accrued: dict[str, date] = field(default_factory=dict)  # from InterestAccrued events
    refusals: Counter[str] = field(default_factory=Counter)
    refusals_by_command: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    touched: set[str] = field(default_factory=set)
    # What the stored streams replay to, and how many of their events that covers.
    replayed: dict[str, tuple[int, MarginAccount]] = field(default_factory=dict)
    replayed_exposure: tuple[int, BrokerExposure] = (0, BrokerExposure())

    def __post_init__(self) -> None:
        for code, text in START_PRICES.items():
            self.prices[code] = ev.PricePoint(code, "HKD", Decimal(text), self.now, "sim")

    # -------------------------------------------------------------------------- steps

    def step(self) -> None:
        self.touched = set()
        roll = self.rng.random()
        if roll < 0.07:
            self.next_day()
        elif roll < 0.10:
            self.now += timedelta(seconds=self.rng.randint(121, 900))  # the feed goes quiet
        elif roll < 0.35:
            self.now += timedelta(seconds=self.rng.randint(1, 20))
            self.move_prices(1)
            self.check_everyone()
        else:
            self.now += timedelta(seconds=self.rng.randint(1, 20))
            self.client_step()

    def move_prices(self, scale: int) -> None:
        """One tick of every feed not in an outage; sometimes a crash or a rebound."""
        shock: dict[str, Decimal] = {}
        roll = self.rng.random()
        if roll < 0.06:
            target = self.rng.choice([("BTC", "ETH"), ("ETH",), ("BTC",), (SEC,), ("BTC", SEC)])
            shock = dict.fromkeys(target, 1 - _pct(self.rng, 30, 60))
            self.outcomes["crash"] += 1
        elif roll < 0.10:
            target = self.rng.choice([("BTC", "ETH"), (SEC,), ("ETH",)])
            shock = dict.fromkeys(target, 1 + _pct(self.rng, 15, 60))
        for code in FEEDS:
            if self.outage.get(code, 0) > 0:
                self.outage[code] -= 1
                continue
            volatility = VOLATILITY_BP[code] * scale
            move = Decimal(10_000 + self.rng.randint(-volatility, volatility)) / 10_000
            price = self.prices[code].price * move * shock.get(code, Decimal(1))
            price = max(price.quantize(QUANTUM[code]), QUANTUM[code])
            if code == "USD":
                price = min(max(price, Decimal("7.7000")), Decimal("7.9000"))
            self.prices[code] = ev.PricePoint(code, "HKD", price, self.now, "sim")
        if self.rng.random() < 0.03:
            self.outage[self.rng.choice(FEEDS)] = self.rng.randint(2, 12)

    def next_day(self) -> None:
        """The clock moves on a day or more; the feed ticks, every account is checked (calls
        past their deadline liquidate), then interest accrues up to yesterday."""
        days = self.rng.choice([1, 1, 1, 1, 2, 3])
        self.now += timedelta(days=days, seconds=self.rng.randint(0, 1800))
        self.move_prices(3)
        self.check_everyone()
        for client in sorted(self.accounts):
            state = self.accounts[client]
            if state.facility_id is None or self.rng.random() < 0.15:
                continue  # not a borrower, or accrued late (it catches up on a later day)
            self.accrue(client, state)

    def check_everyone(self) -> None:
        for client in sorted(self.accounts):
            self.check_risk(client)

    # -------------------------------------------------------------------------- deciding

    def lending(self, client: str, command: d.Command) -> d.Decision | None:
        """The lending decision, or None when refused (counted by reason)."""
        self.requests += 1
        state = self.accounts.get(client, MarginAccount.initial(client))
        context = d.Context(
            self.now, POLICY, dict(self.prices), self.exposure, f"req-{self.requests}"
        )
        try:
            return d.decide(state, command, context)
        except DomainError as refusal:
            self._refused(command, refusal)
            return None

    def accounts_context(self) -> acc.Context:
        return acc.Context(
            self.now, POLICY.minimum_credit_grade, AdvanceTest(POLICY, dict(self.prices))
        )

    def account_decision(self, command: acc.Command) -> list[ev.Event] | None:
        state = self.accounts.get(command.client_id, MarginAccount.initial(command.client_id))
        try:
            return acc.decide(state, command, self.accounts_context())
        except DomainError as refusal:
            self._refused(command, refusal)
            return None

    def _refused(self, command: object, refusal: DomainError) -> None:
        self.refusals[refusal.reason] += 1
        self.refusals_by_command[f"{type(command).__name__}: {refusal.reason}"] += 1

    def apply(
        self, client: str, events: Iterable[ev.Event], exposure: Iterable[ev.Event] = ()
    ) -> None:
        state = self.accounts.get(client, MarginAccount.initial(client))
        for event in events:
            assert isinstance(event, ev.AccountEvent) and event.client_id == client, event
            no_floats(event, type(event).__name__)
            after = evolve(state, event)
            self._check_transition(state, after, event)
            state = after
            self.history[client].append(event)
            for posting in ev.journal_of(event) or ():
                self.ledger[(posting.ledger_account, posting.asset)] += posting.amount
            if state.credit_limit is not None:
                loan = state.credit_limit.asset.code
                terms = Terms(loan, state.annual_rate, state.principal.get(loan))
                points = self.timeline[client]
                if not points or points[-1][1] != terms:
                    points.append((self.now, terms))
            self.outcomes[type(event).__name__] += 1
            if isinstance(event, ev.LiquidationStarted):
                self.outcomes[f"LiquidationStarted.{event.trigger.value}"] += 1
            if isinstance(event, ev.LoanAdvanced) and client not in self.first_draw_day:
                self.first_draw_day[client] = business_date(self.now)
        self.accounts[client] = state
        self.touched.add(client)
        for event in exposure:
            assert isinstance(event, ev.BrokerExposureChanged), event
            assert event.client_id == client, event
            no_floats(event, type(event).__name__)
            self.exposure = evolve_exposure(self.exposure, event)
            self.exposure_history.append(event)

    def _check_transition(
        self, before: MarginAccount, after: MarginAccount, event: ev.Event
    ) -> None:
        """Invariants 6 and 7, one event at a time."""
        if before.risk is not after.risk:
            edge = (before.risk, after.risk)
            assert edge in RISK_EDGES, f"{type(event).__name__} took risk {edge}"
        if isinstance(event, ev.LiquidationStarted):
            assert before.risk is MC, f"a liquidation from {before.risk} without a call"
        if isinstance(event, ev.LoanAdvanced):
            assert before.margin_call is None, "LoanAdvanced while a margin call is open"
            assert before.risk in (H, W, RiskState.RECOVERED), f"LoanAdvanced in {before.risk}"
            assert not before.advances_suspended, "LoanAdvanced while advances are suspended"
            assert not before.suspended, "LoanAdvanced on a suspended account"
            assert before.status is Lifecycle.ACTIVE, f"LoanAdvanced on a {before.status} account"
        if isinstance(event, ev.CashWithdrawn | ev.CollateralWithdrawn):
            assert before.margin_call is None, "a withdrawal while a margin call is open"
            assert before.risk in (H, W), f"a withdrawal in {before.risk}"
        if isinstance(event, ev.InterestAccrued):
            day, last = event.accrual_date, self.last_accrued.get(event.client_id)
            assert last is None or day > last, f"accrued {day} after {last}: twice or backwards"
            self.last_accrued[event.client_id] = day

    # -------------------------------------------------------------------------- risk

    def check_risk(self, client: str) -> None:
        before = self.accounts[client]
        decision = self.lending(client, d.CheckRisk(client))
        assert decision is not None, f"CheckRisk refused on {client}"
        assert not decision.exposure, "a risk check moved the broker's exposure"
        if decision.account:
            self.apply(client, decision.account)
            # The basis marks exactly the not-fresh prices the decision rested on.
            after = self.accounts[client]
            marked_expected = set(unfresh(held_of(after), owed_of(after), self.prices, self.now))
            for event in decision.account:
                basis = getattr(event, "basis", None)
                if isinstance(basis, ev.DecisionBasis):
                    marked = set(basis.stale_assets) | set(basis.closed_market_assets)
                    assert marked == marked_expected, f"basis marks {marked}"
        self._check_risk_outcome(before, self.accounts[client])

    def _check_risk_outcome(self, before: MarginAccount, after: MarginAccount) -> None:
        """Invariant 6: after a check at fresh prices the state is what the oracle implies."""
        if after.status is Lifecycle.CLOSED or before.risk in (LIQ, RiskState.DEFICIT):
            assert after == before, "a check changed a closed or liquidating account"
            return
        in_call = before.margin_call is not None or before.risk is MC
        if not after.has_debt and before.risk is not W and not in_call:
            assert after.risk in WATCHED_AS_HEALTHY, f"owes nothing but is {after.risk}"
            return
        held, owed = held_of(after), owed_of(after)
        if after.has_debt and unpriced(held, owed, self.prices):
            assert after == before, "a risk decision with a price missing altogether"
            return
        figures = oracle(held, owed, self.prices)
        implied = figures.implied
        if implied is ImpliedState.HEALTHY:
            assert after.risk in WATCHED_AS_HEALTHY, f"implied HEALTHY, recorded {after.risk}"
        elif implied is ImpliedState.WARNING:
            assert after.risk is W, f"implied WARNING, recorded {after.risk} ({figures})"
        elif implied is ImpliedState.MARGIN_CALL:
            assert after.risk in (MC, LIQ), f"implied MARGIN_CALL, recorded {after.risk}"
            assert after.margin_call is not None
            if after.risk is MC:
                assert self.now < after.margin_call.deadline, "a call left open past its deadline"
            else:
                assert self.now >= after.margin_call.deadline, "liquidated before the deadline"
        else:
            assert after.risk is LIQ, f"implied FORCED_SALE, recorded {after.risk} ({figures})"
        if after.margin_call is not None and before.margin_call is None:
            call = after.margin_call
            assert call.amount == Money(asset("HKD"), figures.debt - figures.marginable_value)

    # -------------------------------------------------------------------------- clients

    def client_step(self) -> None:
        """One client's command; mostly what a client in its position would do."""
        rng = self.rng
        called = sorted(c for c, a in self.accounts.items() if a.risk is MC)
        client = rng.choice(called if called and rng.random() < 0.3 else CLIENTS)
        state = self.accounts.get(client, MarginAccount.initial(client))
        if (not state.exists and rng.random() < 0.8) or rng.random() < 0.01:
            self.onboard(client)
            return
        actions: dict[str, Callable[[str, MarginAccount], None]] = {
            "deposit_cash": self.deposit_cash,
            "withdraw_cash": self.withdraw_cash,
            "deposit_collateral": self.deposit_collateral,
            "withdraw_collateral": self.withdraw_collateral,
            "approve": self.approve,
            "draw": self.draw,
            "repay": self.repay,
            "suspend": self.suspend,
            "resume": self.resume,
            "close": self.close,
        }
        if state.margin_call is not None and rng.random() < 0.5:
            kind = rng.choice(["deposit_collateral", "deposit_cash", "repay"])  # meet the call
        elif state.margin_call is not None and rng.random() < 0.2:
            kind = "draw"  # borrow through the call: refused (margin_call_open)
        elif state.suspended and rng.random() < 0.3:
            kind = "resume"
        elif state.facility_id is None and self._looks_eligible(state) and rng.random() < 0.5:
            kind = "approve"
        elif state.status is Lifecycle.APPLIED and rng.random() < 0.7:
            kind = rng.choice(["deposit_cash", "deposit_collateral", "withdraw_collateral"])
        elif state.exists and not state.collateral and rng.random() < 0.6:
            kind = "deposit_collateral"
        elif state.cash.get("HKD") + state.cash.get("USD") > 0 and rng.random() < 0.25:
            kind = "withdraw_cash"  # borrowed money is there to be spent
        else:
            kind = rng.choices(list(actions), weights=[5, 6, 16, 7, 3, 30, 10, 1, 1, 1])[0]
        if state.has_debt and rng.random() < 0.1:
            kind = "repay"
        if kind == "repay" and not state.has_debt and rng.random() < 0.8:
            kind = "draw"
        if kind == "draw" and not state.collateral and rng.random() < 0.7:
            kind = "deposit_collateral"
        actions[kind](client, state)

    @staticmethod
    def _looks_eligible(state: MarginAccount) -> bool:
        grade = state.credit_grade
        return (
            state.status is not Lifecycle.NOT_ONBOARDED
            and grade is not None
            and grade.at_least(POLICY.minimum_credit_grade)
            and None not in (state.securities_account_id, state.agreement_version)
            and state.disclosure_version is not None
        )

    def onboard(self, client: str) -> None:
        rng = self.rng
        complete = rng.random() < 0.85

        def fact(value: str) -> str | None:
            return value if complete or rng.random() < 0.5 else None

        grade = rng.choice([*[CreditGrade.AAA, CreditGrade.AA, CreditGrade.A] * 2, CreditGrade.BBB])
        if rng.random() < 0.12:
            grade = rng.choice([CreditGrade.BB, CreditGrade.CCC, CreditGrade.D])
        command = acc.OnboardClient(
            client,
            fact(f"SMA-{client}"),
            f"CA-{client}",
            grade if complete or rng.random() < 0.5 else None,
            rng.choice([None, None, Money.of("HKD", "200000.00")]),
            fact("MA-2026"),
            fact("VARD-1"),
            # Drawn to keep each seed's walk; professional status needs evidence and a checker
            # (proposed after onboarding, not simulated): onboarding never grants it.
            rng.random() < 0.2 and False,
            GROUPS.get(client),
        )
        self._account_command(command)
        state = self.accounts.get(client)
        if state is not None:  # the grade and limit it proposed, approved by a second person
            self.apply(client, credit.approved(state, self.accounts_context()))

    def _account_command(self, command: acc.Command) -> None:
        events = self.account_decision(command)
        if events is None:
            return
        before = self.accounts.get(command.client_id, MarginAccount.initial(command.client_id))
        self.apply(command.client_id, events)
        after = self.accounts[command.client_id]
        if any(isinstance(e, ev.CashWithdrawn | ev.CollateralWithdrawn) for e in events):
            self._check_withdrawal(before, after)
        self.check_risk(command.client_id)

    def _check_withdrawal(self, before: MarginAccount, after: MarginAccount) -> None:
        """Invariant 5 for a withdrawal: the account as it is left passes the advance test."""
        held, owed = held_of(after), owed_of(after)
        if not any(owed.values()):
            return
        stale = unfresh(held, owed, self.prices, self.now)
        assert not stale, f"a withdrawal on stale prices of {stale}"
        figures = oracle(held, owed, self.prices)
        assert not figures.above(POLICY.max_advance_utilisation), (
            f"a withdrawal left U above the advance limit: {figures}"
        )

    def _amount(self, code: str, low_units: int, high_units: int) -> Money:
        which = asset(code)
        return Money(which, self.rng.randint(low_units * which.unit, high_units * which.unit))

    def _some_of(self, code: str, held: int, whole: int) -> Money:
        """Mostly within the holding, sometimes all of it, sometimes beyond (refused)."""
        roll = self.rng.random()
        if held > 0 and roll < 0.65:
            return Money(asset(code), self.rng.randint(1, held))
        if held > 0 and roll < 0.8:
            return Money(asset(code), held)
        return Money(asset(code), held + self.rng.randint(1, whole))

    def deposit_cash(self, client: str, state: MarginAccount) -> None:
        code = self.rng.choice(["HKD", "HKD", "USD"])
        amount = (
            self._amount(code, 1_000, 300_000) if code == "HKD" else self._amount(code, 100, 40_000)
        )
        self._account_command(acc.DepositCash(client, amount, "bank"))

    def withdraw_cash(self, client: str, state: MarginAccount) -> None:
        loan = state.credit_limit.asset.code if state.credit_limit is not None else "HKD"
        code = loan if self.rng.random() < 0.8 else self.rng.choice(CASH)
        amount = self._some_of(code, state.cash.get(code), 100_000)
        self._account_command(acc.WithdrawCash(client, amount, "bank"))

    def deposit_collateral(self, client: str, state: MarginAccount) -> None:
        code = self.rng.choice(["BTC", "ETH", SEC, SEC, SEC, ILLIQUID])
        which = asset(code)
        if code == "BTC":
            quantity = Money(which, self.rng.randint(1_000_000, 100_000_000))  # 0.01-1 BTC
        elif code == "ETH":
            quantity = Money(which, self.rng.randint(1, 60) * 10**17)  # 0.1-6 ETH
        else:
            quantity = Money(which, self.rng.randint(50, 2_500))
        self._account_command(acc.DepositCollateral(client, quantity, "custody"))

    def withdraw_collateral(self, client: str, state: MarginAccount) -> None:
        code = self.rng.choice(COLLATERAL)
        whole = 100 if asset(code).scale == 0 else asset(code).unit // 10
        quantity = self._some_of(code, state.collateral.get(code), whole)
        self._account_command(acc.WithdrawCollateral(client, quantity, "custody"))

    def suspend(self, client: str, state: MarginAccount) -> None:
        self._account_command(acc.SuspendAccount(client, "sim"))

    def resume(self, client: str, state: MarginAccount) -> None:
        self._account_command(acc.ResumeAccount(client, "sim"))

    def close(self, client: str, state: MarginAccount) -> None:
        self._account_command(acc.CloseAccount(client))

    def approve(self, client: str, state: MarginAccount) -> None:
        rng = self.rng
        code = "USD" if rng.random() < 0.2 else "HKD"
        if rng.random() < 0.03:
            code = "BTC"  # not a cash asset: refused
        if code == "HKD":
            limit = self._amount(code, 50_000, 1_500_000)
        else:
            limit = self._amount(code, 5_000, 200_000)
        rate = Decimal(rng.choice(["0", "0.05", "0.08", "0.08", "0.12", "0.2"]))
        if rng.random() < 0.02:
            rate = Decimal("1.5")  # refused
        # The credit officers first approve a limit to lend within (a maker and a checker),
        # in the loan currency; sometimes none, or one below the facility: refused.
        approved = state.approved_credit_limit
        owed_elsewhere = any(c != code and minor != 0 for c, minor in state.debt)
        needed = approved is None or approved.asset != limit.asset or approved < limit
        if limit.asset.is_cash and needed and not owed_elsewhere and rng.random() < 0.85:
            within = limit if rng.random() < 0.5 else Money(limit.asset, limit.minor * 2)
            self.approve_credit_limit(client, state, within)
        facility = f"F-{client}-{self.requests}"
        if self._lending_command(client, d.ApproveFacility(client, facility, limit, rate)):
            # A facility lends within the limit two principals approved, never above it.
            approved = self.accounts[client].approved_credit_limit
            assert approved is not None and approved.asset == limit.asset, (client, approved)
            assert limit <= approved, f"{client}: a facility of {limit} above {approved}"

    def approve_credit_limit(self, client: str, state: MarginAccount, limit: Money) -> None:
        """A credit limit proposed by a maker and approved by a checker (accounts service)."""
        try:
            events = credit.recorded(state, limit, self.accounts_context())
        except DomainError as refusal:
            self._refused(acc.ProposeClientFact(client, "", limit), refusal)
            return
        self.apply(client, events)

    def draw(self, client: str, state: MarginAccount) -> None:
        """Mostly around what the client may still borrow (the smaller of its advance
        headroom and its credit limit left), sometimes far beyond it."""
        rng = self.rng
        loan = state.credit_limit.asset.code if state.credit_limit is not None else "HKD"
        ratio = _per_minor(loan, self.prices)
        figures = oracle(held_of(state), owed_of(state), self.prices)
        headroom = figures.marginable_value * 9 // 10 - figures.debt  # HKD minor units
        if state.credit_limit is not None and ratio is not None:
            left = state.credit_limit.minor - state.debt.get(loan)
            headroom = min(headroom, left * ratio[0] // ratio[1])
        roll = rng.random()
        if roll < 0.75 and headroom > 0:
            hkd = headroom * rng.randint(30, 125) // 100
        elif roll < 0.9:
            hkd = rng.randint(1, 100_000_000)
        else:
            hkd = rng.randint(1, 10_000)
        minor = hkd * ratio[1] // ratio[0] if ratio is not None else hkd
        amount = Money(asset(loan), max(minor, 1))
        roll = rng.random()
        if roll < 0.03:
            amount = Money(asset("USD" if loan == "HKD" else "HKD"), amount.minor)  # refused
        elif roll < 0.05:
            amount = Money(asset(loan), 0)  # refused
        before = state
        if self._lending_command(client, d.DrawLoan(client, amount)):
            self._check_draw(before, self.accounts[client], amount)
            if rng.random() < 0.6:  # borrowed to be spent: paid out at once
                self._account_command(acc.WithdrawCash(client, amount, "bank"))

    def _check_draw(self, before: MarginAccount, after: MarginAccount, amount: Money) -> None:
        """Invariants 4 and 5 for an accepted draw."""
        limit = after.credit_limit
        assert limit is not None and limit.asset == amount.asset
        owed = after.debt.get(limit.asset.code)
        assert owed <= limit.minor, f"a draw took the debt to {owed}, above the limit {limit}"
        # U after, the proceeds not counted as collateral: today's holdings, the debt raised.
        held, owed_after = held_of(before), owed_of(after)
        stale = unfresh(held, owed_after, self.prices, self.now)
        assert not stale, f"a draw on stale prices of {stale}"
        figures = oracle(held, owed_after, self.prices)
        assert not figures.above(POLICY.max_advance_utilisation), (
            f"a draw took U above the advance limit: {figures}"
        )
        # Broker-wide limits, in HKD at this step's prices.
        total: dict[str, int] = defaultdict(int)
        group: dict[str, int] = defaultdict(int)
        mine = after.related_group_id or after.client_id
        for other in self.accounts.values():
            for code, minor in other.principal:
                total[code] += minor
                if (other.related_group_id or other.client_id) == mine:
                    group[code] += minor
        total_hkd, group_hkd = in_hkd(total, self.prices), in_hkd(group, self.prices)
        assert total_hkd <= POLICY.total_loans_limit.minor, (
            f"total margin loans {total_hkd} above {POLICY.total_loans_limit} after a draw"
        )
        assert group_hkd <= POLICY.single_client_limit_amount.minor, (
            f"group {mine} owes {group_hkd}, above {POLICY.single_client_limit_amount}"
        )

    def repay(self, client: str, state: MarginAccount) -> None:
        rng = self.rng
        loan = state.credit_limit.asset.code if state.credit_limit is not None else "HKD"
        which = asset(loan)
        owed = state.principal.get(loan) + state.accrued_interest.get(loan)
        owed += state.unpaid_fees.get(loan)
        cash = state.cash.get(loan)
        if owed > cash and state.exists and rng.random() < 0.6:
            # The client wires money in to repay with (part of) what it owes.
            wired = Money(which, rng.randint(1, owed - cash))
            self._account_command(acc.DepositCash(client, wired, "bank"))
            cash = self.accounts[client].cash.get(loan)
        roll = rng.random()
        if roll < 0.6 and min(owed, cash) > 0:
            amount = Money(which, rng.randint(1, min(owed, cash)))
        elif roll < 0.75 and owed > 0:
            amount = Money(which, owed)  # everything (refused if the cash is short)
        elif roll < 0.85:
            amount = Money(which, owed + 1)  # more than owed: refused
        else:
            amount = Money(which, rng.randint(1, 10**8))
        self._lending_command(client, d.RepayLoan(client, amount))

    def _lending_command(self, client: str, command: d.Command) -> bool:
        decision = self.lending(client, command)
        if decision is None:
            return False
        self.apply(client, decision.account, decision.exposure)
        self.check_risk(client)
        return True

    # -------------------------------------------------------------------------- interest

    def accrue(self, client: str, state: MarginAccount) -> None:
        """Every day to accrue up to yesterday (HK), with the principal at each day's end, as
        the lending handler builds them; sometimes a retry overlapping days already accrued,
        sometimes days out of order (refused)."""
        through = business_date(self.now) - timedelta(days=1)
        first = self.first_draw_day.get(client)
        roll = self.rng.random()
        last = None if roll < 0.1 else state.last_accrual_date  # a retry: overlapping days
        days = days_to_accrue(last, first, through)
        if roll > 0.97 and len(days) >= 2:
            days = days[::-1]
        terms = [self.terms_at_end_of(client, day) for day in days]
        accrual = [
            AccrualDay(day, t.principal, t.annual_rate) for day, t in zip(days, terms, strict=True)
        ]
        decision = self.lending(client, d.AccrueInterest(client, tuple(accrual)))
        if decision is None:
            return
        self._check_interest(state, dict(zip(days, terms, strict=True)), decision.account)
        self.apply(client, decision.account, decision.exposure)
        if decision.account:
            self.check_risk(client)

    def terms_at_end_of(self, client: str, day: date) -> Terms:
        """The loan currency, rate and principal recorded last before the end of ``day``."""
        end = end_of_hk_day(day)
        held = Terms("HKD", None, 0)
        for recorded_at, terms in self.timeline[client]:
            if recorded_at >= end:
                break
            held = terms
        return held

    def _check_interest(
        self, state: MarginAccount, days: dict[date, Terms], events: list[ev.Event]
    ) -> None:
        """Invariant 7, worked out again: each day after the last one accrued (and only those)
        accrues ceil(principal x rate / 365), in the loan currency and at the rate of the
        facility in force at the end of that day, on the principal at its end raised by
        whatever this batch capitalised before it (a day with no principal accrues nothing);
        after a month end's accrual, all interest outstanding is capitalised once."""
        assert state.credit_limit is not None
        last, already = state.last_accrual_date, state.last_capitalisation_date
        outstanding = state.accrued_interest.get(state.credit_limit.asset.code)
        capitalised = 0
        expected: list[tuple[str, date, int, int]] = []
        for day, terms in days.items():
            if last is not None and day <= last:
                continue  # accrued before: skipped, never twice
            rate = terms.annual_rate or Decimal(0)
            num, den = rate.as_integer_ratio()
            principal = terms.principal + capitalised if terms.principal > 0 else 0
            amount = -(-principal * num // (den * 365))
            if amount > 0:
                expected.append(("InterestAccrued", day, amount, principal))
                outstanding += amount
            month_end = (day + timedelta(days=1)).day == 1
            if month_end and (already is None or day > already) and outstanding > 0:
                expected.append(("InterestCapitalised", day, outstanding, 0))
                capitalised, outstanding = capitalised + outstanding, 0
        actual: list[tuple[str, date, int, int]] = []
        for event in events:
            if isinstance(event, ev.InterestAccrued):
                day = event.accrual_date
                terms = days[day]
                assert (event.amount.asset.code, event.annual_rate) == (
                    terms.currency,
                    terms.annual_rate,
                ), (
                    f"{event.client_id} accrued {day} at {event.annual_rate} in "
                    f"{event.amount.asset.code} ({event.amount} on {event.principal}), but the "
                    f"facility in force at the end of {day} lent {terms.currency} at "
                    f"{terms.annual_rate}: the terms approved later were applied to it"
                )
                actual.append(("InterestAccrued", day, event.amount.minor, event.principal.minor))
            elif isinstance(event, ev.InterestCapitalised):
                actual.append(("InterestCapitalised", event.period_end, event.amount.minor, 0))
            else:
                raise AssertionError(f"an accrual decided {event}")
        assert actual == expected, (
            f"{state.client_id}: the accrual decided {actual}, but the terms in force at the end "
            f"of each day ({_rates(days)}) give {expected}; the facility now lends "
            f"{state.credit_limit.asset.code} at {state.annual_rate}"
        )


def _rates(days: dict[date, Terms]) -> str:
    return ", ".join(
        f"{day}: {t.principal} {t.currency} at {t.annual_rate}" for day, t in days.items()
    )


# ------------------------------------------------------------------------------ invariants


def check_invariants(world: World, *, full: bool = False) -> None:
    """Every invariant over the whole world; per account, the ones that cost a walk over its
    history (postings, replay) for the accounts this step touched, or for all with ``full``.

    Replay: the event list of each stream is folded again *as stored* (``history``, the
    ``broker-exposure`` list), apart from the incrementally evolved state, and compared.
    Every step folds on from the previous step's replayed state (each event is folded
    once per run, so a long run stays linear); ``full`` replays every stream from its first
    event, and also round-trips every account through its snapshot.
    """
    # 1. trial balance over every journal ever applied.
    totals: dict[str, int] = defaultdict(int)
    for (_, code), amount in world.ledger.items():
        totals[code] += amount
    off = {code: total for code, total in totals.items() if total}
    assert not off, f"trial balance broken: {off}"
    principal: dict[str, int] = defaultdict(int)
    by_group: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for client, state in world.accounts.items():
        # 6. the call flags agree: a call suspends advances, and so does a grade below the
        # minimum (onboarding's, approved), each as its own cause.
        call = state.margin_call is not None
        if state.risk is MC:
            assert call and state.advances_suspended, f"{client} in MARGIN_CALL without a call"
        if call:
            assert state.risk in (MC, LIQ), f"{client} has a call but is {state.risk}"
        held = state.advances_held(MARGIN_CALL_HOLD)
        assert held == call, f"{client}: advances suspended for a call {held}, {call=}"
        grade = state.credit_grade
        weak = grade is not None and not grade.at_least(POLICY.minimum_credit_grade)
        assert state.advances_held(CREDIT_HOLD) == weak, f"{client}: credit hold, {grade=}"
        # 7. nothing held or owed is negative.
        for name in ("cash", "collateral", "principal", "accrued_interest", "unpaid_fees"):
            for code, minor in getattr(state, name):
                assert minor > 0, f"{client} {name} {code} is {minor}"
        group = state.related_group_id or client
        for code, minor in state.principal:
            principal[code] += minor
            by_group[group][code] += minor
    # 3. the broker's exposure is every client's principal, in total and per group.
    assert world.exposure.total.as_dict() == dict(principal), (
        f"exposure {world.exposure.total.as_dict()} != principal {dict(principal)}"
    )
    groups = {g: dict(amounts) for g, amounts in by_group.items()}
    exposed = {g: amounts.as_dict() for g, amounts in world.exposure.by_group.items()}
    assert exposed == groups, f"exposure by group {exposed} != principal by group {groups}"
    # 2. the exposure stream replays to the same state.
    if full:
        assert replay_exposure(world.exposure_history) == world.exposure, "exposure replay"
    count, replayed = world.replayed_exposure
    replayed = replay_exposure(world.exposure_history[count:], replayed)
    world.replayed_exposure = (len(world.exposure_history), replayed)
    assert replayed == world.exposure, "the broker-exposure stream replays to another state"
    for client in world.accounts if full else world.touched:
        state = world.accounts[client]
        # 2. balances are the client's own postings; the event list replays to the state.
        kinds = {
            "cash": (1, state.cash),
            "custody": (1, state.collateral),
            "loan": (-1, state.principal),
            "interest_receivable": (-1, state.accrued_interest),
            "fees_receivable": (-1, state.unpaid_fees),
            "shortfall": (-1, state.shortfall),
        }
        expected = {
            (f"client:{client}:{kind}", code): sign * minor
            for kind, (sign, balances) in kinds.items()
            for code, minor in balances
        }
        prefix = f"client:{client}:"
        posted = {k: v for k, v in world.ledger.items() if k[0].startswith(prefix) and v}
        assert posted == expected, f"{client}: ledger {posted} != state {expected}"
        history = world.history[client]
        count, replayed_account = world.replayed.get(client, (0, MarginAccount.initial(client)))
        for event in history[count:]:
            replayed_account = evolve(replayed_account, event)
        world.replayed[client] = (len(history), replayed_account)
        assert replayed_account == state, f"{client}: its stream replays to another state"
        if full:
            assert replay(client, history) == state, f"{client}: a full replay disagrees"
            assert from_snapshot(to_snapshot(state)) == state, f"{client}: snapshot round trip"
        # 8. no float in the state.
        no_floats(state, client)
    no_floats(world.exposure, "broker-exposure")


@cache
def simulate(seed: int, steps: int) -> World:
    world = World(seed, random.Random(seed))
    for step in range(1, steps + 1):
        try:
            world.step()
            check_invariants(world, full=step % FULL_CHECK_EVERY == 0 or step == steps)
        except Exception as broken:
            again = "" if steps == DEFAULT_STEPS else f" HARBOUR_SIM_STEPS={steps}"
            raise AssertionError(
                f"seed {seed} broke at step {step} ({world.now.isoformat()}): "
                f"{type(broken).__name__}: {broken}\n"
                f"replay: HARBOUR_SIM_SEED={seed}{again} "
                "pytest tests/unit/lending/test_lending_simulation.py"
            ) from broken
    return world


# ------------------------------------------------------------------------------ tests


@pytest.mark.parametrize("seed", SEEDS)
def test_random_business_keeps_every_invariant(seed: int) -> None:
    world = simulate(seed, STEPS)  # checked every step, and fully at the last
    # Every walk exercises both sides: loans advanced, and advances refused.
    assert world.outcomes["LoanAdvanced"] > 0 and world.outcomes["InterestAccrued"] > 0
    assert world.refusals["utilisation_too_high"] + world.refusals["credit_limit_exceeded"] > 0


def test_the_default_run_reaches_every_corner() -> None:
    """Over the default seeds, every rule this simulation checks was exercised."""
    outcomes: Counter[str] = Counter()
    refusals: Counter[str] = Counter()
    for seed in range(DEFAULT_SEEDS):
        world = simulate(seed, DEFAULT_STEPS)
        outcomes += world.outcomes
        refusals += world.refusals
    for event in (
        "LoanAdvanced",
        "LoanRepaid",
        "InterestAccrued",
        "InterestCapitalised",
        "EarlyWarningIssued",
        "EarlyWarningCleared",
        "MarginCallIssued",
        "MarginCallMet",
        "MarginCallExpired",
        "LiquidationStarted.forced_sale_threshold",
        "LiquidationStarted.call_deadline_passed",
        "CashWithdrawn",
        "CollateralWithdrawn",
    ):
        assert outcomes[event] > 0, f"no {event} in the default run"
    for reason in (
        "utilisation_too_high",
        "credit_limit_exceeded",
        "broker_limit_exceeded",
        "concentration_limit_exceeded",
        "stale_price",
        "margin_call_open",
        "liquidation_in_progress",
        "not_eligible",
        "insufficient_balance",
        "insufficient_collateral",
        "credit_limit_not_approved",
        "facility_above_approved_credit_limit",
    ):
        assert refusals[reason] > 0, f"no {reason} refusal in the default run"


def test_the_same_seed_replays_exactly() -> None:
    first, second = World(7, random.Random(7)), World(7, random.Random(7))
    for _ in range(150):
        first.step()
        second.step()
    assert first.accounts == second.accounts and first.ledger == second.ledger
    assert first.exposure == second.exposure and first.refusals == second.refusals


def test_the_oracle_assumes_the_simulated_policy() -> None:
    for code in (*CASH, *COLLATERAL):
        assert POLICY.haircut(code) == HAIRCUT.get(code, Decimal(1)), code
    assert POLICY.total_loans_limit == Money.of("HKD", "1500000.00")
    assert POLICY.single_client_limit_amount == Money.of("HKD", "500000.00")
