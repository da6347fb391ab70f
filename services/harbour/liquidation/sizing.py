"""How much of which collateral a forced sale sells (docs/liquidation.md). Pure.

For one asset ``j`` sold at price ``p``, with the fee ``f`` on proceeds, the net proceeds
repaying debt, the closed form to reach the target utilisation ``U_t`` is

    x = (D - U_t * CV) / ((1 - f) - U_t * (1 - haircut_j))      (market value at p)

It is exact only while the virtual-asset share cap does not bind and before rounding: where
the cap binds, selling a virtual asset lowers CV by less than ``(1 - haircut)`` per unit (the
cap left part of it out already), so the closed form over-sells. The formula therefore only
gives the first guess; the quantity sold is the **least** quantity (in lots) whose exact
valuation after the sale (proceeds rounded down, fee rounded up, every figure as the valuation
core computes it) has ``U <= U_t``, found by bisection on that exact valuation. When even the
whole available holding does not reach the target, all of it is sold and sizing continues with
the next asset, in the order ETH, then BTC, then securities by liquidity (lowest haircut first:
the policy's haircut is the broker's own measure of how readily a security sells), then
anything else held.

Why bisection is sound: selling more never raises ``U`` on the way to the target. Each lot
lowers D by its net proceeds ``p(1 - f)`` and CV by at most ``p(1 - haircut)``; with
``U <= U_0`` on the path and ``U_t (1 - haircut) < 1 - f`` (the target is below 100% and the
fee small), D falls faster, relative to CV, than the ratio needs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from harbour.ledger.account import MarginAccount
from harbour.ledger.assets import REPORTING_CURRENCY, asset
from harbour.ledger.forced_sale import at_or_below, liquidation_fee, proceeds_of
from harbour.ledger.policy import CollateralPolicy
from harbour.ledger.valuation import Holdings, PriceBook, holdings_of

_HKD = REPORTING_CURRENCY.code
__all__ = ["SaleLeg", "after_sale", "at_or_below", "liquidation_fee", "plan_sale", "proceeds_of"]
VA_SALE_ORDER = ("ETH", "BTC")  # docs/liquidation.md: ETH first, then BTC
LOT_DECIMALS = 8  # the finest quantity a sale is sized in (1e-8 of a unit; whole shares)


@dataclass(frozen=True)
class SaleLeg:
    asset: str
    quantity: int  # minor units
    price: Decimal  # the price it was sized at (HKD per whole unit)


def sale_order(state: MarginAccount, policy: CollateralPolicy) -> list[str]:
    """The assets with collateral available to sell, in the order they are sold."""
    held = [code for code, _ in state.collateral if state.available_collateral(code) > 0]
    first = [code for code in VA_SALE_ORDER if code in held]
    rest = sorted((c for c in held if c not in first), key=lambda c: (policy.haircut(c), c))
    return first + rest


def owed_in(state_debt: Mapping[str, int], code: str) -> int:
    return max(state_debt.get(code, 0), 0)


def after_sale(
    holdings: Holdings, code: str, quantity: int, price: Decimal, fee_rate: Decimal
) -> Holdings:
    """The holdings once ``quantity`` of ``code`` is sold at ``price``, the fee paid and the
    net proceeds applied to the HKD debt (any excess stays as HKD cash)."""
    proceeds = proceeds_of(code, quantity, price)
    net = proceeds.minor - liquidation_fee(proceeds, fee_rate).minor
    repaid = min(net, owed_in(holdings.debt, _HKD))
    assets = dict(holdings.assets)
    assets[code] = assets.get(code, 0) - quantity
    assets[_HKD] = assets.get(_HKD, 0) + net - repaid
    debt = dict(holdings.debt)
    if repaid:
        debt[_HKD] = debt[_HKD] - repaid
    return Holdings(holdings.client_id, _nonzero(assets), _nonzero(debt))


def _nonzero(amounts: Mapping[str, int]) -> dict[str, int]:
    return {code: minor for code, minor in sorted(amounts.items()) if minor != 0}


def plan_sale(
    state: MarginAccount,
    book: PriceBook,
    policy: CollateralPolicy,
    target: Decimal,
    sale_prices: Mapping[str, Decimal],
) -> list[SaleLeg]:
    """The legs that bring the account to ``target`` (or sell everything available trying).

    ``sale_prices``: the price each asset can be sold at now (the best eligible venue bid);
    an asset without one is skipped (it cannot be sold this round)."""
    holdings = holdings_of(state)
    legs: list[SaleLeg] = []
    for code in sale_order(state, policy):
        price = sale_prices.get(code)
        if price is None or price <= 0:
            continue
        available = state.available_collateral(code)
        if at_or_below(book.value(holdings), target):
            break
        quantity = _least_quantity(holdings, book, policy, target, code, available, price)
        legs.append(SaleLeg(code, quantity, price))
        holdings = after_sale(holdings, code, quantity, price, policy.liquidation_fee)
    return legs


def _least_quantity(
    holdings: Holdings,
    book: PriceBook,
    policy: CollateralPolicy,
    target: Decimal,
    code: str,
    available: int,
    price: Decimal,
) -> int:
    """The least whole number of lots of ``code`` (capped at ``available``) whose sale brings
    the account to ``target``; all of it when none does."""
    lot: int = 10 ** max(0, asset(code).scale - LOT_DECIMALS)
    fee = policy.liquidation_fee

    def reaches(quantity: int) -> bool:
        after = after_sale(holdings, code, quantity, price, fee)
        return at_or_below(book.value(after), target)

    if not reaches(available):
        return available
    lots_available = -(-available // lot)
    guess = _closed_form_lots(holdings, book, policy, target, code, price, lot)
    high = min(max(guess, 1), lots_available)
    if not reaches(min(high * lot, available)):
        high = lots_available  # the guess fell short (the cap, rounding): search above it
    low = 0  # reaches(0) is False: the account is above target before the sale
    while high - low > 1:
        middle = (low + high) // 2
        if reaches(min(middle * lot, available)):
            high = middle
        else:
            low = middle
    return min(high * lot, available)


def _closed_form_lots(
    holdings: Holdings,
    book: PriceBook,
    policy: CollateralPolicy,
    target: Decimal,
    code: str,
    price: Decimal,
    lot: int,
) -> int:
    """The closed form (docs/liquidation.md), in lots, rounded up: the bisection's first upper
    bound."""
    valuation = book.value(holdings)
    fee = policy.liquidation_fee
    denominator = (1 - fee) - target * (1 - policy.haircut(code))
    if denominator <= 0:
        return 0
    needed = (Decimal(valuation.debt) - target * Decimal(valuation.marginable_value)) / denominator
    # ``needed`` is HKD minor units of market value; a lot is ``lot`` minor units of ``code``.
    lot_value = price * Decimal(lot) / Decimal(10 ** asset(code).scale) * 100
    if lot_value <= 0:
        return 0
    lots: int = int(-(-needed // lot_value)) + 1
    return lots


def legs_total(legs: Sequence[SaleLeg]) -> dict[str, int]:
    total: dict[str, int] = {}
    for leg in legs:
        total[leg.asset] = total.get(leg.asset, 0) + leg.quantity
    return total
