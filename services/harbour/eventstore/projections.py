"""Projections: read models kept exactly once by storing the checkpoint with the rows.

A projection owns tables and applies a page of feed events to them in one transaction,
together with its checkpoint — so a crash loses nothing and applies nothing twice. Every
projection can be rebuilt from position zero, and ``verify`` rebuilds one into temporary
tables and compares them with the live ones as of the live checkpoint.

Poison. An event a projection cannot decode or apply (its data is malformed, of a type it does
not know, or breaks the projection's own rules or constraints: :func:`is_poison`) must not stop
every read model for good. Each projection applies its part of a page inside a SAVEPOINT; when
that fails on poison, the events are applied again by halves to find the first one that fails
on its own. A read model is then **quarantined** at it: everything before it is kept, its
checkpoint stays just before it, and ``projection_status`` records the event's position,
stream, type and the reason — while every other projection applies the page and goes on. It
stays stopped until an operator releases it (:meth:`ProjectionRunner.release`, after a fix).
A follower that must never stop (the risk monitor: ``on_poison = OnPoison.SKIP``) records the
event the same way, counts it, and goes past it. A failure of the machinery instead (the
database away, a crash) is raised, as before: the supervisor restarts the loop, which resumes
from the checkpoints.

Lag. After every page the runner sets ``harbour_feed_lag_events`` of each projection it ran:
the head's position minus the checkpoint's (harbour.metrics), one indexed read.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Protocol

import psycopg
import sqlalchemy as sa
import sqlalchemy.exc
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from harbour.collector import collector_paused_for
from harbour.eventstore.model import START, FeedCheckpoint, RecordedEvent
from harbour.eventstore.outage import is_database_outage
from harbour.eventstore.schema import projection_checkpoints, projection_status, stream_heads
from harbour.eventstore.store import HORIZON_SQL, EventStore
from harbour.metrics import FEED_LAG

Clock = Callable[[], datetime]
log = logging.getLogger("harbour.projections")

QUARANTINED, RUNNING = "quarantined", "running"
# Each named follower's lag: the head's position minus its checkpoint's (the head itself when it
# has no checkpoint yet). Positions, not a count: counting the events would scan them all.
LAG_SQL = sa.text(
    "SELECT n.name, greatest(0, h.head - coalesce(c.position, 0)) "
    "FROM unnest(CAST(:names AS text[])) AS n(name) "
    "CROSS JOIN (SELECT coalesce(max(position), 0) AS head FROM events) AS h "
    "LEFT JOIN projection_checkpoints c ON c.name = n.name"
)
REASON_LIMIT = 2000  # characters of a failure kept as the reason
# Events per page of a rebuild: a page is one feed query and one transaction for every
# projection, and a read model that folds a client's state reads and writes its row once per
# page — the fewer pages, the fewer of both.
REBUILD_PAGE_SIZE = 20_000
# SQLSTATE classes of a statement refused for the data it was given: 22 data exception
# (numeric overflow, invalid text), 23 integrity constraint violation (not null, unique, check).
POISON_SQLSTATE_CLASSES = frozenset({"22", "23"})


class OnPoison(Enum):
    """What a projection does at an event it cannot apply."""

    QUARANTINE = "quarantine"  # a read model: stop at it (rows would be wrong past it)
    SKIP = "skip"  # a follower that must not stop for everyone: record it and go past


class PoisonEvent(Exception):
    """Raised by a projection refusing an event it cannot apply (a rule of its own)."""


# Python errors that code meets on data it cannot read or apply: the decoder's DecodeError
# and UnknownEventType are ValueErrors; a missing key, a wrong type, a bad number.
POISON_ERRORS: tuple[type[BaseException], ...] = (
    PoisonEvent,
    ValueError,
    TypeError,
    LookupError,
    ArithmeticError,
    AssertionError,
)


def is_poison(failure: BaseException) -> bool:
    """Whether ``failure`` to apply events lies in an event (its data cannot be read or
    applied) rather than in the machinery (the database away, a crash, a bug that fails every
    page). Poison stops one projection at that event; anything else is raised to the loop's
    supervisor, which starts it again."""
    if is_database_outage(failure):
        return False
    cause: BaseException = failure
    if isinstance(cause, sqlalchemy.exc.StatementError) and cause.orig is not None:
        cause = cause.orig  # SQLAlchemy's wrapper of the driver's (or a binding's) error
    if isinstance(cause, psycopg.Error):
        return (cause.sqlstate or "")[:2] in POISON_SQLSTATE_CLASSES
    return isinstance(cause, POISON_ERRORS)


class Projection(Protocol):
    """A read model. ``apply`` gets whole pages so it can write in bulk. A page may be split
    anywhere (pages are whatever the feed hands out), so applying its halves one after the
    other must give the same rows as applying it whole. A projection may set ``on_poison``
    (an :class:`OnPoison`; QUARANTINE when it does not)."""

    name: str

    @property
    def tables(self) -> Sequence[sa.Table]: ...

    async def apply(self, conn: AsyncConnection, events: Sequence[RecordedEvent]) -> None: ...


@dataclass(frozen=True)
class Difference:
    table: str
    only_live: int
    only_rebuilt: int


@dataclass(frozen=True)
class PoisonRecord:
    """An event a projection could not apply: where it is and why."""

    position: int
    stream_id: str
    version: int
    event_type: str
    reason: str
    since: datetime

    def describe(self) -> str:
        return (
            f"position {self.position} ({self.stream_id} v{self.version}, {self.event_type}): "
            f"{self.reason}"
        )


@dataclass(frozen=True)
class ProjectionStatus:
    """Where a projection is: its checkpoint, how many feed events lie past it, and whether
    it is stopped at poison (or, for a follower that skips poison, the last it skipped)."""

    name: str
    checkpoint: FeedCheckpoint
    behind: int  # events in the feed past the checkpoint
    quarantined: bool
    poison: PoisonRecord | None  # what quarantined it, or the last poison it met
    skipped: int  # poison events it went past (OnPoison.SKIP)


class _PoisonMet(Exception):
    """A page met poison while applied without savepoints: roll it back, do it carefully."""


# A page's work in a transaction: (connection, careful) -> (feed events read, read on?)
_PageWork = Callable[[AsyncConnection, bool], Awaitable[tuple[int, bool]]]


@dataclass(frozen=True)
class _Place:
    checkpoint: FeedCheckpoint
    quarantined: bool


@dataclass(frozen=True)
class _Applied:
    """How far a projection got through its events of a page."""

    through: FeedCheckpoint | None  # the last event applied or skipped; None: not one
    applied: int  # events applied (not counting one skipped or stopped at)
    stopped: bool  # quarantined at an event of the page


async def _observe_lag(conn: AsyncConnection, names: Sequence[str]) -> None:
    """Set ``harbour_feed_lag_events`` of ``names``: the head's position minus each
    checkpoint's (one indexed read; a quarantined read model's lag keeps growing). Read in
    the page's own transaction: a connection and a transaction of its own per round cost
    two round trips more on every follower's every round."""
    rows = await conn.execute(LAG_SQL, {"names": list(names)})
    lags = {name: int(lag) for name, lag in rows}
    for name in names:
        FEED_LAG.labels(name).set(lags.get(name, 0))


