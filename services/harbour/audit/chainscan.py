"""One part of ``harbour audit verify``: a range of stored events checked against their chains.

The hash chain covers ``sha256(previous stored hash || canonical bytes of the event)``, and
an event *is* those bytes (``events.content``, migration 0017: its data and metadata live only
there). An event needs only its predecessor's *stored* hash, so the store is read once, in
position order, with one binary COPY, and each event is checked as it arrives:

* its version follows its stream's last one (nothing missing, nothing moved in);
* ``sha256(previous stored hash || content)`` is its stored hash (the bytes are as hashed);
* its content ends with what its columns say (``harbour_event_tail``: recorded_at,
  schema_version, stream_id, type, version; compared by PostgreSQL beside the read) — a
  column changed behind the chain's back is caught although the bytes still hash.

Python hashes exactly the stored bytes and never re-encodes JSON. A COPY row is a *chunk* of
events packed end to end (a message and a Python object per event cost as much as the
hashing); PostgreSQL says per chunk whether every event's columns agree with its bytes, and
a chunk where one does not is read again event by event to say which. A part is a range of
positions, so several processes read the same snapshot side by side and PostgreSQL reads
each event once. A stream's first event in a part that does not start at the beginning is
checked against the stored hash of the stream's event just before it (one indexed look-up per
such stream, batched). A break found in a packed chunk is placed by its chunk and its index
there, and given its position at the end (one look-up for all). This module imports only
what such a process needs (no SQLAlchemy, no domain).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from hashlib import sha256
from typing import Any

import psycopg
from psycopg import sql

CHUNK_ROWS = 2_000  # positions in one COPY row (about 1.5 MB at today's event sizes)
# Bytes of an event packed into a chunk, at most: a chunk is then at most CHUNK_ROWS x this
# (64 MB, far below PostgreSQL's 1 GB a value) however large the store's events are. A chunk
# holding a larger event is read event by event.
PACKED_EVENT_BYTES = 32_768
# ``clean``: every event of the chunk has a SHA-256 as its stored hash, content that ends
# with what its columns say (the tail is computed once per event, in the inner query) and
# fits PACKED_EVENT_BYTES. ``heads``: a fixed-size record per event (HEAD); ``streams``: the
# stream ids in the same order, NUL-separated (text never holds a NUL); ``contents``: the
# stored bytes end to end (only events that fit). A chunk that is not clean is read again
# with ROWS_SQL: its records may not even be fixed-size.
CHUNKS_SQL = """
COPY (
  SELECT s.start, c.clean, c.heads, c.streams, c.contents
    FROM generate_series(%(after)s::bigint, %(up_to)s::bigint - 1, %(chunk)s) AS s(start)
   CROSS JOIN LATERAL (
     SELECT bool_and(octet_length(hash) = 32
                     AND octet_length(content) <= %(packed_bytes)s
                     AND substr(content, octet_length(content) - octet_length(tail) + 1)
                         = tail) AS clean,
            string_agg(int4send(version) || hash || int4send(octet_length(content)),
                       ''::bytea) AS heads,
            string_agg(textsend(stream_id), '\\x00'::bytea) AS streams,
            string_agg(content, ''::bytea)
              FILTER (WHERE octet_length(content) <= %(packed_bytes)s) AS contents
       FROM (SELECT stream_id, version, hash, content,
                    harbour_event_tail(recorded_at, schema_version, stream_id, type, version)
                      AS tail
               FROM events
              WHERE position > s.start AND position <= least(s.start + %(chunk)s, %(up_to)s)
              ORDER BY position OFFSET 0) AS e
   ) AS c
   WHERE c.heads IS NOT NULL
) TO STDOUT (FORMAT BINARY)
"""
CHUNK_TYPES = ["int8", "bool", "bytea", "bytea", "bytea"]
HEAD = struct.Struct(">i32sI")  # version, stored hash, content length
# A chunk's events one by one, each with whether its columns agree with its bytes.
ROWS_SQL = """
COPY (
  SELECT position, stream_id, version, hash, content,
         substr(content, octet_length(content) - octet_length(tail) + 1) = tail
    FROM (SELECT position, stream_id, version, hash, content,
                 harbour_event_tail(recorded_at, schema_version, stream_id, type, version) AS tail
            FROM events
           WHERE position > %(after)s AND position <= %(up_to)s
           ORDER BY position OFFSET 0) AS e
) TO STDOUT (FORMAT BINARY)
"""
ROW_TYPES = ["int8", "text", "int4", "bytea", "bytea", "bool"]
# The stored hash before a stream's first event in a part: that of the stream's version just
# below, by a backward probe of the (stream_id, version) index. (Where versions were swapped
# behind the chain's back across a part's start, an event may be reported for another reason
# than a single pass gives; it is reported either way.)
BEFORE_SQL = """
SELECT w.i, p.version, p.hash
  FROM unnest(%(streams)s::text[], %(versions)s::integer[])
       WITH ORDINALITY AS w(stream_id, version, i)
  JOIN LATERAL (SELECT e.version, e.hash FROM events e
                 WHERE e.stream_id = w.stream_id AND e.version < w.version
                 ORDER BY e.version DESC LIMIT 1) AS p ON true
