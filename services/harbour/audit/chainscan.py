"""One part of ``harbour audit verify``: a stream of stored rows checked against their chains.

The hash chain covers ``sha256(previous stored hash || canonical bytes of the event)`` (see
``harbour.eventstore.encoding.event_content`` and the trigger of migration 0009). An event
needs only its predecessor's *stored* hash, so the store is read once, in position order, with
one COPY, and each row is checked as it arrives against the last stored hash of its stream.

Where the time goes, and why the code looks like this: at 200,000 events/s a row has ~5 µs
of Python on a core shared with PostgreSQL. So:

* PostgreSQL writes what it can as bytes: the tail of the canonical envelope
  (``recorded_at`` in the trigger's own ``to_char`` format, ``schema_version``, ``stream_id``,
  ``type``, ``version``) and the hash in hex. Python neither parses a timestamp nor formats
  an integer.
* ``data`` and ``metadata`` arrive as jsonb's text, which is not canonical (jsonb orders keys
  by length, and writes spaces), so they are decoded and re-encoded with sorted keys by
  msgspec (a few times faster than the standard library on these shapes). msgspec's text is
  the standard library's ``canonical_json`` byte for byte for every value the store admits;
  anything else (a float, a nesting too deep, ...) takes the standard library's exact path,
  so a row is judged exactly as ``harbour.eventstore.verify.ChainVerifier`` judges it.
* The loop keeps everything in local variables and touches a row's fields only as bytes.

A part is a share of the streams (by a hash of the stream id), so several processes can read
the same snapshot side by side without ever needing each other's state: every stream is
checked whole, in position order, by exactly one part. This module imports only what such a
process needs (no SQLAlchemy, no domain).
"""

from __future__ import annotations

import json
import re
from binascii import Error as HexError
from binascii import unhexlify
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from hashlib import sha256
from typing import Any

import msgspec
import psycopg
from psycopg import sql
from psycopg.abc import Buffer

from harbour.eventstore.encoding import canonical_json

# The canonical envelope is '{"data":' D ',"metadata":' M ',"recorded_at":"' ... '}', keys in
# code-point order; PostgreSQL builds everything after M exactly as the trigger does.
DATA_OPEN = b'{"data":'
METADATA_OPEN = b',"metadata":'
ROWS_SQL = """
COPY (
  SELECT position, stream_id, data, metadata,
         ',"recorded_at":"'
           || to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '+00:00'
           || '","schema_version":' || schema_version
           || ',"stream_id":"' || stream_id || '","type":"' || type
           || '","version":' || version || '}}',
         version, encode(hash, 'hex'),
         '' -- the row's end: the hash is never the field that carries the newline
    FROM events
   WHERE position <= {up_to} {share}
   ORDER BY position
) TO STDOUT
"""
# Streams are shared out by hashtext(stream_id): stable within one server, which is all a
# run needs (every part reads the same server in the same snapshot).
SHARE_SQL = "AND (hashtext(stream_id)::bigint % {parts} + {parts}) % {parts} = {part}"

FIELDS = 8  # the columns of ROWS_SQL
NEWLINE = ord("\n")
PROGRESS_ROWS = 10_000  # rows between two progress reports

MISSING = "version {version} follows version {previous}: an event is missing"
MISMATCH = "hash mismatch: the stored event differs from what was recorded"
UNREADABLE = "the stored JSON cannot be read: {error}"

# COPY's text format escapes a backslash and the control characters it uses as separators.
_COPY_ESCAPE = re.compile(rb"\\(.)", re.DOTALL)
_COPY_CODES = {
    b"\\": b"\\",
    b"b": b"\b",
    b"f": b"\f",
    b"n": b"\n",
    b"r": b"\r",
    b"t": b"\t",
    b"v": b"\v",
}


def copy_unescape(field: bytes) -> bytes:
    """A field of COPY's text format as stored (only called when it holds a backslash)."""
    return _COPY_ESCAPE.sub(lambda m: _COPY_CODES.get(m.group(1), m.group(1)), field)


class _NotCanonical(Exception):
    """A JSON number with a fraction or an exponent: msgspec and the standard library write
    floats differently, so the row takes the exact path."""


def _refuse_float(text: str) -> object:
    raise _NotCanonical(text)


_decode = msgspec.json.Decoder(float_hook=_refuse_float).decode
_encode = msgspec.json.Encoder(order="sorted").encode


