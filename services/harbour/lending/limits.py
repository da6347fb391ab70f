"""The limit monitor: every limit of ``harbour.ledger.limits`` watched all the time.

A follower of the global feed, like the risk monitor (its checkpoint is stored the same way,
``limit_monitor``), run by the lending service as the supervised loop ``limit-monitor``. For
each page it:

1. keeps its read models in the page's transaction (so each event counts exactly once): the
   collateral moved in or out of custody per asset, every client's concentration group, and
   the clients whose stream says they are over the single-client limit;
2. carries a client's principal from its old group to its new one on ``broker-exposure`` when
   its related group changes (``BrokerExposureChanged`` with reason ``group_change``, request
   id ``group-move-<client>-<version>``: appended once however often the page is replayed);
3. measures what the page moved — total loans (draws, repayments, capitalisation, an FX rate),
   one asset's or security's concentration (its price, collateral moved), a group (its
   exposure, a group change) — and appends a breach or a clearance where the figure and the
   stream's state disagree: broker-wide limits on ``broker-limits``, the single-client limit
   on each member's ``account-<id>``.

Time moves limits too: a policy version (new capital, shareholders' funds or limits) approved
for a future instant takes effect without any event. Each round the loop asks which version is
in force; when it differs from the one last measured (and on the first round after a start) it
measures every limit, and it sleeps no longer than until the next version's instant.

Exactly once: every decision compares a figure with the state of the stream it appends to and
appends at the version it read, so a restart, a replayed page or a second replica finds the
transition already recorded and appends nothing. A page whose figures a concurrent command
moved after they were read is corrected by that command's own event, which comes next.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from harbour.application.decoding import domain_event
from harbour.application.market import market, policy_history
from harbour.application.runner import CommandRunner
from harbour.application.streams import ACCOUNT_STREAM_PREFIX, ACCOUNTS, EXPOSURE, LIMITS
from harbour.eventstore.model import RecordedEvent
from harbour.eventstore.notify import FeedListener
from harbour.eventstore.outage import is_database_outage
from harbour.eventstore.projections import OnPoison, ProjectionRunner
from harbour.ledger import events as ev
from harbour.ledger import limits
from harbour.ledger.exposure import (
    EXPOSURE_STREAM,
    BrokerExposure,
    evolve_exposure,
    replay_exposure,
)
from harbour.ledger.ids import account_stream
from harbour.ledger.limits import (
    LIMITS_STREAM,
    BrokerLimits,
    LimitFigure,
)
from harbour.ledger.policy import CollateralPolicy, PolicyHistory
from harbour.ledger.postings import client_of
from harbour.ledger.prices import PriceTrack, evolve_price, price_stream
from harbour.lending.schema import (
    limit_client_flags,
    limit_collateral_held,
    limit_collateral_movements,
    limit_group_members,
)

log = logging.getLogger("harbour.lending.limits")
POLL_SECONDS = 1.0
LIMIT_METADATA = {"actor": "limit-monitor", "service": "lending"}
MINOR_UNITS = sa.Numeric(60, 0)  # quantities in minor units, as the read-model columns hold them
Clock = Callable[[], datetime]


# ------------------------------------------------------------------------------ a page


@dataclass
class _Page:
    """What one page of the feed moved."""

    last_position: int = 0
    collateral: dict[tuple[int, str], tuple[int, datetime]] = field(default_factory=dict)
    members: dict[str, str] = field(default_factory=dict)  # client -> group
    flagged: dict[str, str | None] = field(default_factory=dict)  # client -> group; None: clear
    group_changes: list[tuple[RecordedEvent, ev.RelatedGroupChanged]] = field(default_factory=list)
    broker_causes: dict[tuple[str, str], str] = field(default_factory=dict)
    group_causes: dict[str, str] = field(default_factory=dict)
    clients: dict[str, str] = field(default_factory=dict)  # client -> cause, decided regardless
    every_group: str | None = None  # a cause moving every group at once (an FX rate)

    @property
    def moves_broker(self) -> bool:
        return bool(self.broker_causes or self.collateral)


def _read_page(events: Sequence[RecordedEvent]) -> _Page:
    page = _Page()
    for recorded in events:
        page.last_position = max(page.last_position, recorded.position)
        if recorded.stream_id.startswith(ACCOUNT_STREAM_PREFIX):
            _account_event(page, recorded)
        elif recorded.type == "BrokerExposureChanged" and recorded.stream_id == EXPOSURE_STREAM:
            change = domain_event(recorded)
            assert isinstance(change, ev.BrokerExposureChanged)
            cause = limits.EXPOSURE_CAUSES.get(change.reason, limits.CAUSE_RECHECK)
            page.broker_causes[(limits.TOTAL_LOANS, limits.BROKER)] = cause
            page.group_causes[change.group_id] = cause
        elif recorded.type == "PriceObserved":
            _price(page, recorded)
    return page


def _account_event(page: _Page, recorded: RecordedEvent) -> None:
    client = recorded.stream_id[len(ACCOUNT_STREAM_PREFIX) :]
    kind = recorded.type
    if kind in ev.VALUE_MOVING_EVENT_TYPES:
        if not _text_may_post_to_custody(recorded) or not _posts_to_custody(recorded.data):
            return  # cash, loans, fees: no collateral figure moves, so no decoding
        journal = ev.journal_of(domain_event(recorded))
        for posting in journal.postings if journal is not None else ():
            owner = client_of(posting.ledger_account)
            if owner is None or owner[1] != "custody":
                continue
            key = (recorded.position, posting.asset)
            quantity = page.collateral.get(key, (0, recorded.recorded_at))[0] + posting.amount
            page.collateral[key] = (quantity, recorded.recorded_at)
            page.broker_causes.setdefault(
                (limits.concentration_kind(posting.asset), posting.asset), limits.CAUSE_COLLATERAL
            )
    elif kind == "ClientOnboarded":
        onboarded = domain_event(recorded)
        assert isinstance(onboarded, ev.ClientOnboarded)
        page.members[client] = onboarded.related_group_id or client
    elif kind == "RelatedGroupChanged":
        change = domain_event(recorded)
        assert isinstance(change, ev.RelatedGroupChanged)
        page.members[client] = change.related_group_id or client
        page.group_changes.append((recorded, change))
        page.clients[client] = limits.CAUSE_GROUP_CHANGE
    elif kind in ("ConcentrationLimitBreached", "ConcentrationLimitCleared"):
        flag = domain_event(recorded)
        assert isinstance(flag, ev.ConcentrationLimitBreached | ev.ConcentrationLimitCleared)
        if flag.limit != limits.SINGLE_CLIENT:
            return
        breached = isinstance(flag, ev.ConcentrationLimitBreached)
        page.flagged[client] = (flag.subject or client) if breached else None
        # Recorded on figures that may have moved since: measured once more.
        page.clients.setdefault(client, limits.CAUSE_RECHECK)


def _text_may_post_to_custody(recorded: RecordedEvent) -> bool:
    """A first look at the stored JSON, before it is parsed: text with no "custody" in it, and
    no ``\\u`` escape that could spell it, names no custody account. Parsing was about a third
    of what the monitor still spent under a burst of draws (py-spy of the lending service). An
    event that upcasting would change is left to the parsed data, which alone shows what it
    becomes."""
    upcast = recorded.upcaster
    if upcast is not None and recorded.schema_version < upcast.current_version(recorded.type):
        return True
    text = recorded.data_json
    return "custody" in text or "\\u" in text


def _posts_to_custody(data: Mapping[str, Any]) -> bool:
    """Whether an event's journal, as stored (upcast to the current shape), may post to a
    client's custody account — the only postings this monitor counts. Read from the JSON
    without decoding the event: most value-moving events (deposits, draws, interest) post
    cash and loans only, and decoding each was a twentieth of the lending process's time
    under a burst of draws. Any other shape is left to decoding, which refuses it."""
    journal = data.get("journal")
    if not isinstance(journal, list):
        return True
    for posting in journal:
        account = posting.get("account") if isinstance(posting, dict) else None
        if not isinstance(account, str):
            return True
        if account.startswith("client:") and account.count(":") != 2:
            return True  # a client account client_of cannot read: decoding refuses it
        owner = client_of(account)
        if owner is not None and owner[1] == "custody":
            return True
    return False


def _price(page: _Page, recorded: RecordedEvent) -> None:
    code = str(recorded.data.get("base_asset", ""))
    if not code:
        return
    if limits.is_fx(code):
        # An FX rate values every loan not in HKD: the total and every group move.
        page.broker_causes[(limits.TOTAL_LOANS, limits.BROKER)] = limits.CAUSE_FX
        page.every_group = limits.CAUSE_FX
    else:
        page.broker_causes[(limits.concentration_kind(code), code)] = limits.CAUSE_PRICE


# ------------------------------------------------------------------------------ the monitor


@dataclass(frozen=True)
class _Market:
    policy: CollateralPolicy
    prices: dict[str, ev.PricePoint]
    exposure: BrokerExposure
    now: datetime

    @property
    def basis(self) -> ev.DecisionBasis:
        return limits.basis_of(self.policy, self.prices, self.now)


class LimitMonitor:
    name = "limit_monitor"
    tables: Sequence[sa.Table] = (
        limit_collateral_movements,
        limit_collateral_held,
        limit_group_members,
        limit_client_flags,
    )
    on_poison = OnPoison.SKIP  # limits for everyone go on past an event it cannot apply

    def __init__(self, runner: CommandRunner, *, clock: Clock) -> None:
        self._runner = runner
        self._clock = clock
        # The policy version every limit was last measured under; None: not since the start.
        self.measured_version: int | None = None
        self._measured_policy: CollateralPolicy | None = None
        # Limits whose amount a version taking effect moved, not decided broker-wide yet.
        self._moved_limits: frozenset[tuple[str, str]] = frozenset()
        # What the last broker-wide decision measured (exposure, collateral held, prices).
        self._last_inputs: (
            tuple[BrokerExposure, dict[str, int], dict[str, ev.PricePoint]] | None
        ) = None
        # Broker-wide limits moved by pages applied but not decided yet (with their causes),
        # and the cause for every other broker-wide limit when all are due (None: not all).
        self._pending: dict[tuple[str, str], str] = {}
        self._pending_all: str | None = None
        # The exposure (state, version) and the prices as far as this monitor has followed.
        self._exposure: tuple[BrokerExposure, int] | None = None
        self._prices: dict[str, ev.PricePoint] = {}
        # The last feed position applied: what a decision on time rests on, so it is part of
        # its request id (two rounds at one instant, as a manual or coarse clock gives, decide
        # on different figures and must not share one: the second would replay the first's
        # answer and record nothing).
        self._position = 0

    async def apply(self, conn: AsyncConnection, events: Sequence[RecordedEvent]) -> None:
        page = _read_page(events)
        self._position = max(self._position, page.last_position)
        await _record(conn, page)
        before = None if self._exposure is None else self._exposure[0]
        await self._follow(events)
        for recorded, change in page.group_changes:
            await self._move_group(recorded, change)
        if page.group_changes:
            self._exposure = None  # with the moves just appended: the groups decide on them
        # Broker-wide limits are decided once the feed is caught up (:meth:`on_time`): the
        # collateral held is this monitor's own running sum, which is only current at the
        # head (a page replayed after a restart would otherwise compare an old sum with the
        # limit's current state). Groups are decided now: on the current exposure and each
        # account's own state, never on the page's.
        self._pending.update(page.broker_causes)
        market_now = await self._market()
        anchor = f"{page.last_position}-v{market_now.policy.version}"
        if self.measured_version != market_now.policy.version:
            # First page since a start, or a version took effect: every limit, once.
            otherwise = self._everything_cause()
            group_causes = dict(page.group_causes)
            if self._measured_policy is not None and before is not None:
                # A group the page moved is put down to the page's event unless the version
                # alone flips it (measured on the exposure before the page).
                flipped = limits.groups_flipped_by_policy(
                    before,
                    group_causes,
                    market_now.prices,
                    self._measured_policy,
                    market_now.policy,
                )
                group_causes.update(dict.fromkeys(flipped, limits.CAUSE_BROKER_FIGURES))
            self._measure(market_now.policy)
            await self._decide_groups(
                conn, market_now, None, group_causes, otherwise, page.clients, anchor
            )
            self._pending_all = otherwise
            return
        only = None if page.every_group else list(page.group_causes)
        await self._decide_groups(
            conn,
            market_now,
            only,
            page.group_causes,
            page.every_group or limits.CAUSE_RECHECK,
            page.clients,
            anchor,
        )

    async def on_time(self) -> None:
        """After a catch-up: decide the broker-wide limits the pages moved, and measure every
        limit when the policy in force is not the one last measured (a version approved for a
        later instant has taken effect, or this is the first round since a start)."""
        market_now = await self._market()
        anchor = f"t{market_now.now.isoformat()}-p{self._position}-v{market_now.policy.version}"
        async with self._runner.store.engine.connect() as conn:
            if self.measured_version != market_now.policy.version:
                otherwise = self._everything_cause()
                self._measure(market_now.policy)
                await self._decide_groups(conn, market_now, None, {}, otherwise, {}, anchor)
                self._pending_all = otherwise
            if self._pending or self._pending_all:
                causes = dict(self._pending)
                rest = self._pending_all or limits.CAUSE_RECHECK
                await self._decide_broker(conn, market_now, causes, anchor, otherwise=rest)
                for key in causes:
                    self._pending.pop(key, None)
                self._pending_all = None
                self._moved_limits = frozenset()
            await conn.commit()

    def _measure(self, policy: CollateralPolicy) -> None:
        """Every limit is now measured under ``policy``. The broker-wide limits it moved are
        kept for their decision (on time)."""
        self._moved_limits |= limits.limits_moved(self._measured_policy, policy)
        self.measured_version, self._measured_policy = policy.version, policy

    def _everything_cause(self) -> str:
        """Why every limit is measured: a restart (re-checked) or a version taking effect."""
        if self.measured_version is None:
            return limits.CAUSE_RECHECK
        return limits.CAUSE_BROKER_FIGURES

    async def seconds_to_next_version(self) -> float | None:
        """Seconds until the next approved policy version takes effect (None: none is due)."""
        history = await policy_history(self._runner)
        now = self._clock()
        later = [v.effective_from for v in history.versions if v.effective_from > now]
        return None if not later else (min(later) - now).total_seconds()

    # -------------------------------------------------------------------------- deciding

    async def _market(self) -> _Market:
        """The figures' inputs as of this monitor's place in the feed: the exposure and the
        prices it has followed (so a breach is told the cause it really had, not one of an
        event it has not reached yet), the policy in force now."""
        now = self._clock()
        exposure = await self._followed_exposure()
        history = await policy_history(self._runner)
        codes = limits.priced_codes(exposure, history.as_of(now))
        policy, current = await market(self._runner, now, codes)
        prices = {**current, **{c: p for c, p in self._prices.items() if c in codes}}
        return _Market(policy, prices, exposure, now)

    async def _followed_exposure(self) -> BrokerExposure:
        if self._exposure is None:
            # Loaded once, at the first page: from then on it follows the feed.
            loaded = await self._runner.load(EXPOSURE, EXPOSURE_STREAM)
            self._exposure = (loaded.state, loaded.version)
        return self._exposure[0]

    async def _follow(self, events: Sequence[RecordedEvent]) -> None:
        """Bring the followed exposure and prices past ``events``."""
        await self._followed_exposure()
        for recorded in events:
            if recorded.type == "PriceObserved":
                point = domain_event(recorded)
                assert isinstance(point, ev.PriceObserved)
                seen = self._prices.get(point.base_asset)
                if seen is None or point.observed_at > seen.observed_at:
                    self._prices[point.base_asset] = ev.PricePoint(
                        point.base_asset,
                        point.quote_asset,
                        point.price,
                        point.observed_at,
                        point.source,
                    )
            elif recorded.stream_id == EXPOSURE_STREAM and self._exposure is not None:
                state, version = self._exposure
                if recorded.version <= version:
                    continue  # already in the state loaded at the start (or a page re-applied)
                if recorded.version > version + 1:  # not seen in order: read it exactly
                    self._exposure = None
                    await self._followed_exposure()
                    continue
                self._exposure = (evolve_exposure(state, domain_event(recorded)), recorded.version)

    async def _decide_broker(
        self,
        conn: AsyncConnection,
        market_now: _Market,
        causes: Mapping[tuple[str, str], str],
        anchor: str,
        *,
        otherwise: str = limits.CAUSE_RECHECK,
    ) -> None:
        held = await collateral_held(conn)  # the page's own writes included
        figures = limits.broker_figures(
            market_now.exposure, held, market_now.prices, market_now.policy
        )
        # A version moved some limits' amounts since the last decision: those limits on that
        # decision's inputs tell what the version alone flipped (see limits_moved).
        policy_only = (
            [
                figure
                for figure in limits.broker_figures(*self._last_inputs, market_now.policy)
                if figure.key in self._moved_limits
            ]
            if self._moved_limits and self._last_inputs is not None
            else []
        )
        basis = market_now.basis

        def decide(state: BrokerLimits) -> list[ev.Event]:
            return limits.decide_broker_limits(
                state, figures, causes, basis, otherwise=otherwise, policy_only=policy_only
            )

        await self._runner.run(
            LIMITS,
            LIMITS_STREAM,
            decide,
            request_id=f"limits-broker-{anchor}",
            request={"rpc": "CheckBrokerLimits", "anchor": anchor},
            metadata=LIMIT_METADATA,
        )
        self._last_inputs = (market_now.exposure, held, market_now.prices)

    async def _decide_groups(
        self,
        conn: AsyncConnection,
        market_now: _Market,
        only: Sequence[str] | None,
        causes: Mapping[str, str],
        otherwise: str,
        touched: Mapping[str, str],
        anchor: str,
    ) -> None:
        """Decide on the stream of every client whose flag may differ from its group's figure:
        members of a group over the limit not flagged yet, flagged clients whose group is
        within it, and ``touched`` clients. ``only``: the groups moved; None: every group.
        ``causes`` says what moved a group; any other was moved by ``otherwise``."""
        exposure, prices, policy = market_now.exposure, market_now.prices, market_now.policy
        measured_groups = list(exposure.by_group) if only is None else list(only)
        figures = {g: limits.group_figure(exposure, g, prices, policy) for g in measured_groups}
        breached = [g for g, figure in figures.items() if figure.breached]
        flagged = await _flagged(conn)
        group_of = await _members_of(conn, breached, list(flagged))
        due = clients_due(
            touched,
            group_of,
            flagged,
            figures,
            lambda group: limits.group_figure(exposure, group, prices, policy),
            causes,
            otherwise,
            every_group=only is None,
        )
        for client, cause in sorted(due.items()):
            await self._decide_client(client, market_now, cause, anchor)

    async def _decide_client(
        self, client: str, market_now: _Market, cause: str, anchor: str
    ) -> None:
        basis = market_now.basis

        def decide(account: Any) -> list[ev.Event]:
            return limits.decide_client_limit(
                account,
                market_now.exposure,
                market_now.prices,
                market_now.policy,
                cause,
                basis,
            )

        try:
            await self._runner.run(
                ACCOUNTS,
                account_stream(client),
                decide,
                request_id=f"limit-{client}-{anchor}",
                request={"rpc": "CheckClientLimit", "client_id": client, "anchor": anchor},
                metadata=LIMIT_METADATA,
            )
        except Exception as failure:  # one account's fault never stops the book's limits
            if is_database_outage(failure):
                raise
            log.exception("limit check of %s failed; its next event checks it again", client)

    async def _move_group(self, recorded: RecordedEvent, change: ev.RelatedGroupChanged) -> None:
        """Carry the client's principal over to its new group, once."""
        client = change.client_id
        before = (
            await self._runner.load(
                ACCOUNTS, recorded.stream_id, up_to_position=recorded.position - 1
            )
        ).state
        reference = f"group-move-{client}-{recorded.version}"
        moves = limits.group_move(before, change, reference)
        if not moves:
            return
        await self._runner.run(
            EXPOSURE,
            EXPOSURE_STREAM,
            lambda _: moves,
            request_id=reference,
            request={"rpc": "MoveGroupExposure", "client_id": client, "version": recorded.version},
            metadata=LIMIT_METADATA,
        )