class ProjectionRunner:
    def __init__(self, store: EventStore, *, clock: Clock, page_size: int = 2000) -> None:
        self._store = store
        self._clock = clock
        self._page_size = page_size

    async def checkpoint(self, projection: Projection) -> FeedCheckpoint:
        async with self._store.engine.connect() as conn:
            return await _read_checkpoint(conn, projection.name, lock=False)

    async def catch_up(self, projection: Projection, *, until: FeedCheckpoint | None = None) -> int:
        """Apply every final event past the checkpoint; returns how many were applied. A
        quarantined projection applies nothing (it waits for :meth:`release`)."""
        applied = 0
        while True:
            count, more = await self._in_transaction(
                lambda conn, careful: self._apply_page(conn, projection, until, careful)
            )
            applied += count
            if not more:
                return applied

    async def catch_up_together(self, projections: Sequence[Projection]) -> int:
        """Catch several projections up from one read of the feed per page, in one transaction
        per page: a follower woken for a few events pays one feed query and one commit, not
        one per projection. Each applies its part in a SAVEPOINT, so poison stops only the
        projection it poisons. Returns how many feed events the pages held."""
        applied = 0
        while True:
            count, more = await self._in_transaction(
                lambda conn, careful: self._apply_shared_page(conn, projections, careful)
            )
            applied += count
            if not more:
                return applied

    async def _in_transaction(self, page: _PageWork) -> tuple[int, bool]:
        """One page in one transaction. First straight through: a SAVEPOINT per projection
        costs round trips on every page (measured: about twice the time of a small page), and
        poison is rare. When an event turns out to be poison, that transaction is rolled back
        and the page done again carefully: each projection's part in SAVEPOINTs, so the
        poison stops (or is skipped by) only the projection that cannot apply it."""
        try:
            async with self._store.engine.begin() as conn:
                return await page(conn, False)
        except _PoisonMet:
            pass
        async with self._store.engine.begin() as conn:
            return await page(conn, True)

    async def _apply_shared_page(
        self, conn: AsyncConnection, projections: Sequence[Projection], careful: bool
    ) -> tuple[int, bool]:
        # Locked in name order (as every follower does), so two replicas never deadlock.
        names = sorted(p.name for p in projections)
        places = await _read_places(conn, names, lock=True)
        running = [p for p in projections if not places[p.name].quarantined]
        if not running:
            await _observe_lag(conn, names)
            return 0, False
        # From the one furthest behind; each projection takes only what lies past its own.
        start = min(places[p.name].checkpoint for p in running)
        page = await self._store.read_feed_in(conn, start, limit=self._page_size)
        if not page.events:
            await _observe_lag(conn, names)
            return 0, False
        moved: dict[str, FeedCheckpoint] = {}
        for projection in running:
            mine = places[projection.name].checkpoint
            if page.checkpoint <= mine:
                continue  # the page is behind it (a read model rebuilt in place)
            # The whole page when the projection is where the page starts (a rebuild: every
            # one is): comparing each event's checkpoint cost a microsecond an event.
            events = (
                page.events if mine == start else [e for e in page.events if e.checkpoint > mine]
            )
            if not events:
                continue  # ahead of this page: never move it back
            applied = await self._apply_guarded(conn, projection, events, careful)
            # A quarantined projection keeps a checkpoint row (where it stopped), so the next
            # round reads its state with its checkpoint.
            moved[projection.name] = applied.through or mine
        await _write_checkpoints(conn, moved, self._clock())
        await _observe_lag(conn, names)
        return len(page.events), len(page.events) == self._page_size

    async def _apply_page(
        self,
        conn: AsyncConnection,
        projection: Projection,
        until: FeedCheckpoint | None,
        careful: bool,
    ) -> tuple[int, bool]:
        # FOR UPDATE: two replicas running the same projection take turns, never interleave.
        place = (await _read_places(conn, [projection.name], lock=True))[projection.name]
        if place.quarantined:
            await _observe_lag(conn, [projection.name])
            return 0, False
        page = await self._store.read_feed_in(
            conn, place.checkpoint, limit=self._page_size, until=until
        )
        if not page.events:
            await _observe_lag(conn, [projection.name])
            return 0, False
        applied = await self._apply_guarded(conn, projection, page.events, careful)
        through = applied.through or place.checkpoint
        await _write_checkpoints(conn, {projection.name: through}, self._clock())
        await _observe_lag(conn, [projection.name])
        more = not applied.stopped and len(page.events) == self._page_size
        return applied.applied, more

    async def _apply_guarded(
        self,
        conn: AsyncConnection,
        projection: Projection,
        events: Sequence[RecordedEvent],
        careful: bool,
    ) -> _Applied:
        """Apply ``events``, stopping at (or skipping) the first that the projection cannot
        apply; a failure that is not poison is raised (and the page's transaction with it).
        Not ``careful``: poison raises _PoisonMet, for the page to be done again carefully.

        At least harbour.collector.PAUSE_COLLECTOR_FROM events (a catch-up's or a rebuild's
        page; a live follower's are small) are applied with the cyclic garbage collector
        paused: the events and every state folded from them live until the page is written,
        so collections meanwhile only rescanned them. Measured (every read model caught up
        over 80,000 events, a /tmp harness, alternated): collections took 28-33 µs of
        114-140 µs an event before, 9-13 µs after; 6.8-8.4k -> 8.5-10.8k events/s."""
        with collector_paused_for(events):
            if careful:
                return await self._apply_carefully(conn, projection, events)
            try:
                await projection.apply(conn, events)
            except Exception as failure:
                if is_poison(failure):
                    raise _PoisonMet from failure
                raise
            return _Applied(events[-1].checkpoint, len(events), stopped=False)

    async def _apply_carefully(
        self, conn: AsyncConnection, projection: Projection, events: Sequence[RecordedEvent]
    ) -> _Applied:
        """Apply ``events`` in SAVEPOINTs, down to the first the projection cannot apply."""
        on_poison = getattr(projection, "on_poison", OnPoison.QUARANTINE)
        done = skipped = 0  # events[:done] are applied, or skipped as poison
        while done < len(events):
            failure = await _attempt(conn, projection, events[done:])
            if failure is None:
                break
            applied, poison_failure = await _first_poison(conn, projection, events[done:], failure)
            done += applied
            if poison_failure is None:
                continue  # the rest failed together, not apart: no one event is at fault
            poison = events[done]
            await self._record_poison(conn, projection.name, poison, poison_failure, on_poison)
            if on_poison is OnPoison.QUARANTINE:
                through = events[done - 1].checkpoint if done else None
                return _Applied(through, done - skipped, stopped=True)
            done += 1
            skipped += 1
        return _Applied(events[-1].checkpoint, len(events) - skipped, stopped=False)

    async def _record_poison(
        self,
        conn: AsyncConnection,
        name: str,
        event: RecordedEvent,
        failure: BaseException,
        on_poison: OnPoison,
    ) -> None:
        reason = f"{type(failure).__name__}: {failure}".strip()[:REASON_LIMIT]
        quarantine = on_poison is OnPoison.QUARANTINE
        now = self._clock()
        insert = pg_insert(projection_status).values(
            name=name,
            state=QUARANTINED if quarantine else RUNNING,
            position=event.position,
            stream_id=event.stream_id,
            version=event.version,
            event_type=event.type,
            reason=reason,
            since=now,
            skipped=0 if quarantine else 1,
            updated_at=now,
        )
        kept = ("state", "position", "stream_id", "version", "event_type", "reason", "since")
        await conn.execute(
            insert.on_conflict_do_update(
                index_elements=[projection_status.c.name],
                set_={
                    **{column: insert.excluded[column] for column in kept},
                    "skipped": projection_status.c.skipped + insert.excluded.skipped,
                    "updated_at": insert.excluded.updated_at,
                },
            )
        )
        where = f"{event.stream_id} v{event.version}, {event.type}, position {event.position}"
        if quarantine:
            log.error(
                "projection %s QUARANTINED at %s: %s — it stops there, every other projection "
                "goes on; after a fix: harbour projections retry %s",
                name,
                where,
                reason,
                name,
            )
        else:
            log.error("%s skipped an event it cannot apply (%s): %s", name, where, reason)

    async def release(self, name: str) -> bool:
        """Let a quarantined projection try its poison event again (after a fix: an upcaster,
        a corrected projection). False when it was not quarantined. The record of the event
        stays, as the last poison it met."""
        async with self._store.engine.begin() as conn:
            released = await conn.execute(
                projection_status.update()
                .where(projection_status.c.name == name, projection_status.c.state == QUARANTINED)
                .values(state=RUNNING, updated_at=self._clock())
                .returning(projection_status.c.name)
            )
            return released.first() is not None

    async def status(self, projection: Projection) -> ProjectionStatus:
        (found,) = await self.statuses([projection.name], only=True)
        return found

    async def statuses(
        self, names: Iterable[str] = (), *, only: bool = False
    ) -> list[ProjectionStatus]:
        """Every projection in ``names`` and (unless ``only``) every other one with a
        checkpoint or a status: where it is, how far behind the feed, and any poison."""
        wanted = set(names)
        async with self._store.engine.connect() as conn:
            checkpoints = await _checkpoints(conn)
            records = await _status_rows(conn, wanted if only else None)
            every = sorted(wanted if only else wanted | checkpoints.keys() | records.keys())
            found = []
            for name in every:
                checkpoint = checkpoints.get(name, START)
                state, poison, skipped = records.get(name, (RUNNING, None, 0))
                found.append(
                    ProjectionStatus(
                        name,
                        checkpoint,
                        await _events_after(conn, checkpoint),
                        state == QUARANTINED,
                        poison,
                        skipped,
                    )
                )
            await conn.rollback()
        return found

    async def rebuild(self, projection: Projection) -> int:
        """Empty the projection's tables and replay the whole feed into them (a quarantine is
        lifted: the replay stops at the poison again if it is still there)."""
        return await self.rebuild_all([projection])

    async def rebuild_all(self, projections: Sequence[Projection]) -> int:
        """Empty every projection's tables and replay the whole feed into all of them at once:
        one read of the feed per page (of REBUILD_PAGE_SIZE events) for every projection,
        through the same ``apply`` as live catch-up. Returns the feed events read."""
        # A read model that can rebuild itself in one statement (stream_heads) does, up to the
        # last final event, in the transaction that empties it and holds its checkpoint (a
        # replica waiting for that checkpoint then goes on from there); then every one catches
        # up from where it is, by pages.
        in_place = [p for p in projections if hasattr(p, "rebuild_in_place")]
        covered = 0  # events folded in place
        async with self._store.engine.begin() as conn:
            # In name order, as every follower locks them: no deadlock with a live projector.
            for projection in sorted(projections, key=lambda p: p.name):
                await _read_checkpoint(conn, projection.name, lock=True)
                for table in projection.tables:
                    await conn.execute(sa.text(f'TRUNCATE "{table.name}"'))
            names = [p.name for p in projections]
            await conn.execute(
                projection_checkpoints.delete().where(projection_checkpoints.c.name.in_(names))
            )
            await conn.execute(
                projection_status.update()
                .where(projection_status.c.name.in_(names))
                .values(state=RUNNING, updated_at=self._clock())
            )
            through = await _last_final(conn) if in_place else START
            if through != START:
                for projection in in_place:
                    covered = await projection.rebuild_in_place(conn, through)
                await _write_checkpoints(conn, {p.name: through for p in in_place}, self._clock())
        pages = ProjectionRunner(
            self._store, clock=self._clock, page_size=max(self._page_size, REBUILD_PAGE_SIZE)
        )
        if len(projections) == 1:
            replayed = await pages.catch_up(projections[0])
        else:
            replayed = await pages.catch_up_together(projections)
        # With a read model replayed from the start, the pages held every event.
        return covered + replayed if len(in_place) == len(projections) else replayed

    async def verify(self, projection: Projection) -> list[Difference]:
        """Rebuild into temporary tables up to the live checkpoint and diff with the live ones."""
        forget = getattr(projection, "forget", None)
        if forget is not None:
            forget()  # a read model that keeps states in memory derives them all again here
        engine = self._store.engine.execution_options(isolation_level="REPEATABLE READ")
        async with engine.connect() as live:
            await live.begin()
            checkpoint = await _read_checkpoint(live, projection.name, lock=False)
            scratch = await live.execution_options(schema_translate_map={None: "pg_temp"})
            for table in projection.tables:
                await scratch.execute(sa.text(f'DROP TABLE IF EXISTS pg_temp."{table.name}"'))
                await scratch.run_sync(table.create)
            after = START
            while checkpoint != START:
                page = await self._store.read_feed_in(
                    live, after, limit=self._page_size, until=checkpoint
                )
                if not page.events:
                    break
                await projection.apply(scratch, page.events)
                after = page.checkpoint
            differences = [await _diff(live, table) for table in projection.tables]
            await live.rollback()
        return [d for d in differences if d.only_live or d.only_rebuilt]