class UnreadableJson(Exception):
    """Stored JSON that neither decoder reads (which the store never writes)."""


def exact_canonical(stored: bytes) -> bytes:
    """The canonical bytes as ``ChainVerifier`` computes them: the standard library's."""
    try:
        return canonical_json(json.loads(stored)).encode("utf-8")
    except (ValueError, RecursionError, TypeError) as error:
        raise UnreadableJson(str(error)[:200]) from error


def canonical(stored: bytes) -> bytes:
    """jsonb's text of a value as canonical JSON (sorted keys, no whitespace, UTF-8)."""
    try:
        return _encode(_decode(stored))
    except Exception:  # any value msgspec will not vouch for: judge it the exact way
        return exact_canonical(stored)


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
            return _check_rows(copy, part, progress)


def _check_rows(
    blocks: Iterable[Buffer], part: int, progress: Callable[[int], None] | None
) -> PartResult:
    # Each stream's last version and stored hash; keys are the stream ids as COPY sent them.
    heads: dict[bytes, tuple[int, bytes]] = {}
    breaks: list[Break] = []
    checked = reported = 0
    rest = b""
    # One metadata is written for every event of an append: its canonical text is reused.
    last_metadata = last_canonical_metadata = b""
    # Bound once: attribute and global look-ups cost as much as the work at this rate.
    head_of, to_bytes, digest_of, join = heads.get, unhexlify, sha256, b"".join
    decode, encode, exact = _decode, _encode, exact_canonical
    empty, backslash, tab, newline = b"", b"\\", b"\t", NEWLINE
    for buffer in blocks:
        block = bytes(buffer)
        fields = block.split(tab)
        # PostgreSQL sends one row per message; anything else (a server or proxy that cuts
        # or joins rows) takes the general path.
        if rest or len(fields) != FIELDS or block[-1] != newline:
            rows, rest = _whole_rows(rest + block)
        else:
            rows = [fields]
        for position, stream, data, metadata, tail, version_text, stored_hex, _ in rows:
            if backslash in data or backslash in metadata or backslash in tail:
                stream, data, metadata, tail = map(copy_unescape, (stream, data, metadata, tail))
            version = int(version_text)
            previous_version, previous = head_of(stream, (0, empty))
            try:
                stored = to_bytes(stored_hex)
            except HexError:  # \N: no hash at all (only a table without its constraint)
                stored = empty
            if version != previous_version + 1:
                reason = MISSING.format(version=version, previous=previous_version)
                breaks.append((int(position), stream.decode(), version, reason))
            try:
                try:
                    canonical_data = encode(decode(data))
                except Exception:  # a value msgspec will not vouch for: the exact way
                    canonical_data = exact(data)
                if metadata != last_metadata:
                    try:
                        canonical_metadata = encode(decode(metadata))
                    except Exception:
                        canonical_metadata = exact(metadata)
                    last_metadata, last_canonical_metadata = metadata, canonical_metadata
            except UnreadableJson as unreadable:
                breaks.append(_break(position, stream, version, UNREADABLE, unreadable))
            else:
                content = join(
                    (
                        previous,
                        DATA_OPEN,
                        canonical_data,
                        METADATA_OPEN,
                        last_canonical_metadata,
                        tail,
                    )
                )
                if digest_of(content).digest() != stored:
                    breaks.append((int(position), stream.decode(), version, MISMATCH))
            # Go on from the stored hash: one altered row is reported once, not for ever after.
            heads[stream] = (version, stored)
            checked += 1
        if progress is not None and checked - reported >= PROGRESS_ROWS:
            reported = checked
            progress(checked)
    if rest:
        raise ValueError("COPY ended inside a row")
    if progress is not None:
        progress(checked)
    return PartResult(part, checked, len(heads), breaks)


def _whole_rows(text: bytes) -> tuple[list[list[bytes]], bytes]:
    """The complete rows in ``text`` as their fields, and what is left of a row cut short."""
    lines = text.split(b"\n")
    rest = lines.pop()
    rows = [line.split(b"\t") for line in lines]
    for row in rows:
        if len(row) != FIELDS:
            raise ValueError(f"a COPY row with {len(row)} fields, not {FIELDS}")
    return rows, rest


def _break(position: bytes, stream: bytes, version: int, reason: str, error: object) -> Break:
    return (int(position), stream.decode(), version, reason.format(error=error))


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
