"""The liquidation service's decisions: ``decide(state, command, context) -> Decision``. Pure.

The forced-sale state machine of docs/liquidation.md, on the client's own stream
(``account-<id>``) — the consistency boundary — with the broker's exposure moved in the same
append when principal is repaid or moves into a shortfall:

    LIQUIDATING --Advance--> orders placed (quantities reserved)  |  LiquidationPaused
                 --Settle---> fills (proceeds to cash, 2% FeeCharged, proceeds applied
                              interest -> fees -> principal), the rest released
                 --Advance--> LiquidationCompleted (U <= target, or cured) -> HEALTHY
                              ShortfallRecognised (nothing left to sell, D > 0) -> DEFICIT
    paused      --Resume----> LIQUIDATING (optionally with a lower floor the operator accepts)
    DEFICIT     --Propose/Approve (maker != checker)--> DebtRecovered -> RECOVERED when the
                              shortfall is gone | DebtWrittenOff -> WRITTEN_OFF;  Reject
    any account with debt, not liquidating --Start (operator)--> LIQUIDATING

A client who cures during a liquidation — the account back at or below the call level before
any sale filled, or after the client deposited or repaid since it started — stops further
sales: ``LiquidationCompleted(outcome="cured")``. Sales of the engine's own making continue to
the target, which is what the policy asks of a forced sale.

Refusal precedence per command (first broken rule wins):

StartLiquidation: AccountNotFound, AccountClosed, LiquidationInProgress, MarginCallOpen (in
  deficit), NothingToRepay (owes nothing), InvalidArgument on ``reason``; PriceUnavailable.
Advance: AccountNotFound, NotLiquidating; (nothing while an order is open or the sale is
  paused); PriceUnavailable; NoVenueQuote when collateral is left but no venue quotes it.
Settle: AccountNotFound; an order not open is already settled (no events: idempotent).
Resume: AccountNotFound, NotLiquidating, FailedPrecondition (not paused), InvalidArgument.
ProposeSettlement: AccountNotFound, NotInDeficit, InvalidArgument (kind, source, amount not
  positive or above the shortfall left by pending proposals; a write-off must take the whole
  rest), AlreadyExists (the proposal id), InsufficientBalance (recovery from client cash).
Approve/RejectSettlement: AccountNotFound, SettlementProposalNotFound, SameMakerAndChecker,
  then Propose's checks again for an approval (the account may have moved since).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cached_property

from harbour.ledger import events as ev
from harbour.ledger import journals
from harbour.ledger.account import (
    MARGIN_CALL_HOLD,
    Lifecycle,
    LiquidationProgress,
    MarginAccount,
    OpenOrder,
    PendingSettlement,
    RiskState,
)
from harbour.ledger.assets import REPORTING_CURRENCY, asset
from harbour.ledger.decisions import Decision
from harbour.ledger.errors import (
    AccountClosed,
    AccountNotFound,
    AlreadyExists,
    AmountNotPositive,
    FailedPrecondition,
    InsufficientBalance,
    InvalidArgument,
    LiquidationInProgress,
    MarginCallOpen,
    NotFound,
    NothingToRepay,
    NotInDeficit,
    NotLiquidating,
    PriceUnavailable,
    SameMakerAndChecker,
)
from harbour.ledger.exposure import exposure_change
from harbour.ledger.money import Money
from harbour.ledger.policy import CollateralPolicy
from harbour.ledger.valuation import PriceBook, Valuation, holdings_of
from harbour.liquidation.routing import Route, accept_fill, plan_routes
from harbour.liquidation.sizing import (
    at_or_below,
    liquidation_fee,
    plan_sale,
    proceeds_of,
    sale_order,
)
from harbour.liquidation.venue import OrderResult, Quote

_HKD = REPORTING_CURRENCY
MAX_REASON = 500
RECOVERY = "recovery"
WRITE_OFF = "write_off"
SOURCES = {RECOVERY: ("client_cash", "external"), WRITE_OFF: ("",)}


class NoVenueQuote(FailedPrecondition):
    """Collateral is left to sell but no venue quotes it now: the engine tries again."""

    reason = "no_venue_quote"


class SettlementProposalNotFound(NotFound):
    reason = "settlement_proposal_not_found"


# --------------------------------------------------------------------------------- commands


@dataclass(frozen=True)
class StartLiquidation:
    client_id: str
    reason: str


@dataclass(frozen=True)
class AdvanceLiquidation:
    """Take the next step: complete, pause, recognise a shortfall, or place orders."""

    client_id: str
    quotes: Mapping[str, tuple[Quote, ...]]  # per asset, every venue's quote now


@dataclass(frozen=True)
class SettleOrder:
    client_id: str
    result: OrderResult


@dataclass(frozen=True)
class ResumeLiquidation:
    client_id: str
    asset: str
    floor_price: Decimal | None
    reason: str


@dataclass(frozen=True)
class ProposeSettlement:
    client_id: str
    proposal_id: str
    kind: str
    amount: Money
    source: str
    reference: str


@dataclass(frozen=True)
class ApproveSettlement:
    client_id: str
    proposal_id: str


@dataclass(frozen=True)
class RejectSettlement:
    client_id: str
    proposal_id: str
    reason: str


Command = (
    StartLiquidation
    | AdvanceLiquidation
    | SettleOrder
    | ResumeLiquidation
    | ProposeSettlement
    | ApproveSettlement
    | RejectSettlement
)


@dataclass(frozen=True)
class Context:
    now: datetime
    policy: CollateralPolicy
    prices: Mapping[str, ev.PricePoint]  # the last observation per asset (the marks)
    reference: str  # the request id: names liquidations and orders it creates
    actor: str = ""  # who asked (maker, checker, operator)

    @cached_property
    def book(self) -> PriceBook:
        return PriceBook(self.prices, self.policy, self.now)


def decide(state: MarginAccount, command: Command, context: Context) -> Decision:
    match command:
        case StartLiquidation():
            return _start(state, command, context)
        case AdvanceLiquidation():
            return _advance(state, command, context)
        case SettleOrder():
            return _settle(state, command, context)
        case ResumeLiquidation():
            return _resume(state, command, context)
        case ProposeSettlement():
            return _propose(state, command, context)
        case ApproveSettlement():
            return _approve(state, command, context)
        case RejectSettlement():
            return _reject(state, command, context)
    raise AssertionError(f"unhandled command {command!r}")  # pragma: no cover


# --------------------------------------------------------------------------------- start


def _start(state: MarginAccount, command: StartLiquidation, context: Context) -> Decision:
    _require_open(state)
    if state.risk is RiskState.LIQUIDATING:
        raise LiquidationInProgress(f"{state.client_id} is already being liquidated")
    if state.risk is RiskState.DEFICIT:
        raise MarginCallOpen(f"{state.client_id} is in deficit: nothing is left to sell")
    if not state.has_debt:
        raise NothingToRepay(f"{state.client_id} owes nothing: there is nothing to liquidate")
    reason = _reason(command.reason)
    valuation = context.book.value(holdings_of(state))
    return Decision(
        [
            ev.LiquidationStarted(
                state.client_id,
                f"liq-{context.reference}",
                ev.LiquidationTrigger.OPERATOR,
                context.policy.liquidation_target_utilisation,
                valuation.figures(),
                valuation.basis(context.now),
                reason=reason,
            )
        ]
    )


# --------------------------------------------------------------------------------- advance


def _advance(state: MarginAccount, command: AdvanceLiquidation, context: Context) -> Decision:
    progress = _require_liquidating(state)
    if progress.orders or progress.paused_asset is not None:
        return Decision()  # settle the open orders first; a paused sale waits for an operator
    valuation = context.book.value(holdings_of(state))
    policy = context.policy
    done = _completion(state, valuation, context)
    if done is not None:
        return done
    sellable = sale_order(state, policy)
    if not sellable:
        return _shortfall(state, progress.liquidation_id, context)
    bids: dict[str, Decimal] = {}
    for code in sellable:
        mark = _mark(context, code)
        floor = progress.floor_override(code) or _floor(mark, policy)
        quotes = command.quotes.get(code, ())
        probe = plan_routes(quotes, state.available_collateral(code), Decimal(0))
        if not probe:
            continue  # nobody independent quotes it now: try the next asset
        best = max(route.quote for route in probe)
        if best < floor:
            return Decision(
                [
                    ev.LiquidationPaused(
                        state.client_id,
                        progress.liquidation_id,
                        code,
                        mark,
                        best,
                        floor,
                        f"the best bid {best} is below the slippage floor {floor} "
                        f"({policy.liquidation_max_slippage} under the mark {mark})",
                    )
                ]
            )
        bids[code] = best
    if not bids:
        raise NoVenueQuote(
            f"no independent venue quotes {', '.join(sellable)} now: the sale waits for a quote"
        )
    legs = plan_sale(state, context.book, policy, progress.target_utilisation, bids)
    events: list[ev.Event] = []
    number = progress.orders_placed
    for leg in legs:
        mark = _mark(context, leg.asset)
        floor = progress.floor_override(leg.asset) or _floor(mark, policy)
        quotes = command.quotes.get(leg.asset, ())
        for route in plan_routes(quotes, leg.quantity, floor):
            number += 1
            events.append(
                ev.LiquidationOrderPlaced(
                    state.client_id,
                    progress.liquidation_id,
                    f"{progress.liquidation_id}-o{number}",
                    route.venue,
                    route.affiliated,
                    Money(asset(leg.asset), route.quantity),
                    route.limit_price,
                    mark,
                    route.quote,
                    route.best_independent_quote,
                    context.now,
                )
            )
    if not events:
        raise NoVenueQuote("no venue has depth at or above the slippage floor now")
    return Decision(events)


def _completion(state: MarginAccount, valuation: Valuation, context: Context) -> Decision | None:
    """LiquidationCompleted when the target is reached or the client cured; else None."""
    progress = state.liquidation
    assert progress is not None
    if at_or_below(valuation, progress.target_utilisation):
        outcome = "target_reached"
    elif at_or_below(valuation, context.policy.margin_call_utilisation) and (
        progress.fills == 0 or progress.client_acted
    ):
        outcome = "cured"
    else:
        return None
    events: list[ev.Event] = [
        ev.LiquidationCompleted(
            state.client_id,
            progress.liquidation_id,
            valuation.figures(),
            valuation.basis(context.now),
            outcome=outcome,
        )
    ]
    if state.advances_held(MARGIN_CALL_HOLD):  # a credit hold is the assessment's to lift
        events.append(ev.AdvancesResumed(state.client_id, f"liquidation {outcome}"))
    return Decision(events)


def _shortfall(state: MarginAccount, liquidation_id: str, context: Context) -> Decision:
    """Nothing left to sell and debt above target: HKD cash settles what it can, the rest
    of each currency's debt becomes a shortfall (still owed, interest stopped)."""
    events: list[ev.Event] = []
    exposure: list[ev.Event] = []
    principal = dict(state.principal.as_dict())
    interest = dict(state.accrued_interest.as_dict())
    fees = dict(state.unpaid_fees.as_dict())
    cash = max(state.cash.get(_HKD.code), 0)
    if cash:
        applied = _applied(state, liquidation_id, cash)
        if applied is not None:
            events.append(applied)
            principal[_HKD.code] = principal.get(_HKD.code, 0) - applied.principal.minor
            interest[_HKD.code] = interest.get(_HKD.code, 0) - applied.interest.minor
            fees[_HKD.code] = fees.get(_HKD.code, 0) - applied.fees.minor
            if applied.principal.minor:
                exposure.append(
                    exposure_change(state, -applied.principal, "liquidation", context.reference)
                )
    for code in sorted(set(principal) | set(interest) | set(fees)):
        owed = [max(x.get(code, 0), 0) for x in (principal, interest, fees)]
        if sum(owed) == 0:
            continue
        currency = asset(code)
        p, i, f = (Money(currency, minor) for minor in owed)
        journal = journals.shortfall_recognition(state.client_id, principal=p, interest=i, fees=f)
        events.append(ev.ShortfallRecognised(state.client_id, liquidation_id, p + i + f, journal))
        if p.minor:
            exposure.append(exposure_change(state, -p, "shortfall", context.reference))
    if not any(isinstance(e, ev.ShortfallRecognised) for e in events):
        # Cash settled everything: the account is whole, so the liquidation simply completes.
        valuation = context.book.value(holdings_of(state))
        events.append(
            ev.LiquidationCompleted(
                state.client_id,
                liquidation_id,
                valuation.figures(),
                valuation.basis(context.now),
                outcome="target_reached",
            )
        )
    return Decision(events, exposure)


