"""The advance test (docs/domain.md): may more be lent, or may value leave the account?

One rule serves both movements that can put the broker at risk: a loan draw (lending) and a
cash or collateral withdrawal (accounts, through its ``MarginCheck`` protocol, which
:class:`AdvanceTest` implements structurally). A movement is allowed only if, in this order
(the first rule broken is the refusal given):

1. the account is not in a margin call, liquidation or deficit — ``MarginCallOpen`` (an open
   call, MARGIN_CALL or DEFICIT) or ``LiquidationInProgress`` (LIQUIDATING);
2. if anything is owed after the movement, every price the decision rests on is fresh —
   ``StalePrice``, naming the assets. A price "the decision rests on" is that of every currency
   owed and of every held asset the policy gives marginable value (haircut below 100%): a held
   asset with a 100% haircut adds nothing to CV, so its price cannot change U, and a missing
   feed for an ineligible security must not block every advance of its holder. A held asset
   with no price at all counts as stale (it would be valued at 0: safe, but not a valuation
   anyone should lend on), and so does a currency owed with no price;
3. if anything is owed after the movement, ``U = D / CV`` after it is at most the policy's
   ``max_advance_utilisation`` — ``UtilisationTooHigh`` with the figures. The comparison is
   exact, on integers: refused iff ``D x den > num x CV`` where ``num / den`` is the policy
   ratio (so CV = 0 with D > 0 is refused). This is the same boundary as the valuation's
   ``advance_headroom`` (``floor(CV x max) - D``, which the valuation clamps at 0 and so
   cannot tell "exactly at the limit" from "beyond it").

An account that owes nothing after the movement passes rules 2 and 3 whatever its prices:
with no debt nothing is at risk, so a client without a loan can always take its own assets
out, even while a feed is down. Rule 1 still applies (an open call is cured by CheckRisk, not
by a withdrawal).

Draws: the drawn cash lands in the client's cash account (``journals.loan_advance``) and cash
is collateral in the valuation, so valuing the account as the draw leaves it would count the
proceeds as support for the loan that created them (with a 0% HKD haircut a client could
borrow about ten times its headroom at a 90% limit). :meth:`AdvanceTest.check_draw` therefore
values the account as if the proceeds were already paid out: today's holdings, with the debt
raised by the amount drawn. Withdrawals value the account ``after`` the movement as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from harbour.ledger import events as ev
from harbour.ledger.account import MarginAccount, RiskState
from harbour.ledger.assets import REPORTING_CURRENCY
from harbour.ledger.errors import (
    LiquidationInProgress,
    MarginCallOpen,
    PriceUnavailable,
    StalePrice,
    UtilisationTooHigh,
)
from harbour.ledger.money import Money, format_decimal
from harbour.ledger.policy import CollateralPolicy
from harbour.ledger.valuation import Holdings, Valuation, holdings_of, value_account


def require_no_margin_call(state: MarginAccount) -> None:
    """Rule 1: no advance or withdrawal while a call is open or liquidation owns the account."""
    if state.risk is RiskState.LIQUIDATING:
        raise LiquidationInProgress(
            f"the account of {state.client_id} is being liquidated: nothing may be advanced "
            "or withdrawn"
        )
    if state.margin_call is not None or state.risk is RiskState.MARGIN_CALL:
        call = f" ({state.margin_call.call_id})" if state.margin_call is not None else ""
        raise MarginCallOpen(
            f"a margin call is open on the account of {state.client_id}{call}: meet it first"
        )
    if state.risk is RiskState.DEFICIT:
        raise MarginCallOpen(
            f"the account of {state.client_id} is in deficit: its shortfall must be recovered first"
        )


def decision_assets(holdings: Holdings, policy: CollateralPolicy) -> frozenset[str]:
    """The assets whose price a risk decision rests on: every currency owed and every held
    asset with marginable value (see rule 2 above)."""
    owed = {code for code, minor in holdings.debt.items() if minor}
    held = {code for code, minor in holdings.assets.items() if minor and policy.is_eligible(code)}
    return frozenset(owed | held)


def stale_decision_assets(
    valuation: Valuation, holdings: Holdings, policy: CollateralPolicy
) -> tuple[str, ...]:
    """The assets the decision rests on whose price is stale or missing, sorted."""
    relevant = decision_assets(holdings, policy)
    bad = (set(valuation.stale_assets) | set(valuation.unpriced_assets)) & relevant
    return tuple(sorted(bad))


def exceeds(debt: int, marginable_value: int, limit: Decimal) -> bool:
    """``debt / marginable_value > limit``, exactly (integer cross-product; CV 0 with debt is
    unbounded, so above any limit)."""
    num, den = limit.as_integer_ratio()
    return debt * den > num * marginable_value


@dataclass(frozen=True)
class AdvanceTest:
    """The advance test with one price book and one policy version.

    ``prices`` maps asset code to its latest observation in HKD (HKD itself needs none).
    Implements ``harbour.accounts.domain.MarginCheck`` structurally.
    """

    policy: CollateralPolicy
    prices: Mapping[str, ev.PricePoint]

    def valuation(self, holdings: Holdings, now: datetime) -> Valuation:
        """The valuation of ``holdings``; a currency owed with no price is ``StalePrice``."""
        try:
            return value_account(holdings, self.prices, self.policy, now)
        except PriceUnavailable as missing:
            raise StalePrice(f"no fresh price for a currency owed: {missing.message}") from None

    def check(self, after: MarginAccount, now: datetime) -> tuple[ev.RiskFigures, ev.DecisionBasis]:
        """A withdrawal: ``after`` is the account as the movement would leave it."""
        return self._test(after, holdings_of(after), now)

    def check_draw(
        self, state: MarginAccount, amount: Money, now: datetime
    ) -> tuple[ev.RiskFigures, ev.DecisionBasis]:
        """A draw of ``amount``: today's holdings with the debt raised by it, the proceeds not
        counted as collateral (see the module docstring)."""
        current = holdings_of(state)
        debt = dict(current.debt)
        debt[amount.asset.code] = debt.get(amount.asset.code, 0) + amount.minor
        return self._test(state, Holdings(state.client_id, current.assets, debt), now)

    def _test(
        self, state: MarginAccount, holdings: Holdings, now: datetime
    ) -> tuple[ev.RiskFigures, ev.DecisionBasis]:
        require_no_margin_call(state)
        owes = any(minor > 0 for minor in holdings.debt.values())
        if not owes:
            # Nothing owed, nothing at risk: no price needs to be fresh (documented choice).
            valuation = value_account(holdings, self.prices, self.policy, now)
            return valuation.figures(), valuation.basis(now)
        valuation = self.valuation(holdings, now)
        stale = stale_decision_assets(valuation, holdings, self.policy)
        if stale:
            raise StalePrice(
                f"no fresh price (within {self.policy.price_staleness_seconds} s) for "
                f"{', '.join(stale)}: no advance or withdrawal until the feed recovers"
            )
        if exceeds(valuation.debt, valuation.marginable_value, self.policy.max_advance_utilisation):
            raise UtilisationTooHigh(_too_high(valuation, self.policy))
        return valuation.figures(), valuation.basis(now)


def _too_high(valuation: Valuation, policy: CollateralPolicy) -> str:
    debt = Money(REPORTING_CURRENCY, valuation.debt)
    marginable = Money(REPORTING_CURRENCY, valuation.marginable_value)
    shown = (
        "unbounded (no marginable value)"
        if valuation.utilisation is None
        else format_decimal(valuation.utilisation)
    )
    return (
        f"utilisation after this would be {shown} (debt {debt} over marginable value "
        f"{marginable}); the most allowed is {format_decimal(policy.max_advance_utilisation)}"
    )