"""
# The position of the index-th event (from 0) of the chunk after ``start``.
POSITIONS_SQL = """
SELECT w.i, p.position
  FROM unnest(%(starts)s::bigint[], %(indexes)s::integer[]) WITH ORDINALITY AS w(start, n, i)
  JOIN LATERAL (SELECT e.position FROM events e
                 WHERE e.position > w.start AND e.position <= least(w.start + %(chunk)s, %(up_to)s)
                 ORDER BY e.position OFFSET w.n LIMIT 1) AS p ON true
"""
LOOKUP_BATCH = 10_000  # events held or placed before one look-up answers for them

MISSING = "version {version} follows version {previous}: an event is missing"
MISMATCH = "hash mismatch: the stored event differs from what was recorded"


# A break as plain data, cheap to send between processes: position, stream, version, reason.
Break = tuple[int, str, int, str]
# Where an event is: (its position, -1) when known, else (its chunk's start, its index there).
Place = tuple[int, int]
Event = tuple[Place, str, int, bytes, bytes, bool]  # place, stream, version, hash, content, agrees
Chunk = tuple[int, bool, bytes, bytes, bytes]  # a row of CHUNKS_SQL
START = (0, b"")  # what a stream's first event follows


@dataclass
class PartResult:
    part: int
    events_checked: int
    streams_checked: int
    breaks: list[Break]


def scan_part(
    conninfo: str,
    snapshot: str | None,
    after_position: int,
    up_to_position: int,
    part: int = 0,
    progress: Callable[[int], None] | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> PartResult:
    """Check every event with ``after_position < position <= up_to_position`` against its
    stream's chain, in the exported ``snapshot`` if one is given (so that every part sees the
    same history), ``chunk_rows`` positions to a COPY row."""
    bounds = {"after": after_position, "up_to": up_to_position, "chunk": chunk_rows}
    packing = {**bounds, "packed_bytes": PACKED_EVENT_BYTES}
    side = _SideReader(conninfo, snapshot, bounds)
    try:
        with (
            _reader(conninfo, snapshot) as conn,
            conn.cursor() as cursor,
            cursor.copy(CHUNKS_SQL, packing) as copy,
        ):
            copy.set_types(CHUNK_TYPES)
            scan = _PartScan(side, first=after_position == 0)
            return scan.run(copy.rows(), part, progress)
    finally:
        side.close()


def _reader(conninfo: str, snapshot: str | None) -> psycopg.Connection[Any]:
    conn = psycopg.connect(conninfo)
    conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
    if snapshot is not None:
        conn.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
    return conn


class _SideReader:
    """What a part asks besides its COPY, on a second connection in the same snapshot (the
    first is busy with the COPY), opened on the first question."""

    def __init__(self, conninfo: str, snapshot: str | None, bounds: dict[str, int]) -> None:
        self._conninfo, self._snapshot, self._bounds = conninfo, snapshot, bounds
        self._conn: psycopg.Connection[Any] | None = None

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None:
            self._conn = _reader(self._conninfo, self._snapshot)
        return self._conn

    def predecessors(self, held: list[Event]) -> dict[int, tuple[int, bytes]]:
        """For each held event, by its index: the version and stored hash of its stream's
        event just below it; absent when there is none."""
        rows = self._connection().execute(
            BEFORE_SQL,
            {"streams": [event[1] for event in held], "versions": [event[2] for event in held]},
        )
        return {int(i) - 1: (int(version), bytes(digest)) for i, version, digest in rows}

    def events(self, start: int) -> Iterator[Event]:
        """The chunk after ``start`` event by event."""
        up_to = min(start + self._bounds["chunk"], self._bounds["up_to"])
        with (
            self._connection().cursor() as cursor,
            cursor.copy(ROWS_SQL, {"after": start, "up_to": up_to}) as copy,
        ):
            copy.set_types(ROW_TYPES)
            for position, stream, version, digest, content, agrees in copy.rows():
                yield (position, -1), stream, version, digest, content, agrees

    def positions(self, places: list[Place]) -> dict[Place, int]:
        """The position of every event placed by its chunk and index."""
        found: dict[Place, int] = {}
        for first in range(0, len(places), LOOKUP_BATCH):
            batch = places[first : first + LOOKUP_BATCH]
            rows = self._connection().execute(
                POSITIONS_SQL,
                {
                    "starts": [start for start, _ in batch],
                    "indexes": [index for _, index in batch],
                    **self._bounds,
                },
            )
            found.update((batch[int(i) - 1], int(position)) for i, position in rows)
        return found

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()


class _PartScan:
    """The chains of one part, as its chunks arrive in position order."""

    def __init__(self, side: _SideReader, *, first: bool) -> None:
        self.side = side
        self.first = first  # the part starts at the beginning: a new stream follows START
        self.heads: dict[str, tuple[int, bytes]] = {}  # each stream's last version and hash
        self.found: list[tuple[Place, str, int, str]] = []
        self.held: list[Event] = []  # first events of their streams, awaiting predecessors
        self.checked = self.streams = 0

    def run(
        self, chunks: Iterable[Chunk], part: int, progress: Callable[[int], None] | None
    ) -> PartResult:
        last_start = -1
        for start, clean, packed, names, contents in chunks:
            # The chunks come in the order of the series the query walks; were that ever not
            # so, events would meet their streams out of order (reported, never passed).
            if start <= last_start:
                raise RuntimeError(f"chunk {start} came after chunk {last_start}: out of order")
            last_start = start
            if clean:
                self.checked += self.packed(start, packed, names, contents)
            else:
                self.checked += self.one_by_one(self.side.events(start))
            if progress is not None:
                progress(self.checked)
        self.check_held()
        return PartResult(part, self.checked, self.streams, self.breaks())

    def packed(self, start: int, packed: bytes, names: bytes, contents: bytes) -> int:
        """A clean chunk: only versions and hashes can be wrong."""
        heads, first, found = self.heads, self.first, self.found
        # Bound once: attribute and global look-ups cost as much as the work at this rate.
        head_of, digest_of = heads.get, sha256
        offset = 0
        stream_ids = names.decode("utf-8").split("\x00")
        for index, ((version, stored, size), stream) in enumerate(
            zip(HEAD.iter_unpack(packed), stream_ids, strict=True)
        ):
            end = offset + size
            content = contents[offset:end]  # bytes: a memoryview hashes slower (measured)
            offset = end
            head = head_of(stream)
            if head is None:
                if not first:
                    self.hold(((start, index), stream, version, stored, content, True))
                    heads[stream] = (version, stored)
                    continue
                head = START
                self.streams += 1
            if version != head[0] + 1 or digest_of(head[1] + content).digest() != stored:
                event = ((start, index), stream, version, stored, content, True)
                found += _reasons(event, head)
            # Go on from the stored hash: one altered event is reported once, not ever after.
            heads[stream] = (version, stored)
        return len(stream_ids)

    def one_by_one(self, events: Iterable[Event]) -> int:
        """A chunk with an event whose columns disagree with its bytes, or whose stored hash
        is no SHA-256: every check, event by event."""
        count = 0
        for event in events:
            _, stream, version, stored, _, _ = event
            head = self.heads.get(stream)
            if head is None and not self.first:
                self.hold(event)
            else:
                if head is None:
                    head = START
                    self.streams += 1
                self.found += _reasons(event, head)
            self.heads[stream] = (version, stored)
            count += 1
        return count

    def hold(self, event: Event) -> None:
        self.held.append(event)
        if len(self.held) >= LOOKUP_BATCH:
            self.check_held()

    def check_held(self) -> None:
        """Check held first events against their predecessors; a stream with none begins in
        this part."""
        if not self.held:
            return
        before = self.side.predecessors(self.held)
        for index, event in enumerate(self.held):
            self.streams += index not in before
            self.found += _reasons(event, before.get(index, START))
        self.held = []

    def breaks(self) -> list[Break]:
        placed = [place for place, *_ in self.found if place[1] >= 0]
        positions = self.side.positions(placed) if placed else {}
        breaks = [
            (place[0] if place[1] < 0 else positions[place], stream, version, reason)
            for place, stream, version, reason in self.found
        ]
        breaks.sort(key=lambda found: found[0])  # stable: an event's own breaks keep order
        return breaks


def _reasons(event: Event, head: tuple[int, bytes]) -> list[tuple[Place, str, int, str]]:
    """One event against the version and stored hash of the event before it in its stream."""
    place, stream, version, stored, content, agrees = event
    previous_version, previous = head
    reasons = []
    if version != previous_version + 1:
        reason = MISSING.format(version=version, previous=previous_version)
        reasons.append((place, stream, version, reason))
    # Both columns are NOT NULL: a constraint no trigger switch turns off.
    if not agrees or sha256(previous + content).digest() != stored:
        reasons.append((place, stream, version, MISMATCH))
    return reasons


# ------------------------------------------------------------------ a part in its own process

# Where each part of a run writes how many events it has checked (shared memory, one slot a
# part, set by the parent before it forks the parts).
_counters: Any = None


def share_counters(counters: Any) -> None:
    global _counters
    _counters = counters


def scan_share(
    conninfo: str,
    snapshot: str,
    after_position: int,
    up_to_position: int,
    part: int,
    chunk_rows: int = CHUNK_ROWS,
) -> PartResult:
    """``scan_part`` in a worker process, its progress written to the shared counters."""

    def report(done: int) -> None:
        if _counters is not None:
            _counters[part] = done

    return scan_part(conninfo, snapshot, after_position, up_to_position, part, report, chunk_rows)