# ------------------------------------------------------------------------------ read models


def clients_due(
    touched: Mapping[str, str],
    group_of: Mapping[str, str],
    flagged: Mapping[str, str],
    figures: Mapping[str, LimitFigure],
    measure: Callable[[str], LimitFigure],
    causes: Mapping[str, str],
    otherwise: str,
    *,
    every_group: bool,
) -> dict[str, str]:
    """Each client whose single-client flag may differ from its group's figure, with the cause
    to record: ``touched`` clients (the page's own), members of a breached group not flagged
    yet, and flagged clients whose group is within its limit.

    ``group_of``: the members of the breached groups and of the flagged clients' groups;
    ``flagged``: client -> the group it was flagged for; ``figures``: the groups measured
    (the groups the page moved, or every group when ``every_group``); ``measure``: the figure
    of any other group. ``causes`` says what moved a group; any other was moved by
    ``otherwise``. Pure, so the choice of cause is tested on its own (tests/unit/lending).
    """
    due: dict[str, str] = dict(touched)

    def owe(client: str, cause: str) -> None:
        # A client the page touched only with its own flag is re-measured ("recheck");
        # a move of its group in the same page (a repayment) is what really moved it.
        if due.get(client, limits.CAUSE_RECHECK) == limits.CAUSE_RECHECK:
            due[client] = cause

    breached = {g for g, figure in figures.items() if figure.breached}
    for client, group in group_of.items():
        if group in breached and client not in flagged:
            owe(client, causes.get(group, otherwise))
    for client, flagged_group in flagged.items():
        group = group_of.get(client, flagged_group)
        if not every_group and group not in figures and flagged_group not in figures:
            continue  # neither its group nor the one it was flagged for moved
        figure = figures.get(group) or measure(group)
        if not figure.breached:
            owe(client, causes.get(group, otherwise))
    return due