def _applied(
    state: MarginAccount, liquidation_id: str, available: int
) -> ev.LiquidationProceedsApplied | None:
    """HKD ``available`` in the client's cash repaying interest, then fees, then principal."""
    code = _HKD.code
    interest = min(available, max(state.accrued_interest.get(code), 0))
    fees = min(available - interest, max(state.unpaid_fees.get(code), 0))
    principal = min(available - interest - fees, max(state.principal.get(code), 0))
    total = interest + fees + principal
    if total <= 0:
        return None
    i, f, p = Money(_HKD, interest), Money(_HKD, fees), Money(_HKD, principal)
    journal = journals.repayment(state.client_id, interest=i, fees=f, principal=p)
    return ev.LiquidationProceedsApplied(
        state.client_id, liquidation_id, Money(_HKD, total), i, f, p, journal
    )


# --------------------------------------------------------------------------------- settle


def _settle(state: MarginAccount, command: SettleOrder, context: Context) -> Decision:
    if not state.exists:
        raise AccountNotFound(f"client {state.client_id} has no margin account")
    result = command.result
    progress = state.liquidation
    order = _open_order(state, result.client_order_id)
    if progress is None or order is None:
        return Decision()  # settled already: a repeat or a second replica
    code = order.quantity.asset.code
    route = Route(
        order.venue,
        order.affiliated,
        order.quantity.minor,
        order.limit_price,
        order.quote,
        order.best_independent_quote,
    )
    events: list[ev.Event] = []
    filled = 0
    fee_total = 0
    breaches: list[str] = []
    for fill in result.fills:
        problem = accept_fill(route, fill)
        if problem is None and filled + fill.quantity > order.quantity.minor:
            problem = f"fill {fill.fill_id} would sell more than the order's {order.quantity}"
        if problem is not None:
            breaches.append(problem)
            continue
        quantity = Money(order.quantity.asset, fill.quantity)
        proceeds = proceeds_of(code, fill.quantity, fill.price)
        fee = liquidation_fee(proceeds, context.policy.liquidation_fee)
        journal = journals.liquidation_fill(
            state.client_id, order.venue, quantity=quantity, proceeds=proceeds, fee=Money(_HKD, 0)
        )
        events.append(
            ev.LiquidationFillExecuted(
                state.client_id,
                progress.liquidation_id,
                fill.fill_id,
                quantity,
                fill.price,
                proceeds,
                fee,
                order.venue,
                fill.counterparty,
                order.affiliated,
                order.quote,
                order.best_independent_quote,
                fill.executed_at,
                journal,
            )
        )
        filled += fill.quantity
        fee_total += fee.minor
    exposure: list[ev.Event] = []
    if fee_total:
        fee = Money(_HKD, fee_total)
        events.append(
            ev.FeeCharged(
                state.client_id,
                fee,
                "liquidation",
                result.client_order_id,
                journals.fee_charge(state.client_id, fee, from_cash=True),
            )
        )
    net = sum(e.proceeds.minor for e in events if isinstance(e, ev.LiquidationFillExecuted))
    net -= fee_total
    if net > 0:
        applied = _applied(state, progress.liquidation_id, net)
        if applied is not None:
            events.append(applied)
            if applied.principal.minor:
                exposure.append(
                    exposure_change(state, -applied.principal, "liquidation", context.reference)
                )
    status = result.status.value if not breaches else f"{result.status.value}_with_breaches"
    events.append(
        ev.LiquidationOrderSettled(
            state.client_id,
            progress.liquidation_id,
            order.order_id,
            status,
            Money(order.quantity.asset, filled),
            Money(order.quantity.asset, order.quantity.minor - filled),
            "; ".join(breaches) or result.reason,
        )
    )
    if breaches:
        # A venue broke its order's terms: record what was accepted and stop for an operator.
        events.append(
            ev.LiquidationPaused(
                state.client_id,
                progress.liquidation_id,
                code,
                order.quote,
                None,
                order.limit_price,
                "venue breach: " + "; ".join(breaches),
            )
        )
    return Decision(events, exposure)


