"""One part of ``harbour audit verify``: a stream of stored rows checked against their chains.

The hash chain covers ``sha256(previous stored hash || canonical bytes of the event)``, and
an event *is* those bytes (``events.content``, migration 0017: its data and metadata live only
there). An event needs only its predecessor's *stored* hash, so the store is read once, in
position order, with one binary COPY, and each row is checked as it arrives:

* its version follows its stream's last one (nothing missing, nothing moved in);
* ``sha256(previous stored hash || content)`` is its stored hash (the bytes are as hashed);
* its content ends with what its columns say (``harbour_event_tail``: recorded_at,
  schema_version, stream_id, type, version; compared by PostgreSQL beside the read) — a
  column changed behind the chain's back is caught although the bytes still hash.

So Python hashes exactly the stored bytes and never re-encodes JSON: a row costs a dict look-up
and one SHA-256. A part is a range of positions, so several processes read the same snapshot
side by side and PostgreSQL reads each row once. A stream's first row in a part that does not
start at the beginning is checked against the stored hash of the stream's event just before
it (one indexed look-up per such stream, batched); every other row against the row before it
in the part. This module imports only what such a process needs (no SQLAlchemy, no domain).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from hashlib import sha256
from typing import Any

import psycopg
from psycopg import sql

ROWS_SQL = """
COPY (
  SELECT position, stream_id, version, hash, content,
         substr(content, octet_length(content) - octet_length(tail) + 1) = tail
    FROM (SELECT position, stream_id, version, hash, content,
                 harbour_event_tail(recorded_at, schema_version, stream_id, type, version) AS tail
            FROM events
           WHERE position > %(after)s AND position <= %(up_to)s) AS e
   ORDER BY position
) TO STDOUT (FORMAT BINARY)
"""
ROW_TYPES = ["int8", "text", "int4", "bytea", "bytea", "bool"]
# The stored hash before a stream's first row in a part: that of the stream's version just
# below, by a backward probe of the (stream_id, version) index. (Where versions were swapped
# behind the chain's back across a part's start, a row may be reported for another reason
# than a single pass gives; it is reported either way.)
BEFORE_SQL = """
SELECT w.i, p.version, p.hash
  FROM unnest(%(streams)s::text[], %(versions)s::integer[])
       WITH ORDINALITY AS w(stream_id, version, i)
  JOIN LATERAL (SELECT e.version, e.hash FROM events e
                 WHERE e.stream_id = w.stream_id AND e.version < w.version
                 ORDER BY e.version DESC LIMIT 1) AS p ON true
