"""The lending service's decisions: ``decide(state, command, context) -> Decision``.

Pure: no I/O, no clock (``context.now`` is an input), no transport. A decision is the events
for the client's stream (``account-<id>``) and for ``broker-exposure``; the handler appends
both in one statement at the versions it read, which is what makes the broker-wide limits
hold under concurrency (see ``harbour.ledger.exposure``). Every refusal is a domain error from
the kernel's closed vocabulary.

Refusal precedence — a command breaking several rules gets the first refusal in its list
(a closed list, in order, so clients and tests can rely on it):

DrawLoan
    1. account state: ``AccountNotFound``, ``AccountClosed``, ``AccountSuspended``,
       ``AccountNotActive`` (not yet ACTIVE), ``NotEligible`` (no approved facility, or the
       eligibility of ``who_may_borrow`` has lapsed, e.g. a downgraded credit grade, or the
       debt was written off), ``LiquidationInProgress``, ``MarginCallOpen`` (an open call, or
       a deficit), ``AdvancesBlocked`` (advances suspended without a call). An open call is
       reported before the advance suspension it causes: it tells the client what to do.
    2. amount shape: ``InvalidArgument`` on ``amount.asset`` (not the facility currency),
       ``AmountNotPositive`` on ``amount``;
    3. credit limit: ``CreditLimitExceeded`` (principal + interest + fees owed in the facility
       currency, after the draw, above the limit);
    4. prices: ``StalePrice`` (see ``harbour.ledger.advance``);
    5. utilisation: ``UtilisationTooHigh`` (U after > max advance utilisation, with the
       proceeds not counted as collateral);
    6. broker limits: ``BrokerLimitExceeded`` (total), then ``ConcentrationLimitExceeded``
       (single client or related group).

RepayLoan
    ``AccountNotFound``, ``AccountClosed``; ``InvalidArgument`` (not a cash asset; a currency
    nothing is owed in that is not the facility's), ``AmountNotPositive``; ``NothingToRepay``;
    ``InvalidArgument`` on ``amount`` ("at most X is owed": never silently capped);
    ``InsufficientBalance`` (the cash account pays). Repaying is allowed while suspended, in a
    margin call and while LIQUIDATING: repaying only ever lowers the debt, and the liquidation
    engine sizes each sale on the account as it then is, so a repayment just means it sells
    less. A shortfall in deficit is not repaid here but settled by debt recovery.

ApproveFacility
    ``AccountNotFound``, ``AccountClosed``, ``AccountSuspended``; ``NotEligible`` listing every
    unmet condition of ``who_may_borrow`` except ``credit_limit_missing`` (the approved limit
    is checked last, on its own); ``InvalidArgument`` on ``credit_limit.asset``,
    ``credit_limit``, ``annual_rate``; ``OutstandingDebt`` when the loan currency would change
    while anything is owed in another currency; then the approved credit limit (a maker's
    ``CreditLimitSet`` approved by a checker, ``MarginAccount.approved_credit_limit``):
    ``CreditLimitNotApproved`` when none is, or it is in another currency,
    ``FacilityAboveApprovedCreditLimit`` when the facility's limit is above it. One principal
    approves a facility, so it may only lend within what two approved: it never sets or raises
    the client's limit. Lowering the limit below what is owed is allowed (it only refuses
    future draws), and so is raising it again up to the approved limit.

AccrueInterest
    ``AccountNotFound``; ``NotEligible`` without a facility; ``InvalidArgument`` unless the days
    are strictly increasing. Days on or before the last accrual date are skipped, so a retried
    or overlapping run accrues each day once; in DEFICIT or WRITTEN_OFF interest has stopped.

CheckRisk (the margin-call state machine of docs/domain.md; never refuses an existing
account). Risk never sleeps: a stale price or a closed market's last close never holds a
decision back (HKEX is shut every night, weekend and holiday while BTC trades, and a silent
feed is exactly when prices move). The decision's basis records which assets were valued on a
stale price (``stale_assets``) and which at their market's last close
(``closed_market_assets``, see ``harbour.ledger.calendar``). No events when the account is
closed or owned by liquidation (LIQUIDATING, DEFICIT), when it owes nothing and is not in a
warning or call, or when a price it rests on is missing altogether: a currency owed, or a
held asset with marginable value, with no price at all (it could only be valued at 0, which
would call a margin on a feed gap; the monitor checks again when a price arrives).
Staleness still blocks advances and withdrawals (``harbour.ledger.advance``). Otherwise, from
the implied state of the valuation:

    HEALTHY  -> WARNING       EarlyWarningIssued
    WARNING  -> HEALTHY       EarlyWarningCleared
    HEALTHY | WARNING -> MARGIN_CALL
                              MarginCallIssued (call_id ``call-<reference>``, call amount D - CV
                              in HKD, deadline ``margin_call_deadline_days`` business days
                              later) + AdvancesSuspended
    HEALTHY | WARNING with U >= forced sale
                              the same call, then LiquidationStarted (FORCED_SALE_THRESHOLD)
                              in the same decision: the state machine's edges are kept
                              (a call precedes every liquidation and the client is notified),
                              but a gap through the forced-sale level is not left for the next
                              monitor tick, since the policy gives no grace at that level.
    MARGIN_CALL, U <= call level (implied HEALTHY or WARNING, even after the deadline: the
                              call is met)
                              MarginCallMet + AdvancesResumed (+ EarlyWarningIssued when
                              still above the warning level, since MarginCallMet means HEALTHY)
    MARGIN_CALL, U >= forced sale
                              (MarginCallExpired if the deadline has passed) +
                              LiquidationStarted (FORCED_SALE_THRESHOLD: it would liquidate
                              whatever the deadline)
    MARGIN_CALL, above the call level, now >= deadline
                              MarginCallExpired + LiquidationStarted (CALL_DEADLINE_PASSED)

CheckCredit (the credit hold, over time; never refuses an existing account)
    The assessment in force lapsed at ``now``, or its grade is below the policy's minimum:
    AdvancesSuspended (``credit_assessment_expired``, ``credit_grade_below_minimum``) unless
    the credit hold is recorded already; acceptable again while held: AdvancesResumed
    (``credit_assessment_acceptable``). The accounts service records the same hold when a
    checker approves an assessment (``harbour.ledger.eligibility.credit_hold``); the risk
    monitor runs this once a day and when the minimum grade changes. A margin call's hold and
    a credit hold are separate causes: each CheckRisk/CheckCredit lifts only its own.

RECOVERED and WRITTEN_OFF accounts are watched like HEALTHY ones (anything owed anew must be
margined). Deadlines count Hong Kong business days of the context's calendar: weekends, the
general holidays held as data and full-day closures recorded on ``calendar-HKEX`` are skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cached_property
from itertools import pairwise

from harbour.ledger import events as ev
from harbour.ledger import journals
from harbour.ledger.account import MARGIN_CALL_HOLD, Lifecycle, MarginAccount, RiskState
from harbour.ledger.advance import (
    AdvanceTest,
    decision_assets,
    require_no_margin_call,
    stale_decision_assets,
)
from harbour.ledger.assets import REPORTING_CURRENCY
from harbour.ledger.calendar import MarketCalendar, hkex_calendar
from harbour.ledger.decisions import Decision
from harbour.ledger.eligibility import (
    ACCOUNT_CLOSED,
    ACCOUNT_SUSPENDED,
    CREDIT_LIMIT_MISSING,
    credit_hold,
    who_may_borrow,
)
from harbour.ledger.errors import (
    AccountClosed,
    AccountNotActive,
    AccountNotFound,
    AccountSuspended,
    AdvancesBlocked,
    AmountNotPositive,
    CreditLimitExceeded,
    CreditLimitNotApproved,
    FacilityAboveApprovedCreditLimit,
    InsufficientBalance,
    InvalidArgument,
    NotEligible,
    NothingToRepay,
    OutstandingDebt,
    PriceUnavailable,
    StalePrice,
)
from harbour.ledger.exposure import (
    BrokerExposure,
    check_broker_limits,
    exposure_change,
    group_of,
)
from harbour.ledger.interest import AccrualDay, accrual_events
from harbour.ledger.money import Money
from harbour.ledger.policy import CollateralPolicy
from harbour.ledger.valuation import ImpliedState, PriceBook, Valuation, holdings_of

NO_MARGIN_FACILITY = "no_margin_facility"
DEBT_WRITTEN_OFF = "debt_written_off"

# --------------------------------------------------------------------------------- commands


@dataclass(frozen=True)
class ApproveFacility:
    client_id: str
    facility_id: str
    credit_limit: Money  # its asset is the loan currency
    annual_rate: Decimal


@dataclass(frozen=True)
class DrawLoan:
    client_id: str
    amount: Money


@dataclass(frozen=True)
class RepayLoan:
    client_id: str
    amount: Money


@dataclass(frozen=True)
class AccrueInterest:
    client_id: str
    days: tuple[AccrualDay, ...]


@dataclass(frozen=True)
class CheckRisk:
    client_id: str


@dataclass(frozen=True)
class CheckCredit:
    """Time moves without events: record the credit hold the assessment implies at ``now``
    (a lapsed assessment, or a grade below a raised minimum, suspends advances)."""

    client_id: str


Command = ApproveFacility | DrawLoan | RepayLoan | AccrueInterest | CheckRisk | CheckCredit


@dataclass(frozen=True)
class Context:
    now: datetime
    policy: CollateralPolicy  # the version in force at ``now``
    prices: Mapping[str, ev.PricePoint]  # latest observation per asset, in HKD
    exposure: BrokerExposure  # the state of ``broker-exposure`` the decision rests on
    reference: str  # the request id: exposure reference, and the seed of call/liquidation ids
    # Sessions, holidays and recorded closures: business days for deadlines, and which prices
    # are a closed market's last close. Default: the shipped calendar, no closure recorded.
    calendar: MarketCalendar = field(default_factory=hkex_calendar)

    @cached_property
    def book(self) -> PriceBook:
        """The prices and policy at ``now`` as one valuation book, built on first use: a
        context shared by many decisions (the risk screen) values every account against it,
        exactly as ``value_account`` would, without rebuilding it per account."""
        return PriceBook(self.prices, self.policy, self.now)


# --------------------------------------------------------------------------------- decide


def decide(state: MarginAccount, command: Command, context: Context) -> Decision:
    match command:
        case ApproveFacility():
            return _approve(state, command, context)
        case DrawLoan():
            return _draw(state, command, context)
        case RepayLoan():
            return _repay(state, command, context)
        case AccrueInterest():
            return _accrue(state, command, context)
        case CheckRisk():
            return _check_risk(state, context)
        case CheckCredit():
            if not state.exists:
                raise AccountNotFound(f"client {state.client_id} has no margin account")
            return Decision(credit_hold(state, context.policy.minimum_credit_grade, context.now))
    raise AssertionError(f"unhandled command {command!r}")  # pragma: no cover


# --------------------------------------------------------------------------------- facility


def _approve(state: MarginAccount, command: ApproveFacility, context: Context) -> Decision:
    _require_open(state)
    if state.suspended:
        raise AccountSuspended(f"the account of {state.client_id} is suspended")
    unmet = tuple(
        reason
        for reason in who_may_borrow(state, context.policy.minimum_credit_grade, context.now)
        if reason not in (CREDIT_LIMIT_MISSING, ACCOUNT_CLOSED, ACCOUNT_SUSPENDED)
    )
    if unmet:
        raise NotEligible(f"client may not borrow: {', '.join(unmet)}", (), unmet)
    limit = command.credit_limit
    if not limit.asset.is_cash:
        raise InvalidArgument.for_field(
            "credit_limit.asset", "must be a cash asset (HKD, USD, USDT): the loan currency"
        )
    if not limit.is_positive:
        raise AmountNotPositive.for_field("credit_limit", f"must be greater than zero, got {limit}")
    rate = command.annual_rate
    if not rate.is_finite() or not Decimal(0) <= rate <= Decimal(1):
        raise InvalidArgument.for_field("annual_rate", f"must be from 0 to 1, got {rate}")
    current = state.credit_limit
    other = [state.debt.money(code) for code, _ in state.debt if code != limit.asset.code]
    if other and current is not None and current.asset != limit.asset:
        owed = ", ".join(str(amount) for amount in other)
        raise OutstandingDebt(
            f"the client owes {owed}: repay it before changing the loan currency to "
            f"{limit.asset.code}"
        )
    _require_within_approved_limit(state, limit)
    event = ev.MarginFacilityApproved(
        state.client_id, command.facility_id, limit, rate, context.policy.version
    )
    return Decision([event])


def _require_within_approved_limit(state: MarginAccount, limit: Money) -> None:
    """A facility lends at most the credit limit a maker and a checker approved, in its
    currency (amounts of different currencies are never compared at a rate)."""
    approved = state.approved_credit_limit
    if approved is None:
        raise CreditLimitNotApproved(
            f"no credit limit of {state.client_id} is approved: a maker proposes one "
            "(ProposeClientFact) and a checker approves it (ApproveClientFact) before a "
            "facility is approved within it"
        )
    if approved.asset != limit.asset:
        raise CreditLimitNotApproved(
            f"the approved credit limit of {state.client_id} is {approved}: no limit in "
            f"{limit.asset.code} is approved for a facility of {limit}"
        )
    if limit > approved:
        raise FacilityAboveApprovedCreditLimit(
            f"a facility of {limit} is above the approved credit limit of {approved}: a "
            "higher limit is proposed and approved as a credit fact first"
        )


# --------------------------------------------------------------------------------- draw


def _draw(state: MarginAccount, command: DrawLoan, context: Context) -> Decision:
    # 1. account state
    facility = _require_may_draw(state, context.policy, context.now)
    # 2. amount shape
    amount = command.amount
    if amount.asset != facility.asset:
        raise InvalidArgument.for_field(
            "amount.asset", f"the facility lends {facility.asset.code}, not {amount.asset.code}"
        )
    if not amount.is_positive:
        raise AmountNotPositive.for_field("amount", f"must be greater than zero, got {amount}")
    # 3. credit limit: everything owed in the loan currency, after the draw
    owed_after = state.debt.money(amount.asset.code) + amount
    if owed_after > facility:
        raise CreditLimitExceeded(
            f"the client would owe {owed_after}, above its credit limit of {facility}"
        )
    # 4.-5. prices and utilisation (the proceeds are not counted as collateral)
    figures, basis = AdvanceTest(context.policy, context.prices).check_draw(
        state, amount, context.now
    )
    # 6. broker-wide limits, on the exposure total this decision will append after
    try:
        check_broker_limits(
            context.exposure, group_of(state), amount, context.prices, context.policy
        )
    except PriceUnavailable as missing:
        # The total is owed money in several currencies: without a price it cannot be bounded.
        raise StalePrice(f"the broker's exposure cannot be valued: {missing.message}") from None
    journal = journals.loan_advance(state.client_id, amount)
    return Decision(
        [ev.LoanAdvanced(state.client_id, amount, figures, basis, journal)],
        [exposure_change(state, amount, "advance", context.reference)],
    )


def _require_may_draw(state: MarginAccount, policy: CollateralPolicy, now: datetime) -> Money:
    """Rule group 1 of DrawLoan; returns the credit limit (its asset is the loan currency)."""
    _require_open(state)
    if state.suspended:
        raise AccountSuspended(
            f"the account of {state.client_id} is suspended: nothing may be advanced"
        )
    if state.status is not Lifecycle.ACTIVE:
        raise AccountNotActive(
            f"the account of {state.client_id} is not active: credit approval and a signed "
            "margin agreement come first"
        )
    unmet = [
        r for r in who_may_borrow(state, policy.minimum_credit_grade, now) if r != ACCOUNT_SUSPENDED
    ]
    if state.facility_id is None:
        unmet.append(NO_MARGIN_FACILITY)
    if state.risk is RiskState.WRITTEN_OFF:
        unmet.append(DEBT_WRITTEN_OFF)
    if unmet or state.credit_limit is None:
        reasons = tuple(unmet) or (CREDIT_LIMIT_MISSING,)
        raise NotEligible(f"client may not borrow: {', '.join(reasons)}", (), reasons)
    require_no_margin_call(state)
    if state.advances_suspended:
        raise AdvancesBlocked(f"advances are suspended on the account of {state.client_id}")
    return state.credit_limit


# --------------------------------------------------------------------------------- repay


def _repay(state: MarginAccount, command: RepayLoan, context: Context) -> Decision:
    _require_open(state)
    amount = command.amount
    code = amount.asset.code
    if not amount.asset.is_cash:
        raise InvalidArgument.for_field("amount.asset", "must be a cash asset (HKD, USD, USDT)")
    if not amount.is_positive:
        raise AmountNotPositive.for_field("amount", f"must be greater than zero, got {amount}")
    interest_owed = max(state.accrued_interest.get(code), 0)
    fees_owed = max(state.unpaid_fees.get(code), 0)
    principal_owed = max(state.principal.get(code), 0)
    owed = interest_owed + fees_owed + principal_owed
    if owed == 0:
        loan = state.credit_limit
        if loan is not None and loan.asset != amount.asset:
            raise InvalidArgument.for_field(
                "amount.asset", f"the loan is in {loan.asset.code}; nothing is owed in {code}"
            )
        if state.shortfall.get(code) > 0:
            raise NothingToRepay(
                f"the debt of {state.client_id} is a shortfall in deficit: it is settled by "
                "debt recovery, not by repayment"
            )
        raise NothingToRepay(f"{state.client_id} owes nothing in {code}")
    if amount.minor > owed:
        raise InvalidArgument.for_field(
            "amount", f"at most {Money(amount.asset, owed)} is owed; cannot repay {amount}"
        )
    held = state.cash.money(code)
    if amount > held:
        raise InsufficientBalance(f"cash balance is {held}; cannot repay {amount}")
    # Interest first, then fees, then principal.
    interest = min(amount.minor, interest_owed)
    fees = min(amount.minor - interest, fees_owed)
    principal = amount.minor - interest - fees
    journal = journals.repayment(
        state.client_id,
        interest=Money(amount.asset, interest),
        fees=Money(amount.asset, fees),
        principal=Money(amount.asset, principal),
    )
    exposure: list[ev.Event] = []
    if principal > 0:
        exposure.append(
            exposure_change(state, Money(amount.asset, -principal), "repayment", context.reference)
        )
    return Decision([ev.LoanRepaid(state.client_id, amount, journal)], exposure)


# --------------------------------------------------------------------------------- interest


def _accrue(state: MarginAccount, command: AccrueInterest, context: Context) -> Decision:
    if not state.exists:
        raise AccountNotFound(f"client {state.client_id} has no margin account")
    if state.facility_id is None or state.annual_rate is None or state.credit_limit is None:
        raise NotEligible(
            f"client {state.client_id} has no margin facility", (), (NO_MARGIN_FACILITY,)
        )
    if any(later.day <= earlier.day for earlier, later in pairwise(command.days)):
        raise InvalidArgument.for_field("days", "must be strictly increasing")
    if state.risk in (RiskState.DEFICIT, RiskState.WRITTEN_OFF):
        return Decision()  # interest stops on a shortfall (docs/domain.md)
    last = state.last_accrual_date
    days = [day for day in command.days if last is None or day.day > last]
    account = accrual_events(state, days, policy_version=context.policy.version)
    exposure: list[ev.Event] = [
        exposure_change(state, event.amount, "capitalisation", context.reference)
        for event in account
        if isinstance(event, ev.InterestCapitalised)
    ]
    return Decision(account, exposure)


# --------------------------------------------------------------------------------- risk


def _check_risk(state: MarginAccount, context: Context) -> Decision:
    if not state.exists:
        raise AccountNotFound(f"client {state.client_id} has no margin account")
    if state.status is Lifecycle.CLOSED or state.risk in (
        RiskState.LIQUIDATING,
        RiskState.DEFICIT,
    ):
        return Decision()  # closed, or liquidation owns the account
    recorded = state.risk
    in_call = recorded is RiskState.MARGIN_CALL or state.margin_call is not None
    if not state.has_debt and recorded is not RiskState.WARNING and not in_call:
        return Decision()
    valuation = _risk_valuation(state, context)
    if valuation is None:
        return Decision()
    implied = valuation.state
    warned = recorded is RiskState.WARNING
    if not in_call and (
        (implied is ImpliedState.HEALTHY and not warned)
        or (implied is ImpliedState.WARNING and warned)
    ):
        # Where the recorded state says it is: nothing to record (the common case of a
        # screen after a price move), so no evidence to work out either.
        return Decision()
    figures, basis = valuation.figures(), _risk_basis(valuation, state, context)
    client = state.client_id
    events: list[ev.Event] = []

    if not in_call:
        # Healthy or warning here means the recorded state differs (see above).
        if implied is ImpliedState.HEALTHY:
            events.append(ev.EarlyWarningCleared(client, figures, basis))
        elif implied is ImpliedState.WARNING:
            events.append(ev.EarlyWarningIssued(client, figures, basis))
        else:
            call_id = f"call-{context.reference}"
            deadline = business_deadline(
                context.now, context.policy.margin_call_deadline_days, context.calendar
            )
            call_amount = Money(REPORTING_CURRENCY, valuation.call_amount)
            events.append(
                ev.MarginCallIssued(client, call_id, call_amount, deadline, figures, basis)
            )
            if not state.advances_held(MARGIN_CALL_HOLD):
                events.append(ev.AdvancesSuspended(client, f"margin call {call_id}"))
            if implied is ImpliedState.FORCED_SALE:
                trigger = ev.LiquidationTrigger.FORCED_SALE_THRESHOLD
                events.append(_liquidation(state, trigger, valuation, basis, context))
        return Decision(events)

    call = state.margin_call
    call_id = call.call_id if call is not None else ""
    if implied in (ImpliedState.HEALTHY, ImpliedState.WARNING):
        events.append(ev.MarginCallMet(client, call_id, figures, basis))
        if state.advances_held(MARGIN_CALL_HOLD):  # a credit hold stays until its own end
            events.append(ev.AdvancesResumed(client, f"margin call {call_id} met"))
        if implied is ImpliedState.WARNING:
            events.append(ev.EarlyWarningIssued(client, figures, basis))
        return Decision(events)
    deadline_passed = call is not None and context.now >= call.deadline
    if deadline_passed and call is not None and not call.expired:
        events.append(ev.MarginCallExpired(client, call.call_id, call.deadline))
    if implied is ImpliedState.FORCED_SALE:
        trigger = ev.LiquidationTrigger.FORCED_SALE_THRESHOLD
    elif deadline_passed:
        trigger = ev.LiquidationTrigger.CALL_DEADLINE_PASSED
    else:
        return Decision()  # still in the call, before its deadline
    events.append(_liquidation(state, trigger, valuation, basis, context))
    return Decision(events)


def _risk_valuation(state: MarginAccount, context: Context) -> Valuation | None:
    """The valuation a risk decision rests on, stale and closed-market prices included; None
    only when a price is missing altogether: a currency owed, or (with debt) a held asset
    with marginable value, that has never been priced."""
    holdings = holdings_of(state)
    try:
        valuation = context.book.value(holdings)
    except PriceUnavailable:
        return None  # a currency owed has no price: the debt itself cannot be valued
    if state.has_debt and valuation.unpriced_assets:
        relevant = decision_assets(holdings, context.policy)
        if any(code in relevant for code in valuation.unpriced_assets):
            return None
    return valuation


def _risk_basis(valuation: Valuation, state: MarginAccount, context: Context) -> ev.DecisionBasis:
    """The valuation's basis, with every not-fresh price the decision rests on marked: at a
    closed market's last close, or stale (a feed that fell silent, whatever its market)."""
    holdings = holdings_of(state)
    not_fresh = stale_decision_assets(valuation, holdings, context.policy)
    if not not_fresh:
        return valuation.basis(context.now)
    window = timedelta(seconds=context.policy.price_staleness_seconds)
    used = {point.base_asset: point for point in valuation.prices}
    closed = tuple(
        code
        for code in not_fresh
        if code in used and context.calendar.valued_at_last_close(used[code], context.now, window)
    )
    stale = tuple(code for code in not_fresh if code not in closed)
    return replace(valuation.basis(context.now), stale_assets=stale, closed_market_assets=closed)


def _liquidation(
    state: MarginAccount,
    trigger: ev.LiquidationTrigger,
    valuation: Valuation,
    basis: ev.DecisionBasis,
    context: Context,
) -> ev.LiquidationStarted:
    return ev.LiquidationStarted(
        state.client_id,
        f"liq-{context.reference}",
        trigger,
        context.policy.liquidation_target_utilisation,
        valuation.figures(),
        basis,
    )


def business_deadline(now: datetime, days: int, calendar: MarketCalendar | None = None) -> datetime:
    """``days`` Hong Kong business days after ``now``, at the same Hong Kong time of day, in
    UTC: weekends, general holidays and full-day closures recorded on ``calendar`` (default:
    the shipped calendar) are skipped. A call issued on a weekend or holiday counts from the
    next business day (Saturday + 1 = Monday; Friday + 1 before a Monday holiday = Tuesday).
    """
    return (calendar or hkex_calendar()).business_days_after(now, days)


# --------------------------------------------------------------------------------- helpers


def _require_open(state: MarginAccount) -> None:
    if not state.exists:
        raise AccountNotFound(f"client {state.client_id} has no margin account")
    if state.status is Lifecycle.CLOSED:
        raise AccountClosed(f"the margin account of {state.client_id} is closed")