async def _record(conn: AsyncConnection, page: _Page) -> None:
    if page.collateral:
        rows = [
            {"position": p, "asset": code, "quantity": q, "recorded_at": at}
            for (p, code), (q, at) in sorted(page.collateral.items())
            if q != 0
        ]
        if rows:
            await conn.execute(pg_insert(limit_collateral_movements).on_conflict_do_nothing(), rows)
        totals: dict[str, int] = defaultdict(int)
        for (_, code), (quantity, _) in page.collateral.items():
            totals[code] += quantity
        for code, quantity in sorted(totals.items()):
            upsert = pg_insert(limit_collateral_held).values(asset=code, quantity=quantity)
            await conn.execute(
                upsert.on_conflict_do_update(
                    index_elements=["asset"],
                    # Typed as the column: ETH's 18 decimals overflow the BIGINT a bare int
                    # parameter would be cast to.
                    set_={
                        "quantity": limit_collateral_held.c.quantity
                        + sa.bindparam(None, quantity, type_=MINOR_UNITS)
                    },
                )
            )
    for client, group in sorted(page.members.items()):
        upsert = pg_insert(limit_group_members).values(client_id=client, group_id=group)
        await conn.execute(
            upsert.on_conflict_do_update(index_elements=["client_id"], set_={"group_id": group})
        )
    for client, flagged_group in sorted(page.flagged.items()):
        if flagged_group is None:
            await conn.execute(
                sa.delete(limit_client_flags).where(limit_client_flags.c.client_id == client)
            )
            continue
        upsert = pg_insert(limit_client_flags).values(client_id=client, group_id=flagged_group)
        await conn.execute(
            upsert.on_conflict_do_update(
                index_elements=["client_id"], set_={"group_id": flagged_group}
            )
        )


