"""The liquidation engine: drives every running liquidation to its end, crash-safe.

Each round it catches its ``liquidations`` read model up from the feed (so a liquidation the
risk monitor started a moment ago is seen), takes the active ones oldest first, and steps each:

1. An order recorded but not settled has an unknown fate (this process, or one before a crash,
   may have sent it — or not). The engine asks its venue for the final answer with ``cancel``:
   the fills if it traded, else a tombstone so it never trades later. Then it records that
   answer (``SettleOrder``: fills, fee, proceeds applied, the rest released).
2. Otherwise it gathers every venue's quote for what is left to sell and decides the next step
   (``AdvanceLiquidation``): complete, pause, recognise a shortfall, or place orders. Orders are
   recorded (reserving the collateral) *before* they are sent; each is sent once with its
   client order id, and its answer recorded. A venue that does not answer leaves the order
   open for step 1 of a later round.

Nothing is sold twice: an order id is sent at most once by a step that placed it, every later
look at it is a ``cancel`` the venue deduplicates, and recording a settlement is idempotent
(its request id is the order's, and an order already settled decides nothing).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence

from harbour.application.market import policy_at
from harbour.eventstore.notify import FeedListener
from harbour.eventstore.outage import is_database_outage
from harbour.eventstore.projections import ProjectionRunner
from harbour.ledger import events as ev
from harbour.ledger.account import MarginAccount, OpenOrder, RiskState
from harbour.ledger.errors import DomainError
from harbour.liquidation.domain import AdvanceLiquidation, SettleOrder
from harbour.liquidation.handlers import LiquidationHandlers
from harbour.liquidation.projections import Liquidations
from harbour.liquidation.sizing import sale_order
from harbour.liquidation.venue import OrderResult, Quote, SellOrder, Venue, VenueUnavailable

log = logging.getLogger("harbour.liquidation")
ENGINE_METADATA = {"actor": "liquidation-engine", "service": "liquidation"}
ROUND_LIMIT = 500  # liquidations stepped per round (the rest wait for the next)
CONCURRENCY = 16  # liquidations stepped at once (each waits on venues and the database)
POLL_SECONDS = 1.0


class LiquidationEngine:
    def __init__(
        self,
        handlers: LiquidationHandlers,
        venues: Sequence[Venue],
        *,
        concurrency: int = CONCURRENCY,
    ) -> None:
        self._handlers = handlers
        self._venues = {venue.name: venue for venue in venues}
        self._gate = asyncio.Semaphore(concurrency)
        self._runner = ProjectionRunner(handlers.runner.store, clock=handlers.now)
        self._projection = Liquidations()

    async def run_round(self) -> int:
        """One pass over the active liquidations; returns how many made progress."""
        await self._runner.catch_up(self._projection)
        clients = await self._handlers.active(ROUND_LIMIT)
        moved = await asyncio.gather(*(self._gated(client) for client in clients))
        return sum(moved)

    async def settle_all(self, *, rounds: int = 1000, idle_rounds: int = 3) -> int:
        """Rounds until ``idle_rounds`` in a row move nothing (tests, benchmarks, operators).
        Idle rounds are spaced a little: an event reaches followers only once every older
        transaction has ended, so one quiet round does not mean there is nothing left."""
        total, idle = 0, 0
        for _ in range(rounds):
            moved = await self.run_round()
            total += moved
            idle = 0 if moved else idle + 1
            if idle >= idle_rounds:
                break
            if not moved:
                await asyncio.sleep(0.05)
        return total

    async def run_forever(
        self, *, pace: float = 0.0, heartbeat: Callable[[], None] = lambda: None
    ) -> None:
        """Rounds until cancelled, woken by the feed; ``heartbeat`` after every round. A
        failing round raises: the server's supervisor restarts the loop (health NOT_SERVING
        meanwhile), which catches up from the read model's checkpoint and the venues' memory."""
        store = self._handlers.runner.store
        async with FeedListener.for_database(store.database, pace=pace) as listener:
            while True:
                moved = await self.run_round()
                heartbeat()
                if not moved:
                    await listener.wait(POLL_SECONDS)

    async def _gated(self, client: str) -> bool:
        async with self._gate:
            try:
                return await self.step(client)
            except DomainError as refusal:  # e.g. no quote now: the next round tries again
                log.info("liquidation of %s waits: %s", client, refusal)
                return False
            except Exception as failure:
                # A database outage is everyone's: the supervisor restarts the loop. Anything
                # else (an account that cannot be loaded, a venue adapter's bug) is this
                # client's alone: logged and retried next round, while the others go on.
                if is_database_outage(failure):
                    raise
                log.exception("liquidation of %s failed this round", client)
                return False

    async def step(self, client: str) -> bool:
        """Move one client's liquidation one step; True when something was recorded."""
        state, version = await self._handlers.account(client)
        progress = state.liquidation
        if state.risk is not RiskState.LIQUIDATING or progress is None:
            return False
        if progress.orders:
            return await self._recover(client, progress.orders)
        if progress.paused_asset is not None:
            return False  # waits for an operator's ResumeLiquidation
        quotes = await self._quotes(state)
        placed: list[ev.Event] = []
        outcome = await self._handlers.handle(
            AdvanceLiquidation(client, quotes),
            request_id=f"{progress.liquidation_id}:step:{version}",
            request={"rpc": "AdvanceLiquidation", "client_id": client, "version": str(version)},
            metadata=ENGINE_METADATA,
            events=placed,
        )
        orders = [e for e in placed if isinstance(e, ev.LiquidationOrderPlaced)]
        if outcome.result.replayed:
            return True  # decided before a crash: its orders are settled by _recover
        await asyncio.gather(*(self._send(client, order) for order in orders))
        return bool(placed)

    async def _send(self, client: str, order: ev.LiquidationOrderPlaced) -> None:
        venue = self._venues.get(order.venue)
        if venue is None:
            return  # a venue this process does not know: _recover reports it
        sell = SellOrder(
            order.order_id, order.quantity.asset.code, order.quantity.minor, order.limit_price
        )
        try:
            result = await venue.sell(sell)
        except VenueUnavailable as down:
            log.warning("order %s at %s has no answer yet: %s", order.order_id, venue.name, down)
            return  # its fate is asked with cancel in a later round
        await self._settle(client, result)

    async def _recover(self, client: str, orders: Sequence[OpenOrder]) -> bool:
        moved = False
        for order in orders:
            venue = self._venues.get(order.venue)
            if venue is None:
                log.error("order %s: venue %s is not configured", order.order_id, order.venue)
                continue
            try:
                result = await venue.cancel(order.order_id)
            except VenueUnavailable:
                continue
            await self._settle(client, result)
            moved = True
        return moved

    async def _settle(self, client: str, result: OrderResult) -> None:
        await self._handlers.handle(
            SettleOrder(client, result),
            request_id=f"{result.client_order_id}:settled",
            request={"rpc": "SettleOrder", "client_id": client, "order": result.client_order_id},
            metadata=ENGINE_METADATA,
        )

    async def _quotes(self, state: MarginAccount) -> Mapping[str, tuple[Quote, ...]]:
        """Every venue's quote for every asset left to sell (a venue that is down is left
        out: best execution is among the venues that answer)."""
        policy = await policy_at(self._handlers.runner, self._handlers.now())
        codes = sale_order(state, policy)
        asked = [(code, venue) for code in codes for venue in self._venues.values()]
        answers = await asyncio.gather(
            *(_quote(venue, code) for code, venue in asked), return_exceptions=False
        )
        quotes: dict[str, list[Quote]] = {code: [] for code in codes}
        for (code, _), quote in zip(asked, answers, strict=True):
            if quote is not None:
                quotes[code].append(quote)
        return {code: tuple(found) for code, found in quotes.items()}


async def _quote(venue: Venue, code: str) -> Quote | None:
    try:
        return await venue.quote(code)
    except VenueUnavailable:
        return None
