"""Best execution of a forced sale across venues, and the affiliated maker's safeguard.

Pure: quotes in, routes out (no I/O, no clock). The rules (docs/liquidation.md):

* a quote below the sale's floor price is ignored;
* with no independent quote there is no sale: the affiliated market maker's own price is never
  enough evidence of a fair price;
* the affiliated maker may take the other side only if its bid is at least the best
  independent bid at that moment, and its order's limit is that bid (or the floor, if higher),
  so it can never fill worse than the best independent quote;
* quantity goes to the best bids first. A quote tells the price of its top level only
  (``size`` at ``bid``), so each venue's top size is allocated first, in bid order, and only then
  the rest of each venue's depth (whose prices are lower, bounded by the order's limit). The
  affiliated maker's deeper levels come last of all: below its top they are unlikely to match
  the best independent bid, so they must never crowd out quantity an independent would take;
* at an equal bid an independent venue is preferred.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from harbour.liquidation.venue import Quote, VenueFill


@dataclass(frozen=True)
class Route:
    """One immediate-or-cancel order to send to ``venue``, with the evidence it was priced on."""

    venue: str
    affiliated: bool
    quantity: int  # minor units of the asset
    limit_price: Decimal  # the lowest HKD price per whole unit the order accepts
    quote: Decimal  # the venue's bid when the route was planned
    best_independent_quote: Decimal  # the best independent bid at that moment


def plan_routes(quotes: Sequence[Quote], quantity: int, floor_price: Decimal) -> list[Route]:
    """How to sell ``quantity`` minor units at ``floor_price`` or better across ``quotes``.

    Returns one route per venue used, best bid first; the routes' quantities add up to at most
    ``quantity`` (less when the eligible depth is short). Empty when nothing can be sold.
    """
    _check_quotes(quotes)
    live = [q for q in quotes if q.depth > 0 and q.size > 0]
    independents = [q for q in live if not q.affiliated]
    if quantity <= 0 or not independents:
        return []
    best_independent = max(q.bid for q in independents)
    eligible = sorted(
        (q for q in live if _eligible(q, floor_price, best_independent)), key=_best_first
    )
    allocated = _allocate(eligible, quantity)
    return [
        Route(
            venue=q.venue,
            affiliated=q.affiliated,
            quantity=allocated[q.venue],
            limit_price=max(floor_price, best_independent) if q.affiliated else floor_price,
            quote=q.bid,
            best_independent_quote=best_independent,
        )
        for q in eligible
        if allocated.get(q.venue, 0) > 0
    ]


def accept_fill(route: Route, fill: VenueFill) -> str | None:
    """None when ``fill`` honours ``route``; else why it must be refused (and flagged)."""
    if fill.quantity <= 0:
        return f"fill {fill.fill_id} has no quantity ({fill.quantity})"
    if fill.quantity > route.quantity:
        return f"fill {fill.fill_id} of {fill.quantity} exceeds the {route.quantity} routed"
    if route.affiliated and fill.price < route.best_independent_quote:
        return (
            f"affiliated fill {fill.fill_id} at {fill.price} is below the best independent "
            f"quote {route.best_independent_quote}"
        )
    if fill.price < route.limit_price:
        return f"fill {fill.fill_id} at {fill.price} is below the route's limit {route.limit_price}"
    return None


def _check_quotes(quotes: Sequence[Quote]) -> None:
    # Comparing a BTC bid with an ETH bid, or one venue with itself, would route nonsense: a
    # caller's bug, not a market.
    assets = {q.asset for q in quotes}
    if len(assets) > 1:
        raise ValueError(f"quotes for more than one asset: {sorted(assets)}")
    venues = [q.venue for q in quotes]
    if len(set(venues)) != len(venues):
        raise ValueError(f"more than one quote from a venue: {sorted(venues)}")


def _eligible(quote: Quote, floor_price: Decimal, best_independent: Decimal) -> bool:
    if quote.bid < floor_price:
        return False
    return not quote.affiliated or quote.bid >= best_independent


def _best_first(quote: Quote) -> tuple[Decimal, bool, str]:
    # Highest bid first; at an equal bid independents (False) before the affiliated maker;
    # then by name, so the same quotes always give the same routes.
    return (-quote.bid, quote.affiliated, quote.venue)


def _allocate(eligible: Sequence[Quote], quantity: int) -> dict[str, int]:
    """Minor units per venue: top sizes in bid order, then independents' deeper depth, then
    the affiliated maker's deeper depth."""
    allocated: dict[str, int] = {}
    remaining = quantity
    passes: tuple[list[tuple[Quote, int]], ...] = (
        [(q, min(q.size, q.depth)) for q in eligible],
        [(q, q.depth - min(q.size, q.depth)) for q in eligible if not q.affiliated],
        [(q, q.depth - min(q.size, q.depth)) for q in eligible if q.affiliated],
    )
    for capacities in passes:
        for quote, capacity in capacities:
            take = min(remaining, capacity)
            if take > 0:
                allocated[quote.venue] = allocated.get(quote.venue, 0) + take
                remaining -= take
    return allocated