def _open_order(state: MarginAccount, order_id: str) -> OpenOrder | None:
    if state.liquidation is None:
        return None
    return next((o for o in state.liquidation.orders if o.order_id == order_id), None)


# --------------------------------------------------------------------------------- resume


def _resume(state: MarginAccount, command: ResumeLiquidation, context: Context) -> Decision:
    progress = _require_liquidating(state)
    if progress.paused_asset is None:
        raise FailedPrecondition(f"the liquidation of {state.client_id} is not paused")
    reason = _reason(command.reason)
    if command.floor_price is not None and command.floor_price <= 0:
        raise InvalidArgument.for_field("floor_price", "must be greater than zero when given")
    code = command.asset or progress.paused_asset
    return Decision(
        [
            ev.LiquidationResumed(
                state.client_id,
                progress.liquidation_id,
                context.actor,
                reason,
                command.floor_price,
                code,
            )
        ]
    )


# --------------------------------------------------------------------------------- deficit


def _propose(state: MarginAccount, command: ProposeSettlement, context: Context) -> Decision:
    _require_deficit(state)
    if any(p.proposal_id == command.proposal_id for p in state.settlements):
        raise AlreadyExists(f"proposal {command.proposal_id} already exists")
    _check_settlement(
        state,
        command.kind,
        command.amount,
        command.source,
        pending=sum(
            p.amount.minor for p in state.settlements if p.amount.asset == command.amount.asset
        ),
    )
    return Decision(
        [
            ev.DeficitSettlementProposed(
                state.client_id,
                command.proposal_id,
                command.kind,
                command.amount,
                command.source,
                command.reference,
                context.actor,
            )
        ]
    )


