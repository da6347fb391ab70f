"""The PostgreSQL event store (docs/event-store.md).

One append is one SQL statement (``harbour.eventstore.append``) in autocommit: the stream
head check, the hash chain, the events and the command-log row happen in one statement whose
reads precede its first write. A repeated request_id is recognised when that statement finds
nothing to do or conflicts on the command log, and is answered from the log.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from harbour.eventstore.append import APPEND_BATCH_SQL, APPEND_ONE_SQL, LOOKUP_COMMAND_SQL
from harbour.eventstore.database import Database
from harbour.eventstore.encoding import (
    canonical_json,
    canonical_object,
    check_event_type,
    check_json_object,
    check_stream_id,
    event_content,
)
from harbour.eventstore.errors import (
    BatchNotApplied,
    ConcurrencyConflict,
    InvalidAppend,
    RequestIdReused,
)
from harbour.eventstore.model import (
    START,
    AppendResult,
    CommandRecord,
    CommandWrite,
    FeedCheckpoint,
    FeedPage,
    NewEvent,
    RecordedEvent,
    StreamWrite,
)
from harbour.eventstore.notify import CHANNEL, FeedNotifier
from harbour.eventstore.snapshots import (
    SnapshotFault,
    StoredSnapshot,
    random_snapshot_key,
    sealed_digest,
    snapshot_fault,
)
from harbour.eventstore.upcasting import Upcasters
from harbour.metrics import count_appended

Clock = Callable[[], datetime]
log = logging.getLogger("harbour.eventstore")
MAX_EVENTS_PER_APPEND = 1000
MAX_REQUEST_ID_LENGTH = 128

# ``content`` is the event (its data and metadata inside): RecordedEvent splits it.
EVENT_COLUMNS = (
    "position, stream_id, version, type, schema_version, content, recorded_at, "
    "txid::text AS txid_text, hash"
)
STREAM_SQL = (
    f"SELECT {EVENT_COLUMNS} FROM events WHERE stream_id = %(stream_id)s "  # noqa: S608
    "AND version > %(after_version)s "
    "AND (%(up_to_version)s::integer IS NULL OR version <= %(up_to_version)s) "
    "AND (%(up_to_position)s::bigint IS NULL OR position <= %(up_to_position)s) "
    "AND (%(until)s::timestamptz IS NULL OR recorded_at <= %(until)s) "
    "ORDER BY version LIMIT %(limit)s"
)
# A lateral probe of the (stream_id, version) index per wanted stream: as a plain join the
# planner, guessing from a small table's statistics, chose a sequential scan of every event.
STREAMS_SQL = (
    f"SELECT {EVENT_COLUMNS} "  # noqa: S608 - constant column list
    "FROM unnest(%(streams)s::text[], %(afters)s::integer[]) AS w(wanted, after_version) "
    "CROSS JOIN LATERAL (SELECT * FROM events e WHERE e.stream_id = w.wanted "
    "AND e.version > w.after_version ORDER BY e.version) AS e "
    "ORDER BY e.stream_id, e.version"
)
ALL_SQL = (
    f"SELECT {EVENT_COLUMNS} FROM events WHERE position > %(after)s "  # noqa: S608
    "AND (%(upto)s::bigint IS NULL OR position <= %(upto)s) ORDER BY position LIMIT %(limit)s"
)
HORIZON_SQL = "SELECT pg_snapshot_xmin(pg_current_snapshot())::text"
FEED_SQL = (
    f"SELECT {EVENT_COLUMNS} FROM events "  # noqa: S608 - constant column list
    "WHERE (txid, position) > (%(txid)s::xid8, %(position)s) "
    "AND txid < %(horizon)s::xid8 "
    "AND (%(until_txid)s::xid8 IS NULL "
    "     OR (txid, position) <= (%(until_txid)s::xid8, %(until_position)s)) "
    "ORDER BY txid, position LIMIT %(limit)s"
)


# A snapshot row with the hash of its stream's event at its version, which it must match.
SNAPSHOT_ROWS_SQL = (
    "SELECT s.stream_id, s.version, s.schema_version, s.state, s.event_hash, s.digest, e.hash "
    "FROM snapshots s LEFT JOIN events e ON e.stream_id = s.stream_id AND e.version = s.version"
)
SNAPSHOT_EVENT_HASH_SQL = sa.text("SELECT hash FROM events WHERE stream_id = :s AND version = :v")
SAVE_SNAPSHOT_SQL = sa.text(
    "INSERT INTO snapshots (stream_id, version, schema_version, state, recorded_at, "
    "event_hash, digest) VALUES (:s, :v, :sv, CAST(:state AS jsonb), :at, :h, :d) "
    "ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, "
    "schema_version = excluded.schema_version, state = excluded.state, "
    "recorded_at = excluded.recorded_at, event_hash = excluded.event_hash, "
    "digest = excluded.digest WHERE snapshots.version < excluded.version"
)


# What a statement of several streams meets when a concurrent one got there first: the unique
# (stream_id, version) or request id it inserts — or, should two of them wait on each other,
# PostgreSQL's deadlock detector (rows are inserted in one order, see APPEND_BATCH_SQL, so
# only what the database does not promise could bring that about). Either way nothing of it
# was written, and the command decides again.
LOST_RACE = (psycopg.errors.UniqueViolation, psycopg.errors.DeadlockDetected)


def request_fingerprint(payload: Any) -> bytes:
    """sha256 of a request's canonical JSON: what makes two requests "the same command"."""
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).digest()