async def collateral_held(conn: AsyncConnection, as_of: datetime | None = None) -> dict[str, int]:
    """Every client's collateral per asset (minor units): now, or as of an instant."""
    if as_of is None:
        rows = await conn.execute(sa.select(limit_collateral_held))
    else:
        table = limit_collateral_movements
        rows = await conn.execute(
            sa.select(table.c.asset, sa.func.sum(table.c.quantity))
            .where(table.c.recorded_at <= as_of)
            .group_by(table.c.asset)
        )
    return {code: int(quantity) for code, quantity in rows if quantity}


async def _flagged(conn: AsyncConnection) -> dict[str, str]:
    rows = await conn.execute(sa.select(limit_client_flags))
    return {client: group for client, group in rows}


async def _members_of(
    conn: AsyncConnection, groups: Iterable[str], clients: Iterable[str]
) -> dict[str, str]:
    """client -> group for every member of ``groups`` and for each of ``clients``."""
    table = limit_group_members
    wanted_groups, wanted_clients = sorted(set(groups)), sorted(set(clients))
    if not wanted_groups and not wanted_clients:
        return {}
    rows = await conn.execute(
        sa.select(table.c.client_id, table.c.group_id).where(
            table.c.group_id.in_(wanted_groups) | table.c.client_id.in_(wanted_clients)
        )
    )
    return {client: group for client, group in rows}


