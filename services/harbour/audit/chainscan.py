"""One part of ``harbour audit verify``: a stream of stored rows checked against their chains.

The hash chain covers ``sha256(previous stored hash || canonical bytes of the event)``, and
every event keeps those bytes beside it (``events.content``, migration 0017). An event needs
only its predecessor's *stored* hash, so the store is read once, in position order, with one
binary COPY, and each row is checked as it arrives:

* its version follows its stream's last one (nothing missing, nothing moved in);
* ``sha256(previous stored hash || content)`` is its stored hash (the bytes are as hashed);
* its content says what its columns say — ``harbour_content_agrees``, evaluated by
  PostgreSQL beside the read (the ``jsonb`` parse is C there; here it would be most of the
  time): a column changed behind the chain's back is caught although its bytes still hash.

So Python hashes exactly the stored bytes and never re-encodes JSON: a row costs a dict look-up
and one SHA-256. A part is a share of the streams (by a hash of the stream id), so several
processes can read the same snapshot side by side without ever needing each other's state:
every stream is checked whole, in position order, by exactly one part. This module imports
only what such a process needs (no SQLAlchemy, no domain).
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
  SELECT position, stream_id, version, hash, content, harbour_content_agrees(e)
    FROM events e
   WHERE position <= {up_to} {share}
   ORDER BY position
) TO STDOUT (FORMAT BINARY)
"""
ROW_TYPES = ["int8", "text", "int4", "bytea", "bytea", "bool"]
# Streams are shared out by hashtext(stream_id): stable within one server, which is all a
# run needs (every part reads the same server in the same snapshot).
SHARE_SQL = "AND (hashtext(stream_id)::bigint % {parts} + {parts}) % {parts} = {part}"

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


def rows_sql(up_to_position: int, part: int, parts: int) -> sql.Composed:
    share = (
        sql.SQL(SHARE_SQL).format(parts=sql.Literal(parts), part=sql.Literal(part))
        if parts > 1
        else sql.SQL("")
    )
    return sql.SQL(ROWS_SQL).format(up_to=sql.Literal(up_to_position), share=share)


def scan_part(
    conninfo: str,
    snapshot: str | None,
    up_to_position: int,
    part: int = 0,
    parts: int = 1,
    progress: Callable[[int], None] | None = None,
) -> PartResult:
    """Check every chain of this part's streams up to ``up_to_position``, in the exported
    ``snapshot`` if one is given (so that every part sees the same history)."""
    with psycopg.connect(conninfo) as conn:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        if snapshot is not None:
            conn.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
        with conn.cursor() as cursor, cursor.copy(rows_sql(up_to_position, part, parts)) as copy:
            copy.set_types(ROW_TYPES)
            return check_rows(copy.rows(), part, progress)


def check_rows(
    rows: Iterable[tuple[Any, ...]], part: int, progress: Callable[[int], None] | None
) -> PartResult:
    """Rows of ``ROWS_SQL`` (position, stream, version, hash, content, agrees), in position
    order, checked against their streams' chains."""
    # Each stream's last version and stored hash.
    heads: dict[str, tuple[int, bytes]] = {}
    breaks: list[Break] = []
    checked = 0
    next_report = PROGRESS_ROWS
    # Bound once: attribute and global look-ups cost as much as the work at this rate.
    head_of, digest_of, empty, start = heads.get, sha256, b"", (0, b"")
    for position, stream, version, stored, content, agrees in rows:
        previous_version, previous = head_of(stream, start)
        if version != previous_version + 1:
            reason = MISSING.format(version=version, previous=previous_version)
            breaks.append((position, stream, version, reason))
        stored = stored or empty  # NULL: no hash at all (only a table without its constraint)
        if not agrees or digest_of(previous + (content or empty)).digest() != stored:
            breaks.append((position, stream, version, MISMATCH))
        # Go on from the stored hash: one altered row is reported once, not for ever after.
        heads[stream] = (version, stored)
        checked += 1
        if progress is not None and checked >= next_report:
            next_report += PROGRESS_ROWS
            progress(checked)
    if progress is not None:
        progress(checked)
    return PartResult(part, checked, len(heads), breaks)


# ------------------------------------------------------------------ a part in its own process

# Where each part of a run writes how many events it has checked (shared memory, one slot a
# part, set by the parent before it forks the parts).
_counters: Any = None


def share_counters(counters: Any) -> None:
    global _counters
    _counters = counters


def scan_share(
    conninfo: str, snapshot: str, up_to_position: int, part: int, parts: int
) -> PartResult:
    """``scan_part`` in a worker process, its progress written to the shared counters."""

    def report(done: int) -> None:
        if _counters is not None:
            _counters[part] = done

    return scan_part(conninfo, snapshot, up_to_position, part, parts, report)