async def _attempt(
    conn: AsyncConnection, projection: Projection, events: Sequence[RecordedEvent]
) -> BaseException | None:
    """Apply ``events`` in a SAVEPOINT: kept when they apply, undone (and the poison that
    stopped them returned) when they do not. Any other failure is raised."""
    try:
        async with conn.begin_nested():
            await projection.apply(conn, events)
    except Exception as failure:
        if not is_poison(failure):
            raise
        return failure
    return None


async def _first_poison(
    conn: AsyncConnection,
    projection: Projection,
    events: Sequence[RecordedEvent],
    failure: BaseException,
) -> tuple[int, BaseException | None]:
    """``events`` failed together with ``failure``: apply them by halves, keeping what
    applies, down to the first event that fails on its own — about 2·log2(n) attempts for a
    page of n. Returns how many events were applied before it and its failure; or, when the
    halves applied apart (a fault of the batch, not of an event), how many were applied and
    None."""
    start, end = 0, len(events)  # events[:start] applied; events[start:end] fail together
    while end - start > 1:
        middle = (start + end) // 2
        first = await _attempt(conn, projection, events[start:middle])
        if first is not None:
            end, failure = middle, first
            continue
        start = middle
        second = await _attempt(conn, projection, events[start:end])
        if second is None:
            return end, None
        failure = second
    return start, failure


