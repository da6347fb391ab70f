"""The collateral service's command handling and valuations.

Prices, policy changes and market closures go through the shared runner (load -> decide ->
append on ``price-<ASSET>``, ``policy-collateral`` and ``calendar-HKEX``). A single valuation
reads the account, the prices and the policy from their streams; a batch reads holdings from
the ``balances`` read model a page at a time (one query each) and says which feed position each
page reflects, yielding the event loop between pages: a batch of 100,000 accounts is a hundred
short steps, not one long stall of every other caller.

The price-feed watchdog (:meth:`CollateralHandlers.alert_stale_feeds`, run in a loop by
:func:`watch_price_feeds`) appends ``PriceFeedStale`` to a silent feed's price stream. Its
request id names the asset and the ordinal of the last accepted observation, so one
staleness episode is alerted once whatever the number of replicas or restarts.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from harbour.accounts.schema import balances
from harbour.application.market import load_account, market, market_calendar, policy_at
from harbour.application.outcome import Outcome
from harbour.application.runner import CommandRunner
from harbour.application.streams import CALENDAR, POLICY, PRICES
from harbour.collateral.domain import (
    FX_WATCHED,
    CalendarContext,
    PolicyCommand,
    PolicyContext,
    PriceContext,
    RecordMarketClosure,
    RecordPrice,
    decide_closure,
    decide_feed_staleness,
    decide_policy,
    decide_price,
)
from harbour.collector import collector_paused_for
from harbour.eventstore.schema import projection_checkpoints
from harbour.eventstore.store import request_fingerprint
from harbour.ledger import events as ev
from harbour.ledger.calendar import MarketCalendar, calendar_stream
from harbour.ledger.errors import AccountNotFound
from harbour.ledger.policy import POLICY_STREAM, CollateralPolicy
from harbour.ledger.postings import CLIENT_ACCOUNT_KINDS
from harbour.ledger.prices import PriceTrack, price_stream
from harbour.ledger.valuation import Holdings, Valuation, holdings_of, value_accounts

Clock = Callable[[], datetime]
WATCHDOG_METADATA = {"actor": "price-feed-watchdog", "service": "collateral"}
# Seconds between two rounds of the watchdog: well inside the 120 s staleness window.
WATCHDOG_SECONDS = 5.0
HELD_KINDS = frozenset({"cash", "custody"})
# Accounts valued per step of a batch: one balances query, one valuation, one response message.
VALUATION_PAGE = 250
OWED_KINDS = frozenset(CLIENT_ACCOUNT_KINDS) - HELD_KINDS


class CollateralHandlers:
    def __init__(self, runner: CommandRunner, *, clock: Clock) -> None:
        self.runner = runner
        self._clock = clock
        # Watchdog episodes this process has seen recorded (saves a round trip per round
        # while a feed stays silent; the command log is what makes the alert exactly-once).
        self._alerted: set[str] = set()

    def now(self) -> datetime:
        return self._clock()

    # ------------------------------------------------------------------------- commands
    async def record_price(
        self,
        command: RecordPrice,
        *,
        request_id: str,
        request: Mapping[str, Any],
        metadata: Mapping[str, Any],
    ) -> Outcome:
        now = self._clock()
        decided: list[ev.Event] = []

        async def decide(track: PriceTrack, reads: dict[str, int] | None) -> list[ev.Event]:
            # The policy in force, as cached and held by the append at the version read (a
            # change meanwhile makes it conflict): a warm tick is one round trip, not two.
            policy, _ = await market(self.runner, now, (), reads)
            decided[:] = decide_price(track, command, PriceContext(now, policy))
            return decided

        return await self.runner.run_reading(
            PRICES,
            price_stream(command.asset),
            decide,
            request_id=request_id,
            request=request,
            metadata=metadata,
            respond=lambda _: _price_response(decided),
        )

    async def change_policy(
        self,
        command: PolicyCommand,
        *,
        actor: str,
        request_id: str,
        request: Mapping[str, Any],
        metadata: Mapping[str, Any],
    ) -> Outcome:
        context = PolicyContext(self._clock(), actor)
        return await self.runner.run(
            POLICY,
            POLICY_STREAM,
            lambda history: decide_policy(history, command, context),
            request_id=request_id,
            request=request,
            metadata=metadata,
            respond=lambda history: {"policy_version": history.latest.version},
        )

    # ------------------------------------------------------------------------- calendar
    async def record_closure(
        self,
        command: RecordMarketClosure,
        *,
        actor: str,
        request_id: str,
        request: Mapping[str, Any],
        metadata: Mapping[str, Any],
    ) -> Outcome:
        """Record an extraordinary closure; the response says whether it added one (a repeat
        of a closure already recorded under another request id adds none)."""
        context = CalendarContext(self._clock(), actor)
        decided: list[ev.Event] = []

        def decide(calendar: MarketCalendar) -> list[ev.Event]:
            decided[:] = decide_closure(calendar, command, context)
            return decided

        outcome = await self.runner.run(
            CALENDAR,
            calendar_stream(command.market),
            decide,
            request_id=request_id,
            request=request,
            metadata=metadata,
            respond=lambda _: {"recorded": bool(decided)},
        )
        if decided:
            return outcome
        # Nothing new to record: a retry of a closure this request recorded gets its first
        # answer (and a reused request_id is refused), as every command's repeat does.
        first = await self.runner.replay(request_id, request_fingerprint(request))
        return first if first is not None else outcome

    async def calendar(self) -> MarketCalendar:
        return await market_calendar(self.runner)

    # ------------------------------------------------------------------------- feed watchdog
    async def alert_stale_feeds(self) -> list[ev.PriceFeedStale]:
        """One round of the watchdog: a ``PriceFeedStale`` for each eligible virtual asset
        and each cash currency's FX rate whose feed has gone silent, unless this episode was
        alerted already. Returns the alerts this call wrote. Raises on failure (the caller's
        loop decides what then)."""
        now = self._clock()
        context = PriceContext(now, await policy_at(self.runner, now))
        written = []
        for code in sorted(set(context.policy.eligible_virtual_assets) | FX_WATCHED):
            alert = await self._alert_if_stale(code, context)
            if alert is not None:
                written.append(alert)
        return written

    async def _alert_if_stale(self, code: str, context: PriceContext) -> ev.PriceFeedStale | None:
        stream = price_stream(code)
        track = (await self.runner.load(PRICES, stream)).state
        if not decide_feed_staleness(track, context):
            return None
        episode = track.accepted  # the ordinal of the last accepted observation
        request_id = f"price-feed-stale-{code}-{episode}"
        if request_id in self._alerted:
            return None
        decided: list[ev.Event] = []

        def decide(current: PriceTrack) -> list[ev.Event]:
            # A price accepted meanwhile ends the episode: the next round decides afresh.
            ended = current.accepted != episode
            decided[:] = [] if ended else decide_feed_staleness(current, context)
            return decided

        outcome = await self.runner.run(
            PRICES,
            stream,
            decide,
            request_id=request_id,
            request={"rpc": "PriceFeedWatchdog", "asset": code, "observation": episode},
            metadata=WATCHDOG_METADATA,
            respond=lambda _: {"alerted": True},
        )
        if not decided:
            return None
        self._alerted.add(request_id)
        (alert,) = decided
        if outcome.result.replayed or not isinstance(alert, ev.PriceFeedStale):
            return None  # another replica (or this one before a restart) alerted first
        return alert

    # ------------------------------------------------------------------------- valuations
    async def value(self, client_id: str) -> tuple[Valuation, int]:
        """One account now, from its stream; returns the valuation and the version valued."""
        account, version = await load_account(self.runner, client_id)
        if not account.exists:
            raise AccountNotFound(f"client {client_id} has no margin account")
        holdings = holdings_of(account)
        now = self._clock()
        policy, prices = await market(self.runner, now, [*holdings.assets, *holdings.debt])
        return value_accounts([holdings], prices, policy, now)[0], version

    async def value_pages(
        self, client_ids: Sequence[str], *, page: int = VALUATION_PAGE
    ) -> AsyncIterator[tuple[list[Valuation], int]]:
        """Many accounts (every client with a balance when ``client_ids`` is empty), ``page``
        at a time, from the balances read model: yields each page's valuations and the feed
        position its holdings reflect (at least one page, empty when there is no client).
        Every page is valued as of one instant, against the policy and prices read once."""
        clients = list(client_ids) if client_ids else await self._clients_with_balances()
        now = self._clock()
        policy: CollateralPolicy | None = None
        prices: dict[str, ev.PricePoint] = {}
        priced: set[str] = set()
        for start in range(0, max(len(clients), 1), page):
            holdings, position = await self._holdings(clients[start : start + page])
            codes = {code for h in holdings for code in (*h.assets, *h.debt)} - priced
            if policy is None or codes:
                in_force, fresh = await market(self.runner, now, codes)
                policy = policy or in_force
                prices.update(fresh)
                priced |= codes
            with collector_paused_for(holdings):
                valuations = value_accounts(holdings, prices, policy, now)
            yield valuations, position
            await asyncio.sleep(0)  # the next page after other callers had their turn

    async def _clients_with_balances(self) -> list[str]:
        client = sa.func.split_part(balances.c.ledger_account, ":", 2)
        query = sa.select(client).where(balances.c.ledger_account.startswith("client:")).distinct()
        async with self.runner.store.engine.connect() as conn:
            return sorted((await conn.execute(query)).scalars().all())

    async def _holdings(self, clients: Sequence[str]) -> tuple[list[Holdings], int]:
        """The holdings of ``clients`` (in that order) and the feed position they reflect."""
        names = [f"client:{c}:{kind}" for c in clients for kind in CLIENT_ACCOUNT_KINDS]
        # One array parameter, not one parameter per ledger account.
        wanted = sa.bindparam("names", names, type_=postgresql.ARRAY(sa.Text))
        query = sa.select(balances.c.ledger_account, balances.c.asset, balances.c.amount).where(
            balances.c.ledger_account == sa.any_(wanted)
        )
        held: dict[str, dict[str, int]] = defaultdict(dict)
        owed: dict[str, dict[str, int]] = defaultdict(dict)
        async with self.runner.store.engine.connect() as conn:
            # One snapshot for the rows and the checkpoint they reflect.
            await conn.execute(sa.text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
            rows = (await conn.execute(query)).all()
            checkpoint = await conn.scalar(
                sa.select(projection_checkpoints.c.position).where(
                    projection_checkpoints.c.name == "balances"
                )
            )
        for ledger_account, code, amount in rows:
            _, client, kind = ledger_account.split(":")
            minor = int(amount)
            if kind in HELD_KINDS:
                held[client][code] = held[client].get(code, 0) + minor
            elif kind in OWED_KINDS:  # owed balances are negative: the client owes minus them
                owed[client][code] = owed[client].get(code, 0) - minor
        result = [
            Holdings(
                client,
                {c: q for c, q in held.get(client, {}).items() if q},
                {c: q for c, q in owed.get(client, {}).items() if q},
            )
            for client in clients
        ]
        return result, int(checkpoint or 0)


def _price_response(decided: Sequence[ev.Event]) -> dict[str, Any]:
    (event,) = decided
    if isinstance(event, ev.PriceRejected):
        return {"accepted": False, "rejection_reason": event.reason}
    return {"accepted": True, "rejection_reason": ""}


async def watch_price_feeds(
    handlers: CollateralHandlers,
    heartbeat: Callable[[], None] = lambda: None,
    *,
    interval: float = WATCHDOG_SECONDS,
) -> None:
    """The price-feed watchdog, until cancelled: a round every ``interval`` seconds, then
    ``heartbeat``. A failed round raises: the runtime's supervisor (``harbour.runtime.
    supervisor``) restarts the loop with backoff and reports NOT_SERVING while it is down;
    alerts are exactly-once whatever the restarts (see :meth:`alert_stale_feeds`)."""
    while True:
        await handlers.alert_stale_feeds()
        heartbeat()
        await asyncio.sleep(interval)