"""
LOOKUP_BATCH = 10_000  # first rows held (with their bytes) before their predecessors are read

PROGRESS_ROWS = 10_000  # rows between two progress reports

MISSING = "version {version} follows version {previous}: an event is missing"
MISMATCH = "hash mismatch: the stored event differs from what was recorded"


# A break as plain data, cheap to send between processes: position, stream, version, reason.
Break = tuple[int, str, int, str]


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
) -> PartResult:
    """Check every event with ``after_position < position <= up_to_position`` against its
    stream's chain, in the exported ``snapshot`` if one is given (so that every part sees the
    same history)."""
    with _reader(conninfo, snapshot) as conn, conn.cursor() as cursor:
        params = {"after": after_position, "up_to": up_to_position}
        before = None if after_position == 0 else _Predecessors(conninfo, snapshot)
        try:
            with cursor.copy(ROWS_SQL, params) as copy:
                copy.set_types(ROW_TYPES)
                return check_rows(copy.rows(), part, progress, before)
        finally:
            if before is not None:
                before.close()


def _reader(conninfo: str, snapshot: str | None) -> psycopg.Connection[Any]:
    conn = psycopg.connect(conninfo)
    conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
    if snapshot is not None:
        conn.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
    return conn


class _Predecessors:
    """The stored hash before a stream's first row in a part, read on a second connection in
    the same snapshot (the first is busy with the COPY)."""

    def __init__(self, conninfo: str, snapshot: str | None) -> None:
        self._conninfo, self._snapshot = conninfo, snapshot
        self._conn: psycopg.Connection[Any] | None = None

    def find(self, held: list[Row]) -> dict[int, tuple[int, bytes]]:
        """For each held row, by its index: the version and stored hash of its stream's event
        just below it; absent when there is none."""
        if self._conn is None:
            self._conn = _reader(self._conninfo, self._snapshot)
        rows = self._conn.execute(
            BEFORE_SQL,
            {"streams": [row[1] for row in held], "versions": [row[2] for row in held]},
        ).fetchall()
        return {int(i) - 1: (int(version), bytes(digest)) for i, version, digest in rows}

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()


Row = tuple[int, str, int, bytes, bytes, bool]


def check_rows(
    rows: Iterable[Row],
    part: int,
    progress: Callable[[int], None] | None,
    before: _Predecessors | None = None,
) -> PartResult:
    """Rows of ``ROWS_SQL`` (position, stream, version, hash, content, whether the content
    ends with what the columns say), in position order, checked against their streams'
    chains. Without ``before`` the rows start at the beginning of the store: a stream's first
    row has no predecessor."""
    # Each stream's last version and stored hash.
    heads: dict[str, tuple[int, bytes]] = {}
    breaks: list[Break] = []
    held: list[Row] = []  # first rows of their streams, waiting for their predecessors
    checked = streams = 0
    next_report = PROGRESS_ROWS
    # Bound once: attribute and global look-ups cost as much as the work at this rate.
    head_of, judge, start = heads.get, _judge, (0, b"")
    for row in rows:
        _, stream, version, stored, _, _ = row
        head = head_of(stream)
        if head is None:
            if before is not None:
                held.append(row)
                heads[stream] = (version, stored)
                if len(held) >= LOOKUP_BATCH:
                    streams += _check_held(held, before, breaks)
                    held = []
                checked += 1
                continue
            head = start
            streams += 1
        judge(row, head, breaks)
        # Go on from the stored hash: one altered row is reported once, not for ever after.
        heads[stream] = (version, stored)
        checked += 1
        if progress is not None and checked >= next_report:
            next_report += PROGRESS_ROWS
            progress(checked)
    if held and before is not None:
        streams += _check_held(held, before, breaks)
    if progress is not None:
        progress(checked)
    breaks.sort(key=lambda found: found[0])  # stable: a row's own breaks keep their order
    return PartResult(part, checked, streams, breaks)


def _check_held(held: list[Row], before: _Predecessors, breaks: list[Break]) -> int:
    """Check first rows against their predecessors; returns how many had none (streams that
    begin in this part)."""
    found = before.find(held)
    beginning = 0
    for index, row in enumerate(held):
        beginning += index not in found
        _judge(row, found.get(index, (0, b"")), breaks)
    return beginning


def _judge(row: Row, head: tuple[int, bytes], breaks: list[Break]) -> None:
    """One row against the version and stored hash of the event before it in its stream."""
    position, stream, version, stored, content, says_columns = row
    previous_version, previous = head
    if version != previous_version + 1:
        reason = MISSING.format(version=version, previous=previous_version)
        breaks.append((position, stream, version, reason))
    # Both columns are NOT NULL: a constraint no trigger switch turns off.
    if not says_columns or sha256(previous + content).digest() != stored:
        breaks.append((position, stream, version, MISMATCH))


# ------------------------------------------------------------------ a part in its own process

# Where each part of a run writes how many events it has checked (shared memory, one slot a
# part, set by the parent before it forks the parts).
_counters: Any = None


def share_counters(counters: Any) -> None:
    global _counters
    _counters = counters


def scan_share(
    conninfo: str, snapshot: str, after_position: int, up_to_position: int, part: int
) -> PartResult:
    """``scan_part`` in a worker process, its progress written to the shared counters."""

    def report(done: int) -> None:
        if _counters is not None:
            _counters[part] = done

    return scan_part(conninfo, snapshot, after_position, up_to_position, part, report)