async def _read_places(
    conn: AsyncConnection, names: Sequence[str], *, lock: bool
) -> dict[str, _Place]:
    """Each projection's checkpoint and whether it is quarantined, in one round trip (a
    quarantined projection always has a checkpoint row: it is written where it stopped)."""
    quarantined = (
        sa.select(projection_status.c.state == QUARANTINED)
        .where(projection_status.c.name == projection_checkpoints.c.name)
        .scalar_subquery()
    )
    query = (
        sa.select(
            projection_checkpoints.c.name,
            sa.cast(projection_checkpoints.c.txid, sa.Text),
            projection_checkpoints.c.position,
            quarantined,
        )
        .where(projection_checkpoints.c.name.in_(names))
        .order_by(projection_checkpoints.c.name)
    )
    if lock:
        query = query.with_for_update(of=projection_checkpoints)
    places = {name: _Place(START, False) for name in names}
    rows = (await conn.execute(query)).all()
    if lock and len(rows) < len(names):
        # FOR UPDATE locks only rows that exist: a projection without a checkpoint row (its
        # first page, or just rebuilt) would let two replicas both start from zero and apply
        # the same page twice. The row is made first; a replica that races to make it waits
        # for the other's page to commit, then locks the checkpoint it wrote.
        await _ensure_checkpoint_rows(conn, [n for n in names if n not in {r[0] for r in rows}])
        rows = (await conn.execute(query)).all()
    for name, txid, position, stopped in rows:
        places[name] = _Place(FeedCheckpoint(int(txid), int(position)), bool(stopped))
    return places


