"""The money rules of a forced sale (docs/liquidation.md), shared by the liquidation engine that
applies them and the audit that re-derives them. Pure.

- proceeds are what the broker receives: ``quantity x price`` in HKD, rounded **down**;
- the liquidation fee is owed by the client: ``proceeds x fee``, rounded **up** to the cent;
- a target utilisation is reached when ``D / CV <= U_t``, compared exactly on integers.
"""

from __future__ import annotations

from decimal import Decimal

from harbour.ledger.advance import exceeds
from harbour.ledger.assets import REPORTING_CURRENCY, asset
from harbour.ledger.money import Money, round_up, value_down
from harbour.ledger.valuation import Valuation


def proceeds_of(code: str, quantity: int, price: Decimal) -> Money:
    """HKD paid for ``quantity`` minor units at ``price``: what the broker gets, rounded down."""
    return value_down(Money(asset(code), quantity), price, REPORTING_CURRENCY)


def liquidation_fee(proceeds: Money, rate: Decimal) -> Money:
    """The fee on ``proceeds``: owed by the client, so rounded up to the minor unit."""
    return Money(proceeds.asset, round_up(proceeds.asset, proceeds.to_decimal() * rate))


def at_or_below(valuation: Valuation, target: Decimal) -> bool:
    """``U <= target`` exactly (CV 0 with debt is unbounded: above any target)."""
    return not exceeds(valuation.debt, valuation.marginable_value, target)