def _approve(state: MarginAccount, command: ApproveSettlement, context: Context) -> Decision:
    proposal = _pending(state, command.proposal_id)
    if proposal.proposed_by == context.actor:
        raise SameMakerAndChecker(
            f"{context.actor} proposed {proposal.proposal_id}: a different checker must approve"
        )
    _require_deficit(state)
    _check_settlement(state, proposal.kind, proposal.amount, proposal.source, pending=0)
    client = state.client_id
    if proposal.kind == RECOVERY:
        from_cash = proposal.source == "client_cash"
        journal = journals.debt_recovery(client, proposal.amount, from_cash=from_cash)
        return Decision([ev.DebtRecovered(client, proposal.amount, proposal.proposal_id, journal)])
    journal = journals.debt_write_off(client, proposal.amount)
    return Decision(
        [
            ev.DebtWrittenOff(
                client, proposal.amount, context.actor, journal, proposal_id=proposal.proposal_id
            )
        ]
    )


def _reject(state: MarginAccount, command: RejectSettlement, context: Context) -> Decision:
    proposal = _pending(state, command.proposal_id)
    if proposal.proposed_by == context.actor:
        raise SameMakerAndChecker(
            f"{context.actor} proposed {proposal.proposal_id}: a different checker must reject"
        )
    reason = _reason(command.reason)
    return Decision(
        [ev.DeficitSettlementRejected(state.client_id, proposal.proposal_id, context.actor, reason)]
    )


