"""Real in-process simulated venues: the default adapters of the venue port.

Each venue quotes an order book around the current mark of an asset: level ``i`` bids
``mark * (1 - half_spread + price_improvement - i * level_step)`` (rounded down to 8 decimals,
so what the broker receives is never flattered) for ``level_size`` minor units. The book is
drawn afresh from the mark on every call (it refills between orders: no market impact is
simulated). A sell is immediate-or-cancel: it takes the levels at or above its limit, best
first, up to its quantity, and nothing rests.

A venue is an external system, so its memory of client order ids is durable: every result is
written once to ``venue_orders`` (migration 0007) and a repeat of an id, from this process or
from one started after a kill -9, returns the stored first result and trades nothing more.
Operators and tests can take a venue down (``outage``) or make its next answers time out after
the order was executed and stored (``timeout_next``): the crash-safety case the engine must
survive.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from harbour.ledger.assets import BTC, ETH, USDT
from harbour.liquidation.venue import (
    OrderResult,
    OrderStatus,
    Quote,
    SellOrder,
    VenueFill,
    VenueUnavailable,
)
from harbour.liquidation.venue_schema import venue_orders

# The current mark of an asset, HKD per whole unit; None when there is none.
MarkSource = Callable[[str], Awaitable[Decimal | None]]

PRICE_DECIMALS = 8
_PRICE_QUANTUM = Decimal(1).scaleb(-PRICE_DECIMALS)


@dataclass(frozen=True)
class VenueProfile:
    """How one simulated venue behaves. Spreads and steps are fractions of the mark."""

    assets: frozenset[str] | None = None  # the assets it trades; None = every asset
    affiliated: bool = False  # the broker's affiliated market maker
    half_spread: Decimal = Decimal("0.002")
    levels: int = 5
    level_step: Decimal = Decimal("0.0005")
    level_size: Mapping[str, int] = field(default_factory=dict)  # minor units per level
    default_level_size: int = 0  # minor units per level of an asset not in ``level_size``
    latency: float = 0.0  # seconds per call (time only, never money)
    reject_rate: float = 0.0  # probability that an order is refused, drawn per order id
    # Added to the bid (as a fraction of the mark): an affiliated maker may quote better (> 0)
    # or worse (< 0) than the independents with the same spread.
    price_improvement: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        if self.levels < 1:
            raise ValueError(f"a venue needs at least one level, got {self.levels}")
        if self.half_spread < 0 or self.level_step < 0:
            raise ValueError("half_spread and level_step must not be negative")
        if not 0 <= self.reject_rate <= 1:
            raise ValueError(f"reject_rate must be within 0..1, got {self.reject_rate}")
        if self.latency < 0:
            raise ValueError(f"latency must not be negative, got {self.latency}")
        sizes = [self.default_level_size, *self.level_size.values()]
        if any(size < 0 for size in sizes):
            raise ValueError("level sizes must not be negative")

    def trades(self, asset: str) -> bool:
        return self.assets is None or asset in self.assets

    def size_of(self, asset: str) -> int:
        return self.level_size.get(asset, self.default_level_size)


@dataclass(frozen=True)
class BookLevel:
    price: Decimal  # HKD per whole unit, rounded down to PRICE_DECIMALS
    size: int  # minor units


def order_book(profile: VenueProfile, asset: str, mark: Decimal) -> tuple[BookLevel, ...]:
    """The bids ``profile`` shows for ``asset`` at ``mark``, best first (empty levels and
    levels priced at zero or below are left out)."""
    size = profile.size_of(asset)
    if size <= 0 or mark <= 0:
        return ()
    top = Decimal(1) - profile.half_spread + profile.price_improvement
    levels = (
        BookLevel(_round_down(mark * (top - i * profile.level_step)), size)
        for i in range(profile.levels)
    )
    return tuple(level for level in levels if level.price > 0)


def match(
    book: tuple[BookLevel, ...], quantity: int, limit_price: Decimal
) -> list[tuple[BookLevel, int]]:
    """The (level, minor units) an immediate-or-cancel sell takes: levels at or above the limit,
    best first, until the quantity is used up."""
    taken: list[tuple[BookLevel, int]] = []
    remaining = quantity
    for level in book:
        if remaining <= 0 or level.price < limit_price:
            break
        take = min(remaining, level.size)
        taken.append((level, take))
        remaining -= take
    return taken


class SimulatedVenue:
    """A venue of the port (``harbour.liquidation.venue.Venue``) simulated in process, with
    its order memory in PostgreSQL."""

    def __init__(
        self,
        name: str,
        *,
        engine: AsyncEngine,
        mark: MarkSource,
        clock: Callable[[], datetime],
        profile: VenueProfile,
        seed: int,
    ) -> None:
        self._name = name
        self._engine = engine
        self._mark = mark
        self._clock = clock
        self._profile = profile
        self._seed = seed
        self._timeouts = 0
        # Set at runtime by operators and tests: every call raises VenueUnavailable meanwhile.
        self.outage = False

    @property
    def name(self) -> str:
        return self._name

    @property
    def affiliated(self) -> bool:
        return self._profile.affiliated

    @property
    def profile(self) -> VenueProfile:
        return self._profile

    @property
    def counterparty(self) -> str:
        # An affiliated maker trades as itself; an exchange's fills are against its book.
        return self._name if self._profile.affiliated else f"{self._name}-book"

    def timeout_next(self, calls: int = 1) -> None:
        """The next ``calls`` sells or cancels are executed and stored, then answered with
        VenueUnavailable (the answer is lost on the way back)."""
        if calls < 0:
            raise ValueError(f"calls must not be negative, got {calls}")
        self._timeouts += calls

    async def book(self, asset: str) -> tuple[BookLevel, ...]:
        """The bids shown for ``asset`` now (no latency, no outage: an inspection hook)."""
        if not self._profile.trades(asset):
            return ()
        mark = await self._mark(asset)
        return () if mark is None else order_book(self._profile, asset, mark)

    async def quote(self, asset: str) -> Quote | None:
        await self._arrive()
        levels = await self.book(asset)
        if not levels:
            return None
        return Quote(
            venue=self._name,
            asset=asset,
            bid=levels[0].price,
            size=levels[0].size,
            depth=sum(level.size for level in levels),
            affiliated=self._profile.affiliated,
            quoted_at=self._clock(),
        )

    async def sell(self, order: SellOrder) -> OrderResult:
        await self._arrive()
        result = await self._execute(order)
        stored = await self._record(_row(self._name, order, result, self._clock()))
        self._answer()
        return stored

    async def cancel(self, client_order_id: str) -> OrderResult:
        await self._arrive()
        tombstone = OrderResult(
            client_order_id=client_order_id,
            venue=self._name,
            status=OrderStatus.CANCELLED,
            reason="cancelled before it traded",
        )
        stored = await self._record(_row(self._name, None, tombstone, self._clock()))
        self._answer()
        return stored

    async def stored(self, client_order_id: str) -> OrderResult | None:
        """What this venue holds for ``client_order_id`` (no tombstone is written): for
        operators and tests; the engine asks through ``cancel``."""
        async with self._engine.connect() as conn:
            row = (await conn.execute(self._select(client_order_id))).mappings().first()
        return None if row is None else _result(row)

    async def _arrive(self) -> None:
        # Checked on both sides of the trip: a venue that went down while the request was in
        # flight never received it.
        self._check_up()
        if self._profile.latency > 0:
            await asyncio.sleep(self._profile.latency)
        self._check_up()

    def _check_up(self) -> None:
        if self.outage:
            raise VenueUnavailable(f"{self._name} is unavailable (outage)")

    def _answer(self) -> None:
        if self._timeouts > 0:
            self._timeouts -= 1
            raise VenueUnavailable(f"{self._name} timed out (the request was executed)")

    async def _execute(self, order: SellOrder) -> OrderResult:
        refusal = await self._refusal(order)
        if refusal:
            return self._rejected(order, refusal)
        mark = await self._mark(order.asset)
        if mark is None:
            return self._rejected(order, f"{self._name} has no price for {order.asset}")
        book = order_book(self._profile, order.asset, mark)
        taken = match(book, order.quantity, order.limit_price)
        if not taken:
            return self._rejected(order, f"no bid at or above the limit {order.limit_price}")
        executed_at = self._clock()
        fills = tuple(
            VenueFill(
                fill_id=f"{self._name}-{order.client_order_id}-{n}",
                quantity=quantity,
                price=level.price,
                counterparty=self.counterparty,
                executed_at=executed_at,
            )
            for n, (level, quantity) in enumerate(taken, start=1)
        )
        filled = sum(fill.quantity for fill in fills)
        status = OrderStatus.FILLED if filled == order.quantity else OrderStatus.PARTIALLY_FILLED
        return OrderResult(order.client_order_id, self._name, status, fills)

    async def _refusal(self, order: SellOrder) -> str:
        if order.quantity <= 0:
            return f"quantity must be positive, got {order.quantity}"
        if not self._profile.trades(order.asset):
            return f"{self._name} does not trade {order.asset}"
        if self._rejects(order.client_order_id):
            return f"{self._name} refused the order (simulated venue risk check)"
        return ""

    def _rejects(self, client_order_id: str) -> bool:
        return draws_reject(self._seed, self._name, client_order_id, self._profile.reject_rate)

    def _rejected(self, order: SellOrder, reason: str) -> OrderResult:
        return OrderResult(order.client_order_id, self._name, OrderStatus.REJECTED, reason=reason)

    async def _record(self, row: dict[str, Any]) -> OrderResult:
        """Write ``row`` unless the id is known; either way return the stored (first) result."""
        try:
            async with self._engine.begin() as conn:
                return await self._record_in(conn, row)
        except (sa.exc.OperationalError, sa.exc.InterfaceError, OSError) as lost:
            # The venue's own storage failed: whether the order was recorded is unknown, which
            # is exactly what VenueUnavailable tells the caller (ask again under the same id).
            raise VenueUnavailable(f"{self._name} did not answer: {lost}") from lost

    async def _record_in(self, conn: AsyncConnection, row: dict[str, Any]) -> OrderResult:
        statement = (
            insert(venue_orders)
            .values(row)
            .on_conflict_do_nothing(index_elements=["venue", "client_order_id"])
            .returning(*venue_orders.c)
        )
        written: sa.RowMapping | None = (await conn.execute(statement)).mappings().first()
        if written is None:
            # READ COMMITTED: this statement sees the row the conflicting insert committed.
            written = (await conn.execute(self._select(row["client_order_id"]))).mappings().one()
        return _result(written)

    def _select(self, client_order_id: str) -> sa.Select[Any]:
        return sa.select(venue_orders).where(
            venue_orders.c.venue == self._name,
            venue_orders.c.client_order_id == client_order_id,
        )


def _row(
    venue: str, order: SellOrder | None, result: OrderResult, recorded_at: datetime
) -> dict[str, Any]:
    return {
        "venue": venue,
        "client_order_id": result.client_order_id,
        "asset": order.asset if order else None,
        "quantity": order.quantity if order else None,
        "limit_price": order.limit_price if order else None,
        "status": result.status.value,
        "fills": [_fill_json(fill) for fill in result.fills],
        "reason": result.reason,
        "recorded_at": recorded_at,
    }


def _fill_json(fill: VenueFill) -> dict[str, str]:
    return {
        "fill_id": fill.fill_id,
        "quantity": str(fill.quantity),
        "price": str(fill.price),
        "counterparty": fill.counterparty,
        "executed_at": fill.executed_at.isoformat(),
    }


def _result(row: sa.RowMapping) -> OrderResult:
    return OrderResult(
        client_order_id=row["client_order_id"],
        venue=row["venue"],
        status=OrderStatus(row["status"]),
        fills=tuple(
            VenueFill(
                fill_id=fill["fill_id"],
                quantity=int(fill["quantity"]),
                price=Decimal(fill["price"]),
                counterparty=fill["counterparty"],
                executed_at=datetime.fromisoformat(fill["executed_at"]),
            )
            for fill in row["fills"]
        ),
        reason=row["reason"],
    )


def draws_reject(seed: int, venue: str, client_order_id: str, reject_rate: float) -> bool:
    """Whether ``venue`` refuses ``client_order_id`` at random. Drawn from the order id, not
    from a shared stream: the same seed and id give the same answer in any order of calls and
    after a restart."""
    if reject_rate <= 0:
        return False
    return random.Random(f"{seed}:{venue}:{client_order_id}").random() < reject_rate


def _round_down(price: Decimal) -> Decimal:
    return price.quantize(_PRICE_QUANTUM, rounding=ROUND_FLOOR)


def _sizes(btc: str, eth: str, usdt: str) -> dict[str, int]:
    """Level sizes from whole units of the fixed assets (securities use the default, shares)."""
    return {
        BTC.code: int(Decimal(btc).scaleb(BTC.scale)),
        ETH.code: int(Decimal(eth).scaleb(ETH.scale)),
        USDT.code: int(Decimal(usdt).scaleb(USDT.scale)),
    }


# Three independent venues, tight-and-thin to wide-and-deep, and the broker's affiliated market
# maker, whose improvement puts its top bid just above the best independent one (so the
# safeguard lets it trade; give it a negative improvement to see the safeguard refuse it).
DEFAULT_PROFILES: dict[str, VenueProfile] = {
    "venue-a": VenueProfile(
        half_spread=Decimal("0.0015"),
        levels=5,
        level_step=Decimal("0.0005"),
        level_size=_sizes(btc="1.5", eth="20", usdt="500000"),
        default_level_size=20_000,
        latency=0.003,
    ),
    "venue-b": VenueProfile(
        half_spread=Decimal("0.0025"),
        levels=8,
        level_step=Decimal("0.0004"),
        level_size=_sizes(btc="1", eth="15", usdt="250000"),
        default_level_size=10_000,
        latency=0.005,
    ),
    "venue-c": VenueProfile(
        half_spread=Decimal("0.004"),
        levels=10,
        level_step=Decimal("0.001"),
        level_size=_sizes(btc="3", eth="40", usdt="1000000"),
        default_level_size=50_000,
        latency=0.008,
        reject_rate=0.01,
    ),
    "affiliated-mm": VenueProfile(
        affiliated=True,
        half_spread=Decimal("0.002"),
        levels=3,
        level_step=Decimal("0.0005"),
        level_size=_sizes(btc="2", eth="25", usdt="500000"),
        default_level_size=20_000,
        latency=0.002,
        price_improvement=Decimal("0.0007"),
    ),
}


def default_venues(
    engine: AsyncEngine,
    mark: MarkSource,
    clock: Callable[[], datetime],
    *,
    seed: int = 7,
) -> list[SimulatedVenue]:
    """venue-a, venue-b, venue-c (independent) and affiliated-mm, on ``engine``'s database."""
    return [
        SimulatedVenue(name, engine=engine, mark=mark, clock=clock, profile=profile, seed=seed)
        for name, profile in DEFAULT_PROFILES.items()
    ]


def cached_marks(mark: MarkSource, *, ttl: float = 0.25) -> MarkSource:
    """``mark`` asked at most once per ``ttl`` seconds per asset: a venue refreshes its
    reference price from its own feed now and then, not on every quote and order (a forced
    sale over a thousand accounts would otherwise read the price stream for every call)."""
    known: dict[str, tuple[float, Decimal | None]] = {}

    async def cached(asset: str) -> Decimal | None:
        now = time.monotonic()
        hit = known.get(asset)
        if hit is not None and now - hit[0] < ttl:
            return hit[1]
        value = await mark(asset)
        known[asset] = (now, value)
        return value

    return cached