async def _last_final(conn: AsyncConnection) -> FeedCheckpoint:
    """The feed's last final event (START when there is none): the horizon first, as the feed
    reads it, so nothing can still commit at or before the checkpoint returned."""
    horizon = (await conn.execute(sa.text(HORIZON_SQL))).scalar_one()
    row = (
        await conn.execute(
            sa.text(
                "SELECT txid::text, position FROM events WHERE txid < CAST(:horizon AS xid8) "
                "ORDER BY txid DESC, position DESC LIMIT 1"
            ),
            {"horizon": horizon},
        )
    ).first()
    return START if row is None else FeedCheckpoint(int(row[0]), int(row[1]))


async def _ensure_checkpoint_rows(conn: AsyncConnection, names: Sequence[str]) -> None:
    await conn.execute(
        sa.text(
            "INSERT INTO projection_checkpoints (name, txid, position, updated_at) "
            "SELECT unnest(CAST(:names AS text[])), CAST(:txid AS xid8), :position, now() "
            "ON CONFLICT (name) DO NOTHING"
        ),
        {"names": list(names), "txid": str(START.txid), "position": START.position},
    )


async def _read_checkpoint(conn: AsyncConnection, name: str, *, lock: bool) -> FeedCheckpoint:
    query = sa.select(
        sa.cast(projection_checkpoints.c.txid, sa.Text), projection_checkpoints.c.position
    ).where(projection_checkpoints.c.name == name)
    if lock:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    if row is None and lock:
        await _ensure_checkpoint_rows(conn, [name])  # see _read_places
        row = (await conn.execute(query)).first()
    return START if row is None else FeedCheckpoint(int(row[0]), int(row[1]))