# ------------------------------------------------------------------------------ the report


@dataclass(frozen=True)
class LimitReport:
    as_of: datetime
    policy_version: int
    figures: list[LimitFigure]


async def limit_report(
    runner: CommandRunner, *, now: datetime, as_of: datetime | None = None
) -> LimitReport:
    """Every limit, measured as of ``as_of`` (None: now, from the current states). As of a
    past instant everything is rebuilt from what was recorded by then: the exposure stream and
    the prices folded up to it, the policy version in force at it, the collateral summed up to
    it (so its cost grows with history: it is a report, not a decision)."""
    if as_of is None or as_of >= now:
        instant = now if as_of is None else as_of
        exposure = (await runner.load(EXPOSURE, EXPOSURE_STREAM)).state
        history = await policy_history(runner)
        codes = limits.priced_codes(exposure, history.as_of(instant))
        policy, prices = await market(runner, instant, codes)
        async with runner.store.engine.connect() as conn:
            held = await collateral_held(conn)
    else:
        instant = as_of
        store = runner.store
        recorded = await store.read_stream(EXPOSURE_STREAM, recorded_until=as_of)
        exposure = replay_exposure(domain_event(r) for r in recorded)
        history = await _history_until(runner, as_of)
        policy = history.as_of(as_of)
        prices = await _prices_until(runner, limits.priced_codes(exposure, policy), as_of)
        async with store.engine.connect() as conn:
            held = await collateral_held(conn, as_of)
    figures = limits.limit_report(exposure, held, prices, policy)
    return LimitReport(instant, policy.version, figures)


