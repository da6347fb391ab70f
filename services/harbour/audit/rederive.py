"""Decisions re-derived: every recorded decision decided again from the basis it recorded.

A decision event records what it rested on (docs/audit.md): the policy version, every
price, the instant. An auditor should not have to trust that the figures in the event follow
from that basis, nor that the basis is what the system really knew. This module re-decides
each decision from recorded facts only and reports every one that does not re-derive:

* the **basis** — the policy version must have been approved before the decision (it is
  looked up in the policy history folded so far), and every price it records must be a
  ``PriceObserved`` on that asset's price stream, before the decision, with that price;
* ``LoanAdvanced`` — the advance test on the account as it stood when the decision began,
  under the recorded policy version and prices, must allow the draw (and the credit limit
  must hold), give the same ``RiskFigures`` and the same basis; its postings must be an
  advance of the amount;
* ``EarlyWarningIssued``/``EarlyWarningCleared``/``MarginCallIssued``/``MarginCallMet``/
  ``LiquidationStarted``/``LiquidationCompleted`` — the valuation of the account when the
  decision began, under the recorded basis, must give the recorded figures, and the state
  it implies must be the one the event moves to (a warning is WARNING, a call is MARGIN_CALL
  or worse with call amount D - CV and a deadline that many business days on, a forced sale
  is at the forced-sale level or after the call's deadline, a completion at its target or
  cured, ...); the stale and closed-market assets the basis marks must be the ones there were;
* ``LiquidationFillExecuted`` — an affiliated counterparty's price is at least the best
  independent quote it recorded; proceeds = floor(quantity x price) to the cent; fee =
  ceil(proceeds x the policy's liquidation fee) to the cent; the postings match;
* ``InterestAccrued`` — amount = ceil(principal x rate / 365) to the minor unit, exactly as
  ``harbour.ledger.interest`` computes it, and the postings match.

"When the decision began": a decision may append several events to the account at once
(a margin call, the advance suspension and a forced sale), so the events of one append are
judged on the state before the first of them — the state the decider saw.

Pure: no I/O, no clock. Feed :class:`Recorded` events of every stream in global position
order (a stream's events in version order); the caller reads and decodes them. The risk
basis rule and the sale arithmetic are restated here, not imported, because the audit service
may not depend on the lending or liquidation services (the layers contract); tests hold them to
the same answers (the lending decider's in tests/unit/audit, the engine's fills end to end).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal

from harbour.ledger import events as ev
from harbour.ledger import journals
from harbour.ledger.account import MarginAccount, evolve
from harbour.ledger.advance import AdvanceTest, stale_decision_assets
from harbour.ledger.assets import REPORTING_CURRENCY
from harbour.ledger.calendar import (
    HKEX,
    MarketCalendar,
    calendar_stream,
    evolve_calendar,
    hkex_calendar,
)
from harbour.ledger.errors import DomainError
from harbour.ledger.forced_sale import at_or_below, liquidation_fee, proceeds_of
from harbour.ledger.interest import daily_interest
from harbour.ledger.money import Money
from harbour.ledger.policy import POLICY_STREAM, CollateralPolicy, PolicyHistory, evolve_policy
from harbour.ledger.valuation import Holdings, ImpliedState, PriceBook, Valuation, holdings_of

ACCOUNT_PREFIX = "account-"
_HKD = REPORTING_CURRENCY
_CALENDAR_STREAM = calendar_stream(HKEX)
_CALLED = (ImpliedState.MARGIN_CALL, ImpliedState.FORCED_SALE)
_NOT_CALLED = (ImpliedState.HEALTHY, ImpliedState.WARNING)


@dataclass(frozen=True)
class Recorded:
    """One stored event as the re-derivation needs it."""

    position: int
    stream_id: str
    version: int
    recorded_at: datetime
    decision: str  # the same for every event one append wrote (its request and instant)
    event: ev.Event


@dataclass(frozen=True)
class Discrepancy:
    """A recorded decision that does not re-derive, and why."""

    position: int
    stream_id: str
    version: int
    event_type: str
    reason: str

    def describe(self) -> str:
        return (
            f"DOES NOT RE-DERIVE at position {self.position} ({self.stream_id} "
            f"v{self.version} {self.event_type}): {self.reason}"
        )


class _Unverifiable(Exception):
    """The basis itself cannot be re-established: nothing further can be re-derived."""


@dataclass
class _Account:
    state: MarginAccount
    decision: str | None = None
    at_decision: MarginAccount | None = None  # the state the current append was decided on


@dataclass
class Rederivation:
    """Feed every event in position order; read ``discrepancies`` and ``checked``."""

    policy: PolicyHistory = field(default_factory=PolicyHistory)
    calendar: MarketCalendar = field(default_factory=hkex_calendar)
    discrepancies: list[Discrepancy] = field(default_factory=list)
    checked: Counter[str] = field(default_factory=Counter)  # decisions re-derived, per type
    events_read: int = 0
    # (asset, observed_at) -> (price, quote asset) of every accepted observation so far.
    _observed: dict[tuple[str, datetime], tuple[Decimal, str]] = field(default_factory=dict)
    _accounts: dict[str, _Account] = field(default_factory=dict)

    @property
    def decisions_checked(self) -> int:
        return sum(self.checked.values())

    def feed(self, recorded: Recorded) -> None:
        self.events_read += 1
        event, stream = recorded.event, recorded.stream_id
        if stream == POLICY_STREAM:
            self._policy_event(recorded)
        elif stream == _CALENDAR_STREAM:
            self.calendar = evolve_calendar(self.calendar, event)
        elif isinstance(event, ev.PriceObserved):
            self._observed[(event.base_asset, event.observed_at)] = (
                event.price,
                event.quote_asset,
            )
        elif isinstance(event, ev.AccountEvent) and stream.startswith(ACCOUNT_PREFIX):
            self._account_event(recorded, event)

    def _policy_event(self, recorded: Recorded) -> None:
        try:
            self.policy = evolve_policy(self.policy, recorded.event)
        except (KeyError, DomainError, ValueError) as bad:
            # An approval of a proposal never made: the history goes on without it.
            self._report(recorded, f"the policy history cannot take this event: {bad!r}")

    def _account_event(self, recorded: Recorded, event: ev.AccountEvent) -> None:
        track = self._accounts.get(recorded.stream_id)
        if track is None:
            client = recorded.stream_id.removeprefix(ACCOUNT_PREFIX)
            track = self._accounts[recorded.stream_id] = _Account(MarginAccount.initial(client))
        if recorded.decision != track.decision or track.at_decision is None:
            track.decision, track.at_decision = recorded.decision, track.state
        check = _CHECKS.get(type(event))
        if check is not None:
            self.checked[type(event).__name__] += 1
            try:
                reasons = check(self, recorded, track.at_decision, track.state)
            except _Unverifiable as unverifiable:
                reasons = [str(unverifiable)]
            for reason in reasons:
                self._report(recorded, reason)
        track.state = evolve(track.state, event)

    def _report(self, recorded: Recorded, reason: str) -> None:
        self.discrepancies.append(
            Discrepancy(
                recorded.position,
                recorded.stream_id,
                recorded.version,
                type(recorded.event).__name__,
                reason,
            )
        )

    # ----------------------------------------------------------------------------- basis

    def _basis(
        self, basis: ev.DecisionBasis
    ) -> tuple[CollateralPolicy, dict[str, ev.PricePoint], list[str]]:
        """The recorded policy version and prices, with what is wrong with them."""
        policy = self.policy.version(basis.policy_version)
        if policy is None:
            raise _Unverifiable(
                f"its basis names policy version {basis.policy_version}, which had not been "
                f"approved (the latest then was {self.policy.latest.version})"
            )
        problems: list[str] = []
        prices: dict[str, ev.PricePoint] = {}
        for point in basis.prices:
            if point.base_asset in prices:
                problems.append(f"its basis lists two {point.base_asset} prices")
            prices[point.base_asset] = point
            seen = self._observed.get((point.base_asset, point.observed_at))
            when = point.observed_at.isoformat()
            if seen is None:
                problems.append(
                    f"its basis uses a {point.base_asset} price of {point.price} observed at "
                    f"{when}, but no such observation was recorded before it"
                )
            elif seen != (point.price, point.quote_asset):
                problems.append(
                    f"its basis uses a {point.base_asset} price of {point.price} "
                    f"{point.quote_asset} observed at {when}; the price recorded then was "
                    f"{seen[0]} {seen[1]}"
                )
        return policy, prices, problems


# --------------------------------------------------------------------------------- checks

Check = Callable[[Rederivation, Recorded, MarginAccount, MarginAccount], list[str]]


def _loan_advanced(
    audit: Rederivation, recorded: Recorded, start: MarginAccount, _: MarginAccount
) -> list[str]:
    event = recorded.event
    assert isinstance(event, ev.LoanAdvanced)
    policy, prices, problems = audit._basis(event.basis)
    amount = event.amount
    limit = start.credit_limit
    owed_after = start.debt.get(amount.asset.code) + amount.minor
    if limit is None or limit.asset != amount.asset:
        problems.append(f"no facility lent {amount.asset.code} to the client then")
    elif owed_after > limit.minor:
        problems.append(
            f"the client would owe {Money(amount.asset, owed_after)}, above its credit limit "
            f"of {limit}"
        )
    try:
        figures, basis = AdvanceTest(policy, prices).check_draw(
            start, amount, event.basis.decided_at
        )
    except DomainError as refused:
        problems.append(f"the advance test refuses it on its own basis: {refused.message}")
    except ValueError as bad:
        problems.append(f"its basis cannot value the account: {bad}")
    else:
        problems += _same_figures(event.risk_after, figures)
        problems += _same_basis(event.basis, basis)
    problems += _same_journal(event.journal, lambda: journals.loan_advance(start.client_id, amount))
    return problems


def _risk_decision(
    audit: Rederivation, recorded: Recorded, start: MarginAccount, before: MarginAccount
) -> list[str]:
    """A risk decision (a warning, a call, a cure, a forced sale, a completion)."""
    event = recorded.event
    assert isinstance(
        event,
        ev.EarlyWarningIssued
        | ev.EarlyWarningCleared
        | ev.MarginCallIssued
        | ev.MarginCallMet
        | ev.LiquidationStarted
        | ev.LiquidationCompleted,
    )
    policy, prices, problems = audit._basis(event.basis)
    now = event.basis.decided_at
    holdings = holdings_of(start)
    try:
        book = PriceBook(prices, policy, now)
        valuation = book.value(holdings)
    except (DomainError, ValueError) as bad:
        return [*problems, f"its basis cannot value the account: {bad}"]
    problems += _same_figures(event.risk, valuation.figures())
    if _made_by_risk_check(event):
        expected = _risk_basis(valuation, holdings, policy, now, audit.calendar)
    else:
        expected = valuation.basis(now)  # the liquidation engine marks nothing stale
    problems += _same_basis(event.basis, expected)
    match event:
        case ev.EarlyWarningIssued():
            problems += _implies(valuation, (ImpliedState.WARNING,), "a warning")
        case ev.EarlyWarningCleared():
            problems += _implies(valuation, (ImpliedState.HEALTHY,), "a cleared warning")
        case ev.MarginCallIssued():
            problems += _margin_call(event, valuation, policy, audit.calendar)
        case ev.MarginCallMet():
            problems += _implies(valuation, _NOT_CALLED, "a met call")
        case ev.LiquidationStarted():
            problems += _liquidation_started(event, valuation, policy, start)
        case ev.LiquidationCompleted():
            problems += _liquidation_completed(event, book, policy, start, before)
    return problems


def _made_by_risk_check(event: ev.Event) -> bool:
    if isinstance(event, ev.LiquidationStarted):
        return event.trigger is not ev.LiquidationTrigger.OPERATOR
    return not isinstance(event, ev.LiquidationCompleted)


def _risk_basis(
    valuation: Valuation,
    holdings: Holdings,
    policy: CollateralPolicy,
    now: datetime,
    calendar: MarketCalendar,
) -> ev.DecisionBasis:
    """The basis the risk check records: not-fresh prices marked as a closed market's last
    close or as stale (the rule of ``harbour.lending.domain``, restated: see the docstring)."""
    not_fresh = stale_decision_assets(valuation, holdings, policy)
    if not not_fresh:
        return valuation.basis(now)
    window = timedelta(seconds=policy.price_staleness_seconds)
    used = {point.base_asset: point for point in valuation.prices}
    closed = tuple(
        code
        for code in not_fresh
        if code in used and calendar.valued_at_last_close(used[code], now, window)
    )
    stale = tuple(code for code in not_fresh if code not in closed)
    return replace(valuation.basis(now), stale_assets=stale, closed_market_assets=closed)


def _implies(valuation: Valuation, states: tuple[ImpliedState, ...], what: str) -> list[str]:
    if valuation.state in states:
        return []
    return [
        f"its basis implies {valuation.state.value} (utilisation "
        f"{_ratio(valuation.utilisation)}), not {what}"
    ]


def _margin_call(
    event: ev.MarginCallIssued,
    valuation: Valuation,
    policy: CollateralPolicy,
    calendar: MarketCalendar,
) -> list[str]:
    problems = _implies(valuation, _CALLED, "a margin call")
    amount = Money(_HKD, valuation.call_amount)
    if event.call_amount != amount:
        problems.append(f"its call amount is {event.call_amount}; D - CV re-derives to {amount}")
    deadline = calendar.business_days_after(
        event.basis.decided_at, policy.margin_call_deadline_days
    )
    if event.deadline != deadline:
        problems.append(
            f"its deadline is {event.deadline.isoformat()}; "
            f"{policy.margin_call_deadline_days} business day(s) on is {deadline.isoformat()}"
        )
    return problems


def _liquidation_started(
    event: ev.LiquidationStarted,
    valuation: Valuation,
    policy: CollateralPolicy,
    start: MarginAccount,
) -> list[str]:
    problems: list[str] = []
    if event.target_utilisation != policy.liquidation_target_utilisation:
        problems.append(
            f"its target is {event.target_utilisation}; policy version {policy.version} "
            f"sets {policy.liquidation_target_utilisation}"
        )
    trigger = event.trigger
    if trigger is ev.LiquidationTrigger.FORCED_SALE_THRESHOLD:
        problems += _implies(valuation, (ImpliedState.FORCED_SALE,), "the forced-sale level")
    elif trigger is ev.LiquidationTrigger.CALL_DEADLINE_PASSED:
        call = start.margin_call
        if call is None:
            problems.append("no margin call was open whose deadline could pass")
        elif event.basis.decided_at < call.deadline:
            problems.append(
                f"it was decided at {event.basis.decided_at.isoformat()}, before the call's "
                f"deadline {call.deadline.isoformat()}"
            )
        problems += _implies(valuation, _CALLED, "a call still unmet")
    elif not start.has_debt:
        problems.append("an operator's liquidation of an account that owes nothing")
    return problems


def _liquidation_completed(
    event: ev.LiquidationCompleted,
    book: PriceBook,
    policy: CollateralPolicy,
    start: MarginAccount,
    before: MarginAccount,
) -> list[str]:
    progress = start.liquidation
    if progress is None or progress.liquidation_id != event.liquidation_id:
        return [f"liquidation {event.liquidation_id} was not running"]
    # Judged on the account just before the event: a sale that ends with cash settling the
    # whole debt applies the cash first, in the same append.
    try:
        now = book.value(holdings_of(before))
    except (DomainError, ValueError) as bad:
        return [f"its basis cannot value the account: {bad}"]
    if event.outcome == "target_reached":
        if not at_or_below(now, progress.target_utilisation):
            return [
                f"target_reached, but utilisation is {_ratio(now.utilisation)} above the "
                f"target {progress.target_utilisation}"
            ]
        return []
    if event.outcome == "cured":
        if not at_or_below(now, policy.margin_call_utilisation):
            return [f"cured, but utilisation is {_ratio(now.utilisation)} above the call level"]
        if progress.fills and not progress.client_acted:
            return ["cured, but the engine had sold and the client had not acted"]
        return []
    return [f"unknown outcome {event.outcome!r}"]


def _fill(
    audit: Rederivation, recorded: Recorded, start: MarginAccount, _: MarginAccount
) -> list[str]:
    event = recorded.event
    assert isinstance(event, ev.LiquidationFillExecuted)
    problems: list[str] = []
    if event.affiliated and event.price < event.best_independent_quote:
        problems.append(
            f"the affiliated maker {event.counterparty} filled at {event.price}, below the "
            f"best independent quote {event.best_independent_quote}"
        )
    try:
        proceeds = proceeds_of(event.quantity.asset.code, event.quantity.minor, event.price)
    except (DomainError, ValueError, ArithmeticError) as bad:
        return [*problems, f"its proceeds cannot be worked out: {bad}"]
    if event.proceeds != proceeds:
        problems.append(
            f"its proceeds are {event.proceeds}; {event.quantity} at {event.price} is {proceeds}"
        )
    # The fee rate in force when the fill was settled (the policy may change in between: either
    # instant's version is an honest answer).
    rates = {
        audit.policy.as_of(at).liquidation_fee for at in (recorded.recorded_at, event.executed_at)
    }
    fees = {liquidation_fee(proceeds, rate) for rate in rates}
    if event.fee not in fees:
        shown = " or ".join(str(fee) for fee in sorted(fees, key=lambda fee: fee.minor))
        problems.append(f"its fee is {event.fee}; the policy's fee on {proceeds} is {shown}")
    problems += _same_journal(
        event.journal,
        lambda: journals.liquidation_fill(
            start.client_id,
            event.venue,
            quantity=event.quantity,
            proceeds=event.proceeds,
            fee=Money(event.proceeds.asset, 0),
        ),
    )
    return problems


def _interest(
    audit: Rederivation, recorded: Recorded, start: MarginAccount, _: MarginAccount
) -> list[str]:
    event = recorded.event
    assert isinstance(event, ev.InterestAccrued)
    problems: list[str] = []
    if audit.policy.version(event.policy_version) is None:
        problems.append(f"it names policy version {event.policy_version}, never approved then")
    if event.amount.asset != event.principal.asset:
        return [
            *problems,
            f"interest in {event.amount.asset.code} on a principal in {event.principal.asset.code}",
        ]
    try:
        due = daily_interest(event.principal.minor, event.annual_rate, event.principal.asset)
    except ValueError as bad:
        return [*problems, f"its interest cannot be worked out: {bad}"]
    if event.amount.minor != due:
        problems.append(
            f"{event.amount} of interest on {event.principal} at {event.annual_rate} a year; "
            f"one day ACT/365 rounded up is {Money(event.amount.asset, due)}"
        )
    problems += _same_journal(
        event.journal, lambda: journals.interest_accrual(start.client_id, event.amount)
    )
    return problems


_CHECKS: Mapping[type[ev.Event], Check] = {
    ev.LoanAdvanced: _loan_advanced,
    ev.EarlyWarningIssued: _risk_decision,
    ev.EarlyWarningCleared: _risk_decision,
    ev.MarginCallIssued: _risk_decision,
    ev.MarginCallMet: _risk_decision,
    ev.LiquidationStarted: _risk_decision,
    ev.LiquidationCompleted: _risk_decision,
    ev.LiquidationFillExecuted: _fill,
    ev.InterestAccrued: _interest,
}
DECISION_TYPES: frozenset[str] = frozenset(cls.__name__ for cls in _CHECKS)


# --------------------------------------------------------------------------------- comparing


def _same_figures(recorded: ev.RiskFigures, derived: ev.RiskFigures) -> list[str]:
    differences = [
        f"{name} {_shown(getattr(recorded, name))} (re-derived {_shown(getattr(derived, name))})"
        for name in ("market_value", "marginable_value", "debt", "utilisation")
        if getattr(recorded, name) != getattr(derived, name)
    ]
    if not differences:
        return []
    return ["its risk figures do not follow from its basis: " + "; ".join(differences)]


def _same_basis(recorded: ev.DecisionBasis, derived: ev.DecisionBasis) -> list[str]:
    problems: list[str] = []
    recorded_assets = [p.base_asset for p in recorded.prices]
    derived_assets = [p.base_asset for p in derived.prices]
    if recorded_assets != derived_assets:
        problems.append(
            f"its basis lists prices for {', '.join(recorded_assets) or 'nothing'}; the "
            f"decision rests on {', '.join(derived_assets) or 'none'}"
        )
    if recorded.stale_assets != derived.stale_assets:
        problems.append(
            f"its basis marks {list(recorded.stale_assets)} stale; they were "
            f"{list(derived.stale_assets)}"
        )
    if recorded.closed_market_assets != derived.closed_market_assets:
        problems.append(
            f"its basis marks {list(recorded.closed_market_assets)} at a closed market's last "
            f"close; they were {list(derived.closed_market_assets)}"
        )
    return problems


def _same_journal(recorded: object, expected: Callable[[], object]) -> list[str]:
    try:
        journal = expected()
    except (DomainError, ValueError) as bad:
        return [f"its amounts cannot be posted: {bad}"]
    return [] if recorded == journal else ["its postings are not those its amounts call for"]


def _shown(value: object) -> str:
    if value is None:
        return "unbounded"
    return str(value)


def _ratio(value: Decimal | None) -> str:
    return "unbounded" if value is None else str(value)