async def _write_checkpoints(
    conn: AsyncConnection, checkpoints: Mapping[str, FeedCheckpoint], now: datetime
) -> None:
    if not checkpoints:
        return
    await conn.execute(
        sa.text(
            "INSERT INTO projection_checkpoints (name, txid, position, updated_at) "
            "VALUES (:name, CAST(:txid AS xid8), :position, :now) ON CONFLICT (name) DO UPDATE "
            "SET txid = excluded.txid, position = excluded.position, "
            "updated_at = excluded.updated_at"
        ),
        [
            {
                "name": name,
                "txid": str(checkpoint.txid),
                "position": checkpoint.position,
                "now": now,
            }
            for name, checkpoint in checkpoints.items()
        ],
    )


async def _checkpoints(conn: AsyncConnection) -> dict[str, FeedCheckpoint]:
    rows = await conn.execute(
        sa.select(
            projection_checkpoints.c.name,
            sa.cast(projection_checkpoints.c.txid, sa.Text),
            projection_checkpoints.c.position,
        )
    )
    return {name: FeedCheckpoint(int(txid), int(position)) for name, txid, position in rows}


async def _status_rows(
    conn: AsyncConnection, names: set[str] | None
) -> dict[str, tuple[str, PoisonRecord | None, int]]:
    """Each projection's state, the last poison it met and how many it skipped."""
    query = sa.select(projection_status)
    if names is not None:
        query = query.where(projection_status.c.name.in_(sorted(names)))
    found: dict[str, tuple[str, PoisonRecord | None, int]] = {}
    for row in (await conn.execute(query)).mappings():
        poison = None
        if row["position"] is not None:
            poison = PoisonRecord(
                int(row["position"]),
                row["stream_id"],
                int(row["version"]),
                row["event_type"],
                row["reason"],
                row["since"],
            )
        found[row["name"]] = (row["state"], poison, int(row["skipped"]))
    return found