class EventStore:
    def __init__(
        self,
        database: Database,
        *,
        clock: Clock,
        upcasters: Upcasters | None = None,
        notifier: FeedNotifier | None = None,
        snapshot_key: bytes | None = None,
    ) -> None:
        """``snapshot_key`` signs and verifies snapshots (HARBOUR_SNAPSHOT_KEY); without one
        the store makes up a key of its own, so only its own snapshots are ever believed."""
        self._database = database
        self._snapshot_key = snapshot_key or random_snapshot_key()
        self._notifier = notifier
        self._engine = database.engine
        self._autocommit = self._engine.execution_options(isolation_level="AUTOCOMMIT")
        self._clock = clock
        self._upcasters = upcasters if upcasters else None

    @property
    def database(self) -> Database:
        return self._database

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    # ----------------------------------------------------------------------------- writing
    async def append(
        self,
        stream_id: str,
        events: Sequence[NewEvent],
        *,
        expected_version: int,
        request_id: str | None = None,
        fingerprint: bytes | None = None,
        metadata: Mapping[str, Any] | None = None,
        response: Mapping[str, Any] | None = None,
    ) -> AppendResult:
        """Append ``events`` to ``stream_id`` if it is at ``expected_version`` (0 = new).

        With a ``request_id`` the append is idempotent: a repeat with the same fingerprint
        (by default, of the stream, expected version and events) returns the first result
        and appends nothing; a repeat with a different fingerprint raises RequestIdReused.
        """
        check_stream_id(stream_id)
        _check_expected_version(expected_version)
        check_request_id(request_id)
        if not events:
            raise InvalidAppend("events", "at least one event is required")
        if len(events) > MAX_EVENTS_PER_APPEND:
            raise InvalidAppend("events", f"at most {MAX_EVENTS_PER_APPEND} events per append")
        meta = dict(check_json_object(metadata or {}, "metadata"))
        if request_id is not None:
            meta["request_id"] = request_id
        if response is not None:
            check_json_object(response, "response")
        recorded_at = self._clock()
        if len(events) > 1:
            if fingerprint is None:
                _check_new_events(events)
                fingerprint = request_fingerprint([stream_id, expected_version, _described(events)])
            write = StreamWrite(stream_id, events, expected_version)
            command = CommandWrite([write], request_id, fingerprint, meta, response)
            return await self._append_command(command, recorded_at)
        # One event (the hot path): its own statement, which also carries the feed's wake-up.
        metadata_json = canonical_json(meta)
        event_type, schema_version, data_json, content = self._encode(
            events[0], stream_id, expected_version + 1, metadata_json, recorded_at
        )
        if fingerprint is None:
            # request_fingerprint([stream_id, expected_version, [[type, schema_version, data]]])
            # assembled from the canonical data already encoded, byte for byte the same:
            # stream ids and types are restricted to characters JSON never escapes. Anything
            # unusual (an int subclass) takes the generic path.
            if type(expected_version) is int and type(schema_version) is int:
                text = (
                    f'["{stream_id}",{expected_version},'
                    f'[["{event_type}",{schema_version},{data_json}]]]'
                )
                fingerprint = hashlib.sha256(text.encode("utf-8")).digest()
            else:
                fingerprint = request_fingerprint([stream_id, expected_version, _described(events)])
        notify = self._notifier is not None and self._notifier.claim()
        params: dict[str, Any] = {
            "stream_id": stream_id,
            "expected_version": expected_version,
            "request_id": request_id,
            "fingerprint": fingerprint,
            "recorded_at": recorded_at,
            "response": canonical_json(response) if response is not None else None,
            "type": event_type,
            "schema_version": schema_version,
            "content": content,
            "notify": notify,
            "channel": CHANNEL,
        }
        # getconn/putconn rather than the pool's connection() context: same checkout and
        # return, without the generator and the connection's own context (a commit check
        # under the connection lock), which cost ~25 µs of CPU per append.
        pool = self._database.pool
        conn = await pool.getconn()
        row = None
        try:
            try:
                row = await (await conn.execute(APPEND_ONE_SQL, params)).fetchone()
            except psycopg.errors.UniqueViolation:
                # Lost a race: to another writer of this stream, or to a concurrent first
                # attempt of this very request. The command log tells which.
                row = None
            except (psycopg.errors.UntranslatableCharacter, psycopg.DataError) as exc:
                raise InvalidAppend("data", f"not storable as JSON: {exc}") from None
            finally:
                if notify and row is None and self._notifier is not None:
                    self._notifier.poke()  # rolled back: its NOTIFY never went
            if row is not None and row[2] > 0:
                if self._notifier is not None and not notify:
                    self._notifier.poke()
                count_appended(e.type for e in events)
                first, last, appended = row[:3]
                return AppendResult(
                    stream_id,
                    expected_version + appended,
                    first,
                    last,
                    False,
                    None if response is None else dict(response),
                )
            head = None if row is None else int(row[3])
            replayed = await self._replayed(conn, request_id, fingerprint)
            if replayed is not None:
                return replayed
            raise ConcurrencyConflict(stream_id, expected_version, head)
        finally:
            await pool.putconn(conn)

    async def append_together(
        self,
        writes: Sequence[StreamWrite],
        *,
        request_id: str | None = None,
        fingerprint: bytes | None = None,
        metadata: Mapping[str, Any] | None = None,
        response: Mapping[str, Any] | None = None,
        reads: Mapping[str, int] | None = None,
    ) -> AppendResult:
        """Append to several streams in one statement: all of them or none.

        Each stream must be at its expected version; the command log (and the result) name
        the first stream, and the result's positions span every event written. Used where one
        decision changes two consistency boundaries at once — a loan advance moves the
        client's account and the broker's total exposure, and neither may move alone.
        ``reads``: streams the decision read, at the versions it read them (see
        :class:`CommandWrite`); a stream that moved raises ConcurrencyConflict as a written
        one does.
        """
        if len(writes) == 1 and not reads:
            (only,) = writes
            return await self.append(
                only.stream_id,
                only.events,
                expected_version=only.expected_version,
                request_id=request_id,
                fingerprint=fingerprint,
                metadata=metadata,
                response=response,
            )
        if not writes or len({w.stream_id for w in writes}) != len(writes):
            raise InvalidAppend("writes", "name distinct streams")
        check_request_id(request_id)
        meta = dict(check_json_object(metadata or {}, "metadata"))
        if request_id is not None:
            meta["request_id"] = request_id
        if fingerprint is None:
            for write in writes:
                _check_new_events(write.events)
            fingerprint = request_fingerprint(
                [[w.stream_id, w.expected_version, _described(w.events)] for w in writes]
            )
        command = CommandWrite(writes, request_id, fingerprint, meta, response, reads or {})
        return await self._append_command(command, self._clock())

    async def _append_command(self, command: CommandWrite, recorded_at: datetime) -> AppendResult:
        """One command's events on one or more streams, all or none, by the batch statement
        (the one append path for anything but a single event): every stream at its expected
        version or nothing written; a repeat of an applied request answered from the log."""
        params, streams = self._batch_params([command], recorded_at)
        writes = command.writes
        pool = self._database.pool
        conn = await pool.getconn()
        try:
            try:
                row = await (await conn.execute(APPEND_BATCH_SQL, params)).fetchone()
            except LOST_RACE:
                row = None  # lost a race on one of the streams (or to this very request)
            except (psycopg.errors.UntranslatableCharacter, psycopg.DataError) as exc:
                raise InvalidAppend("data", f"not storable as JSON: {exc}") from None
            if row is not None and row[0]:
                if self._notifier is not None:
                    self._notifier.poke()
                count_appended(e.type for w in writes for e in w.events)
                ((_, first, last),) = row[2]
                return AppendResult(
                    writes[0].stream_id,
                    writes[0].expected_version + len(writes[0].events),
                    first,
                    last,
                    False,
                    None if command.response is None else dict(command.response),
                )
            replayed = await self._replayed(conn, command.request_id, command.fingerprint)
            if replayed is not None:
                return replayed
            if row is not None:  # each stream written or read, at the version it expected
                for (stream_id, (_, expected, _)), head in zip(
                    streams.items(), row[1], strict=True
                ):
                    if int(head) != expected:
                        raise ConcurrencyConflict(stream_id, expected, int(head))
            raise ConcurrencyConflict(writes[0].stream_id, writes[0].expected_version, None)
        finally:
            await pool.putconn(conn)

    async def append_batch(self, commands: Sequence[CommandWrite]) -> list[AppendResult]:
        """Apply several commands in one statement, all or none (group commit).

        Each command may write to several streams, and a stream may take events from several
        commands in turn (each starting where the previous one ended): the broker's exposure
        takes every advance of a batch. Every command gets its own command-log row and its
        events their own metadata. Raises :class:`BatchNotApplied` when nothing was written.
        """
        if not commands:
            return []
        params, streams = self._batch_params(commands, self._clock())
        async with self._database.pool.connection() as conn:
            try:
                row = await (await conn.execute(APPEND_BATCH_SQL, params)).fetchone()
            except LOST_RACE:
                raise BatchNotApplied(frozenset()) from None  # a logged request id, or a race
            except (psycopg.errors.UntranslatableCharacter, psycopg.DataError) as exc:
                raise InvalidAppend("data", f"not storable as JSON: {exc}") from None
        assert row is not None
        opened, heads, spans = row
        if not opened:
            stale = {s for (s, (_, e, _)), h in zip(streams.items(), heads, strict=True) if h != e}
            raise BatchNotApplied(frozenset(stale))
        if self._notifier is not None:
            self._notifier.poke()
        count_appended(e.type for c in commands for w in c.writes for e in w.events)
        by_command = {k: (first, last) for k, first, last in spans}
        return [
            AppendResult(
                c.writes[0].stream_id,
                c.writes[0].expected_version + len(c.writes[0].events),
                *by_command[k],
                False,
                None if c.response is None else dict(c.response),
            )
            for k, c in enumerate(commands)
        ]

    def _batch_params(
        self, commands: Sequence[CommandWrite], recorded_at: datetime
    ) -> tuple[dict[str, Any], dict[str, tuple[int, int, list[int]]]]:
        """The parameters of APPEND_BATCH_SQL for ``commands`` (checked and encoded), and each
        stream's index, expected version and versions written."""
        # stream -> (its index in the statement, expected version, versions of its events)
        streams: dict[str, tuple[int, int, list[int]]] = {}
        rows: list[str] = []  # every event: [i, ord, type, schema_version, content]
        owned: list[list[int]] = []
        logs: list[dict[str, Any]] = []
        for k, command in enumerate(commands):
            check_request_id(command.request_id)
            if not command.writes:
                raise InvalidAppend("writes", "a command in a batch must write something")
            meta = dict(check_json_object(command.metadata, "metadata"))
            if command.request_id is not None:
                meta["request_id"] = command.request_id
            metadata_json = canonical_json(meta)
            for write in command.writes:
                check_stream_id(write.stream_id)
                _check_expected_version(write.expected_version)
                if not write.events or len(write.events) > MAX_EVENTS_PER_APPEND:
                    raise InvalidAppend("events", f"1 to {MAX_EVENTS_PER_APPEND} events per stream")
                index, expected, versions = streams.setdefault(
                    write.stream_id, (len(streams), write.expected_version, [])
                )
                if write.expected_version != expected + len(versions):
                    raise InvalidAppend(
                        "expected_version", f"{write.stream_id}: commands must follow each other"
                    )
                for n, event in enumerate(write.events, start=1):
                    version = write.expected_version + n
                    t, v, _, c = self._encode(
                        event, write.stream_id, version, metadata_json, recorded_at
                    )
                    versions.append(version)
                    rows.append(f'[{index},{len(versions)},"{t}",{v},"{c.hex()}"]')
                    owned.append([k, index, version])
            first = command.writes[0]
            if command.response is not None:
                check_json_object(command.response, "response")
            logs.append(
                {
                    "k": k,
                    "request_id": command.request_id,
                    "fingerprint": command.fingerprint.hex(),
                    "stream_id": first.stream_id,
                    "stream_version": first.expected_version + len(first.events),
                    "response": None if command.response is None else dict(command.response),
                }
            )
        _add_reads(streams, commands)
        params: dict[str, Any] = {
            "recorded_at": recorded_at,
            "owned": json.dumps(owned),
            "commands": canonical_json(logs),
        }
        params["streams"] = json.dumps([[i, s, e] for s, (i, e, _) in streams.items()])
        params["events"] = "[" + ",".join(rows) + "]"
        return params, streams

    @staticmethod
    def _encode(
        event: NewEvent,
        stream_id: str,
        version: int,
        metadata_json: str,
        recorded_at: datetime,
    ) -> tuple[str, int, str, bytes]:
        """(type, schema_version, canonical data, canonical content the hash covers)."""
        check_event_type(event.type)
        if not isinstance(event.schema_version, int) or event.schema_version < 1:
            raise InvalidAppend("schema_version", "must be a positive integer")
        data_json = canonical_object(event.data, "data")
        content = event_content(
            stream_id=stream_id,
            version=version,
            event_type=event.type,
            schema_version=event.schema_version,
            data_json=data_json,
            metadata_json=metadata_json,
            recorded_at=recorded_at,
        )
        return event.type, event.schema_version, data_json, content

    # ----------------------------------------------------------------------------- commands
    async def lookup_command(self, request_id: str) -> CommandRecord | None:
        """What a request_id did, if it was applied: handlers check this before deciding."""
        check_request_id(request_id)
        async with self._database.autocommit() as conn:
            return await self._lookup(conn, request_id)

    async def replayed(self, request_id: str, fingerprint: bytes) -> AppendResult | None:
        """The first result of ``request_id`` if it was applied (a handler asks when its
        decision refuses); RequestIdReused if it was applied to a different request."""
        check_request_id(request_id)
        async with self._database.autocommit() as conn:
            return await self._replayed(conn, request_id, fingerprint)

    @classmethod
    async def _replayed(
        cls, conn: psycopg.AsyncConnection[Any], request_id: str | None, fingerprint: bytes
    ) -> AppendResult | None:
        """The first result of ``request_id`` when the append found it already applied (the
        statement wrote nothing or lost on the command log); refused if the payload differs."""
        if request_id is None:
            return None
        logged = await cls._lookup(conn, request_id)
        if logged is None:
            return None
        if logged.fingerprint != fingerprint:
            raise RequestIdReused(request_id)
        return AppendResult(
            logged.stream_id,
            logged.version,
            logged.first_position,
            logged.last_position,
            True,
            logged.response,
        )

    @staticmethod
    async def _lookup(conn: psycopg.AsyncConnection[Any], request_id: str) -> CommandRecord | None:
        cursor = await conn.execute(LOOKUP_COMMAND_SQL, {"request_id": request_id})
        row = await cursor.fetchone()
        return None if row is None else CommandRecord(*row)

    # ----------------------------------------------------------------------------- reading
    async def read_stream(
        self,
        stream_id: str,
        *,
        after_version: int = 0,
        up_to_version: int | None = None,
        up_to_position: int | None = None,
        recorded_until: datetime | None = None,
        limit: int | None = None,
    ) -> list[RecordedEvent]:
        """A stream's events in version order, optionally as of a version, position or instant.

        Every command loads its stream this way, so it runs on the driver directly (one
        prepared statement, no SQLAlchemy row processing).
        """
        check_stream_id(stream_id)
        params = {
            "stream_id": stream_id,
            "after_version": after_version,
            "up_to_version": up_to_version,
            "up_to_position": up_to_position,
            "until": recorded_until,
            "limit": limit,
        }
        async with self._database.autocommit() as driver, driver.cursor() as cursor:
            await cursor.execute(STREAM_SQL, params)
            return [self._event(row) for row in await cursor.fetchall()]

    async def read_streams(self, after: Mapping[str, int]) -> dict[str, list[RecordedEvent]]:
        """The events of several streams after a version each, in one round trip: a decision
        that rests on the policy and a few prices reads them all at once."""
        if not after:
            return {}
        for stream_id in after:
            check_stream_id(stream_id)
        params = {"streams": list(after), "afters": list(after.values())}
        found: dict[str, list[RecordedEvent]] = {stream_id: [] for stream_id in after}
        async with self._database.autocommit() as driver, driver.cursor() as cursor:
            await cursor.execute(STREAMS_SQL, params)
            for row in await cursor.fetchall():
                event = self._event(row)
                found[event.stream_id].append(event)
        return found

    async def read_all(
        self, *, after_position: int = 0, up_to_position: int | None = None, limit: int = 5000
    ) -> list[RecordedEvent]:
        """Every stream, in position order (an audit reads committed history this way)."""
        params = {"after": after_position, "upto": up_to_position, "limit": limit}
        async with self._database.autocommit() as driver, driver.cursor() as cursor:
            await cursor.execute(ALL_SQL, params, binary=True)
            return [self._event(row) for row in await cursor.fetchall()]

    async def stream_version(self, stream_id: str) -> int:
        check_stream_id(stream_id)
        query = sa.text("SELECT coalesce(max(version), 0) FROM events WHERE stream_id = :s")
        async with self._autocommit.connect() as conn:
            return int((await conn.execute(query, {"s": stream_id})).scalar_one())

    async def head_position(self) -> int:
        async with self._autocommit.connect() as conn:
            value = (await conn.execute(sa.text("SELECT max(position) FROM events"))).scalar()
        return int(value or 0)

    # ----------------------------------------------------------------------------- the feed
    async def read_feed(
        self,
        after: FeedCheckpoint = START,
        *,
        limit: int = 1000,
        until: FeedCheckpoint | None = None,
    ) -> FeedPage:
        """The next events of the global feed: gap-free, stable under concurrent writers."""
        async with self._database.autocommit() as driver:
            return await self._feed_page(driver, after, limit, until)

    async def read_feed_in(
        self,
        conn: AsyncConnection,
        after: FeedCheckpoint = START,
        *,
        limit: int = 1000,
        until: FeedCheckpoint | None = None,
    ) -> FeedPage:
        """The same, inside the caller's transaction (a projection applying a page)."""
        raw = await conn.get_raw_connection()
        driver = raw.driver_connection
        assert isinstance(driver, psycopg.AsyncConnection)
        return await self._feed_page(driver, after, limit, until)

    async def _feed_page(
        self,
        driver: psycopg.AsyncConnection[Any],
        after: FeedCheckpoint,
        limit: int,
        until: FeedCheckpoint | None,
    ) -> FeedPage:
        # Rows go straight from the driver into RecordedEvent: SQLAlchemy's row processing
        # cost more than everything else in reading a page.
        if limit < 1:
            raise InvalidAppend("limit", "must be at least 1")
        async with driver.cursor() as cursor:
            # The horizon first, as a constant: every txid below it has committed or
            # aborted, so nothing can still appear behind the checkpoint we hand out.
            await cursor.execute(HORIZON_SQL)
            horizon = int((await cursor.fetchone())[0])  # type: ignore[index]
            await cursor.execute(
                FEED_SQL,
                {
                    "txid": str(after.txid),
                    "position": after.position,
                    "horizon": str(horizon),
                    "until_txid": None if until is None else str(until.txid),
                    "until_position": None if until is None else until.position,
                    "limit": limit,
                },
                binary=True,  # timestamps and hashes arrive ready-made: measured ~10% faster
            )
            events = [self._event(row) for row in await cursor.fetchall()]
        checkpoint = events[-1].checkpoint if events else after
        return FeedPage(events, checkpoint, horizon)

    def _event(self, row: Sequence[Any]) -> RecordedEvent:
        return RecordedEvent.from_row(row, self._upcasters)

    # ----------------------------------------------------------------------------- snapshots
    async def save_snapshot(
        self, stream_id: str, version: int, state: Mapping[str, Any], schema_version: int = 1
    ) -> None:
        """Cache a stream's state at ``version``; newer snapshots replace older ones.

        The snapshot is bound to the hash of the stream's event at ``version`` and signed with
        this store's snapshot key (harbour.eventstore.snapshots); there must be such an event.
        Checking, encoding and signing the state run in a worker thread: the broker's exposure
        at 100,000 groups is a 3 MB document, seconds of work the event loop would otherwise
        stop for (``state`` must not change meanwhile: callers pass a fresh document).
        """
        check_stream_id(stream_id)
        async with self._autocommit.connect() as conn:
            event_hash = (
                await conn.execute(SNAPSHOT_EVENT_HASH_SQL, {"s": stream_id, "v": version})
            ).scalar()
            if event_hash is None:
                raise InvalidAppend("version", f"{stream_id} has no event at version {version}")
        event_hash = bytes(event_hash)
        # No connection is held meanwhile (the event's hash never changes).
        state_json, digest = await asyncio.to_thread(
            self._sealed, stream_id, version, schema_version, event_hash, state
        )
        params = {
            "s": stream_id,
            "v": version,
            "sv": schema_version,
            "state": state_json,
            "at": self._clock(),
            "h": event_hash,
            "d": digest,
        }
        async with self._autocommit.connect() as conn:
            await conn.execute(SAVE_SNAPSHOT_SQL, params)

    def _sealed(
        self,
        stream_id: str,
        version: int,
        schema_version: int,
        event_hash: bytes,
        state: Mapping[str, Any],
    ) -> tuple[str, bytes]:
        """The snapshot's state as stored (checked, canonical JSON) and its signature."""
        state_json = canonical_object(state, "state")
        digest = sealed_digest(
            self._snapshot_key,
            stream_id=stream_id,
            version=version,
            schema_version=schema_version,
            event_hash=event_hash,
            state_json=state_json,
        )
        return state_json, digest

    async def load_snapshot(
        self, stream_id: str, *, up_to_version: int | None = None
    ) -> tuple[int, int, dict[str, Any]] | None:
        """(version, schema_version, state) of the newest usable snapshot, if any. A snapshot
        that fails verification is logged and not returned: the caller replays the events."""
        query = sa.text(
            f"{SNAPSHOT_ROWS_SQL} WHERE s.stream_id = :s "
            "AND (CAST(:upto AS integer) IS NULL OR s.version <= :upto)"
        )
        async with self._autocommit.connect() as conn:
            row = (await conn.execute(query, {"s": stream_id, "upto": up_to_version})).first()
        if row is None:
            return None
        return self._believed(_stored_snapshot(row))

    async def load_snapshots(
        self, stream_ids: Sequence[str]
    ) -> dict[str, tuple[int, int, dict[str, Any]]]:
        """The newest usable snapshot of each of ``stream_ids`` that has one, in one round
        trip: (version, schema_version, state) by stream (failed ones logged and left out)."""
        for stream_id in stream_ids:
            check_stream_id(stream_id)
        query = sa.text(f"{SNAPSHOT_ROWS_SQL} WHERE s.stream_id = ANY(:streams)")
        async with self._autocommit.connect() as conn:
            rows = (await conn.execute(query, {"streams": list(stream_ids)})).all()
        found = {}
        for row in rows:
            snapshot = _stored_snapshot(row)
            believed = self._believed(snapshot)
            if believed is not None:
                found[snapshot.stream_id] = believed
        return found

    async def check_snapshots(
        self, *, stream_id: str | None = None, batch: int = 1000
    ) -> tuple[int, list[SnapshotFault]]:
        """The auditor's check of every snapshot (or one stream's): (how many were checked,
        each one that must not be believed, with its stream, version and why)."""
        checked, faults, after = 0, [], ""
        query = sa.text(
            f"{SNAPSHOT_ROWS_SQL} WHERE s.stream_id > :after "
            "AND (CAST(:only AS text) IS NULL OR s.stream_id = :only) "
            "ORDER BY s.stream_id LIMIT :batch"
        )
        while True:
            params = {"after": after, "only": stream_id, "batch": batch}
            async with self._autocommit.connect() as conn:
                rows = (await conn.execute(query, params)).all()
            for row in rows:
                snapshot = _stored_snapshot(row)
                reason = snapshot_fault(self._snapshot_key, snapshot)
                if reason is not None:
                    faults.append(SnapshotFault(snapshot.stream_id, snapshot.version, reason))
            checked += len(rows)
            if len(rows) < batch:
                return checked, faults
            after = rows[-1][0]

    def _believed(self, snapshot: StoredSnapshot) -> tuple[int, int, dict[str, Any]] | None:
        reason = snapshot_fault(self._snapshot_key, snapshot)
        if reason is not None:
            log.warning(
                "snapshot of %s at version %d ignored (%s): replaying its events",
                snapshot.stream_id,
                snapshot.version,
                reason,
            )
            return None
        return snapshot.version, snapshot.schema_version, snapshot.state