async def _history_until(runner: CommandRunner, as_of: datetime) -> PolicyHistory:
    from harbour.ledger.policy import POLICY_STREAM, evolve_policy

    history = PolicyHistory()
    for recorded in await runner.store.read_stream(POLICY_STREAM, recorded_until=as_of):
        history = evolve_policy(history, domain_event(recorded))
    return history


async def _prices_until(
    runner: CommandRunner, codes: Iterable[str], as_of: datetime
) -> dict[str, ev.PricePoint]:
    prices: dict[str, ev.PricePoint] = {}
    for code in sorted(codes):
        track = PriceTrack.of_stream(price_stream(code))
        for recorded in await runner.store.read_stream(price_stream(code), recorded_until=as_of):
            track = evolve_price(track, domain_event(recorded))
        if track.last is not None:
            prices[code] = track.last
    return prices


# ------------------------------------------------------------------------------ the loop


def _no_heartbeat() -> None:
    """For a loop run without a supervisor."""


async def run_limit_monitor(
    runner: CommandRunner,
    *,
    clock: Clock,
    pace: float = 0.0,
    heartbeat: Callable[[], None] = _no_heartbeat,
) -> None:
    """The limit monitor, until cancelled. A database failure is raised to the supervisor,
    which starts it again; it resumes from its checkpoint and measures everything once."""
    store = runner.store
    monitor = LimitMonitor(runner, clock=clock)
    projections = ProjectionRunner(store, clock=clock)
    async with FeedListener.for_database(store.database, pace=pace) as listener:
        while True:
            await projections.catch_up(monitor)
            await monitor.on_time()
            heartbeat()
            due = await monitor.seconds_to_next_version()
            wait = POLL_SECONDS if due is None else min(POLL_SECONDS, max(due, 0.0))
            if wait > 0:
                await listener.wait(wait)
            else:
                await asyncio.sleep(0)