def _check_settlement(
    state: MarginAccount, kind: str, amount: Money, source: str, *, pending: int
) -> None:
    if kind not in SOURCES:
        raise InvalidArgument.for_field("kind", "must be recovery or write_off")
    if source not in SOURCES[kind]:
        allowed = " or ".join(s or "empty" for s in SOURCES[kind])
        raise InvalidArgument.for_field("source", f"for a {kind} must be {allowed}")
    if not amount.is_positive:
        raise AmountNotPositive.for_field("amount", f"must be greater than zero, got {amount}")
    left = state.shortfall.get(amount.asset.code) - pending
    if amount.minor > left:
        raise InvalidArgument.for_field(
            "amount", f"at most {Money(amount.asset, max(left, 0))} of the shortfall is left"
        )
    if kind == WRITE_OFF and amount.minor != left:
        raise InvalidArgument.for_field(
            "amount",
            f"a write-off takes the whole rest of the shortfall: {Money(amount.asset, left)}",
        )
    if source == "client_cash" and amount > state.cash.money(amount.asset.code):
        raise InsufficientBalance(
            f"cash balance is {state.cash.money(amount.asset.code)}; cannot recover {amount}"
        )


def _pending(state: MarginAccount, proposal_id: str) -> PendingSettlement:
    if not state.exists:
        raise AccountNotFound(f"client {state.client_id} has no margin account")
    for proposal in state.settlements:
        if proposal.proposal_id == proposal_id:
            return proposal
    raise SettlementProposalNotFound(f"no pending settlement proposal {proposal_id}")


# --------------------------------------------------------------------------------- helpers


def _require_open(state: MarginAccount) -> None:
    if not state.exists:
        raise AccountNotFound(f"client {state.client_id} has no margin account")
    if state.status is Lifecycle.CLOSED:
        raise AccountClosed(f"the margin account of {state.client_id} is closed")


def _require_liquidating(state: MarginAccount) -> LiquidationProgress:
    if not state.exists:
        raise AccountNotFound(f"client {state.client_id} has no margin account")
    if state.risk is not RiskState.LIQUIDATING or state.liquidation is None:
        raise NotLiquidating(f"{state.client_id} is not being liquidated")
    return state.liquidation


def _require_deficit(state: MarginAccount) -> None:
    if not state.exists:
        raise AccountNotFound(f"client {state.client_id} has no margin account")
    if state.risk is not RiskState.DEFICIT:
        raise NotInDeficit(f"{state.client_id} has no shortfall in deficit")


def _reason(text: str) -> str:
    reason = text.strip()
    if not reason or len(reason) > MAX_REASON:
        raise InvalidArgument.for_field("reason", f"must be 1 to {MAX_REASON} characters")
    return reason


def _mark(context: Context, code: str) -> Decimal:
    point = context.prices.get(code)
    if point is None:
        raise PriceUnavailable(f"no price observed for {code}: a sale needs a mark")
    return point.price


def _floor(mark: Decimal, policy: CollateralPolicy) -> Decimal:
    return mark * (1 - policy.liquidation_max_slippage)