def _add_reads(
    streams: dict[str, tuple[int, int, list[int]]], commands: Sequence[CommandWrite]
) -> None:
    """Add the streams ``commands`` only read to the statement's ``streams``, with no events:
    its gate then holds each at the version read, as it holds a written one at its expected
    version. Raises BatchNotApplied naming a stream two decisions read at different versions
    (one of them is behind), InvalidAppend for one the statement also writes."""
    read_at: dict[str, int] = {}
    for command in commands:
        for stream_id, version in command.reads.items():
            check_stream_id(stream_id)
            _check_expected_version(version)
            if read_at.setdefault(stream_id, version) != version:
                raise BatchNotApplied(frozenset({stream_id}))
    for stream_id, version in read_at.items():
        if stream_id in streams:
            # A read before the batch's writes or after them could not be told apart.
            raise InvalidAppend("reads", f"{stream_id}: a statement reads a stream or writes it")
        streams[stream_id] = (len(streams), version, [])


def _check_new_events(events: Sequence[NewEvent]) -> None:
    """Refuse what ``_encode`` would refuse, before a fingerprint is taken of the events."""
    for event in events:
        check_event_type(event.type)
        check_json_object(event.data, "data")


def _described(events: Sequence[NewEvent]) -> list[list[Any]]:
    """Events as a request fingerprint covers them."""
    return [[e.type, e.schema_version, e.data] for e in events]


def _check_expected_version(expected_version: object) -> None:
    if not isinstance(expected_version, int) or isinstance(expected_version, bool):
        raise InvalidAppend("expected_version", "must be an integer")
    if expected_version < 0:
        raise InvalidAppend("expected_version", "must be 0 (new stream) or a positive version")


def check_request_id(request_id: object) -> None:
    if request_id is None:
        return
    if not isinstance(request_id, str) or not request_id.strip():
        raise InvalidAppend("request_id", "must be a non-empty string")
    if len(request_id) > MAX_REQUEST_ID_LENGTH:
        raise InvalidAppend("request_id", f"must be at most {MAX_REQUEST_ID_LENGTH} characters")
    if not request_id.isprintable():
        raise InvalidAppend("request_id", "must be printable text")


def _stored_snapshot(row: Sequence[Any]) -> StoredSnapshot:
    stream_id, version, schema_version, state, event_hash, digest, stream_hash = row
    return StoredSnapshot(
        stream_id,
        version,
        schema_version,
        state,
        bytes(event_hash),
        bytes(digest),
        None if stream_hash is None else bytes(stream_hash),
    )
