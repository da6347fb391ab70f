"""The venue port: where a forced sale sells collateral (docs/liquidation.md).

A venue is external (an exchange, an OTC desk, the broker's affiliated market maker), so the
liquidation engine talks to it through this small port only. The default adapters are real
in-process simulated venues (``harbour.liquidation.venues``); a production adapter for a real
venue implements the same four calls.

Exactly-once rests on the venue's own memory of client order ids: ``sell`` with an id it has
seen returns that order's first result and trades nothing more, and ``cancel`` of an id it has
never seen tombstones it, so a ``sell`` that arrives late under that id is refused. The engine
records the order (reserving the collateral) before it sends it, and after a crash it asks the
venue about every order it had sent but not settled: nothing is sold twice, nothing is lost.

Prices are HKD per whole unit of the asset (``Decimal``); quantities are minor units (``int``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Protocol


class VenueUnavailable(Exception):
    """The venue did not answer (outage, time-out): the order's fate is unknown until asked
    again. Never raised for a refusal, which is an answer (``OrderStatus.REJECTED``)."""


class OrderStatus(Enum):
    FILLED = "filled"  # every unit sold
    PARTIALLY_FILLED = "partially_filled"  # some sold, the rest will never be (no resting order)
    REJECTED = "rejected"  # nothing sold: refused (limit not reachable, venue rule, ...)
    CANCELLED = "cancelled"  # nothing sold: cancelled (or tombstoned) before it traded


@dataclass(frozen=True)
class Quote:
    """The best price a venue would pay for ``asset`` now, and how much it takes there."""

    venue: str
    asset: str
    bid: Decimal  # HKD per whole unit
    size: int  # minor units of ``asset`` available at ``bid`` and better
    depth: int  # minor units the venue would take in all, at any of its levels
    affiliated: bool  # the broker's affiliated market maker
    quoted_at: datetime


@dataclass(frozen=True)
class SellOrder:
    """An immediate-or-cancel sell: fills what it can at ``limit_price`` or better, the rest is
    never sold (no order rests on the venue, so a crash cannot leave one working)."""

    client_order_id: str  # the venue deduplicates on it
    asset: str
    quantity: int  # minor units
    limit_price: Decimal  # the lowest HKD price per whole unit accepted


@dataclass(frozen=True)
class VenueFill:
    fill_id: str  # unique per venue
    quantity: int  # minor units
    price: Decimal  # HKD per whole unit
    counterparty: str
    executed_at: datetime


@dataclass(frozen=True)
class OrderResult:
    client_order_id: str
    venue: str
    status: OrderStatus
    fills: tuple[VenueFill, ...] = ()
    reason: str = ""  # why rejected or cancelled

    @property
    def filled_quantity(self) -> int:
        return sum(fill.quantity for fill in self.fills)


class Venue(Protocol):
    """One place to sell. Every call may raise :class:`VenueUnavailable`."""

    @property
    def name(self) -> str: ...

    @property
    def affiliated(self) -> bool: ...

    async def quote(self, asset: str) -> Quote | None:
        """The venue's best bid for ``asset`` now; None when it does not trade it."""
        ...

    async def sell(self, order: SellOrder) -> OrderResult:
        """Execute ``order`` (idempotent by ``client_order_id``: a repeat returns the first
        result, a tombstoned id is refused with CANCELLED)."""
        ...

    async def cancel(self, client_order_id: str) -> OrderResult:
        """The final result of ``client_order_id``: its fills if it traded, else CANCELLED
        (and the id is tombstoned: a later ``sell`` under it trades nothing)."""
        ...