async def _events_after(conn: AsyncConnection, checkpoint: FeedCheckpoint) -> int:
    """How many events the feed holds past ``checkpoint`` (a projection's lag)."""
    count = await conn.execute(
        sa.text(
            "SELECT count(*) FROM events WHERE (txid, position) > (CAST(:txid AS xid8), :position)"
        ),
        {"txid": str(checkpoint.txid), "position": checkpoint.position},
    )
    return int(count.scalar_one())


async def _diff(conn: AsyncConnection, table: sa.Table) -> Difference:
    live, rebuilt = f'public."{table.name}"', f'pg_temp."{table.name}"'
    count = "SELECT count(*) FROM (SELECT * FROM {} EXCEPT ALL SELECT * FROM {}) d"
    only_live = (await conn.execute(sa.text(count.format(live, rebuilt)))).scalar_one()
    only_rebuilt = (await conn.execute(sa.text(count.format(rebuilt, live)))).scalar_one()
    return Difference(table.name, int(only_live), int(only_rebuilt))


class StreamHeads:
    """One row per stream: its version, event count and last event. Domain-free."""

    name = "stream_heads"
    tables: Sequence[sa.Table] = (stream_heads,)

    async def rebuild_in_place(self, conn: AsyncConnection, through: FeedCheckpoint) -> int:
        """The rows :meth:`apply` leaves after every feed event up to ``through``, in one
        statement (a rebuild reads no event into Python). The same rows: ``apply`` keeps the
        greatest version, adds up the counts, and takes the last type, position and instant
        from each stream's last event in feed order (later pages overwrite earlier ones) — here
        max(version), count(*) and the stream's last row by (txid, position), over exactly the
        events the feed hands out up to ``through`` (``through`` is below the horizon: every
        transaction at or before it is final). ``projections verify`` compares the two.
        Returns how many events the rows count."""
        written = await conn.execute(
            sa.text(
                """
                WITH rows AS (
                INSERT INTO stream_heads (stream_id, version, event_count, last_type,
                                          last_position, last_recorded_at)
                SELECT stream_id, version, event_count, type, position, recorded_at
                  FROM (SELECT stream_id, type, position, recorded_at,
                               max(version) OVER w AS version, count(*) OVER w AS event_count,
                               row_number() OVER (w ORDER BY txid DESC, position DESC) AS n
                          FROM events
                         WHERE (txid, position) <= (CAST(:txid AS xid8), :position)
                        WINDOW w AS (PARTITION BY stream_id)) AS e
                 WHERE n = 1
                RETURNING event_count
                )
                SELECT coalesce(sum(event_count), 0) FROM rows
                """
            ),
            {"txid": str(through.txid), "position": through.position},
        )
        return int(written.scalar_one())

    async def apply(self, conn: AsyncConnection, events: Sequence[RecordedEvent]) -> None:
        counts: dict[str, int] = {}
        last: dict[str, RecordedEvent] = {}
        for event in events:  # feed order: a stream's later event always comes later
            counts[event.stream_id] = counts.get(event.stream_id, 0) + 1
            last[event.stream_id] = event
        rows = [
            {
                "stream_id": stream,
                "version": event.version,
                "event_count": counts[stream],
                "last_type": event.type,
                "last_position": event.position,
                "last_recorded_at": event.recorded_at,
            }
            for stream, event in last.items()
        ]
        insert = pg_insert(stream_heads)
        upsert = insert.on_conflict_do_update(
            index_elements=[stream_heads.c.stream_id],
            set_={
                "version": sa.func.greatest(stream_heads.c.version, insert.excluded.version),
                "event_count": stream_heads.c.event_count + insert.excluded.event_count,
                "last_type": insert.excluded.last_type,
                "last_position": insert.excluded.last_position,
                "last_recorded_at": insert.excluded.last_recorded_at,
            },
        )
        await conn.execute(upsert, rows)
