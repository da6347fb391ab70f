"""Canonical JSON and the per-stream hash chain.

The hash chain is the auditor's proof that nothing was altered: each event's hash is
``sha256(previous hash in its stream || canonical(event))``. Canonical JSON must therefore be
reproducible from what PostgreSQL gives back, so event data is restricted to what ``jsonb``
round-trips exactly: objects with string keys, arrays, strings without NUL, integers, booleans
and null. Floats are refused outright: money is never a float (amounts travel as strings).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from harbour.eventstore.errors import InvalidAppend

GENESIS_HASH = b""
MAX_STREAM_ID_LENGTH = 200
MAX_TYPE_LENGTH = 100
MAX_JSON_DEPTH = 32
# Stream ids are addresses such as ``account-C123`` or ``price-BTC``: printable, no spaces,
# so they are safe in logs, URLs and the Citus distribution column.
_STREAM_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@-]*$")
_EVENT_TYPE = re.compile(r"^[A-Z][A-Za-z0-9]*$")
# PostgreSQL bigint range: jsonb numeric holds more, but nothing in a ledger needs it.
_INT_LIMIT = 2**63


def canonical_json(value: Any) -> str:
    """The one JSON text of a value: sorted keys, no whitespace, UTF-8 kept as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def check_stream_id(stream_id: object, field: str = "stream_id") -> str:
    if not isinstance(stream_id, str) or not stream_id:
        raise InvalidAppend(field, "must be a non-empty string")
    if len(stream_id) > MAX_STREAM_ID_LENGTH:
        raise InvalidAppend(field, f"must be at most {MAX_STREAM_ID_LENGTH} characters")
    if not _STREAM_ID.match(stream_id):
        raise InvalidAppend(field, "may contain only letters, digits and . _ : @ -")
    return stream_id


def check_event_type(event_type: object) -> str:
    if not isinstance(event_type, str) or not _EVENT_TYPE.match(event_type):
        raise InvalidAppend("type", "must be a PascalCase event name such as CashDeposited")
    if len(event_type) > MAX_TYPE_LENGTH:
        raise InvalidAppend("type", f"must be at most {MAX_TYPE_LENGTH} characters")
    return event_type


def check_json(value: Any, field: str, depth: int = 0) -> None:
    """Refuse anything jsonb would not give back byte-for-byte (and any float)."""
    if depth > MAX_JSON_DEPTH:
        raise InvalidAppend(field, f"nests deeper than {MAX_JSON_DEPTH} levels")
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, int):
        if not -_INT_LIMIT <= value < _INT_LIMIT:
            raise InvalidAppend(field, "integer out of the 64-bit range; send it as a string")
        return
    if isinstance(value, str):
        if "\x00" in value:
            raise InvalidAppend(field, "strings may not contain NUL characters")
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidAppend(field, f"object keys must be strings, got {type(key).__name__}")
            check_json(key, field, depth + 1)
            check_json(item, f"{field}.{key}", depth + 1)
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            check_json(item, f"{field}[{index}]", depth + 1)
        return
    if isinstance(value, float):
        raise InvalidAppend(field, "floats are not allowed; encode amounts as decimal strings")
    raise InvalidAppend(field, f"{type(value).__name__} is not JSON; encode it as a string")


def check_json_object(value: Any, field: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidAppend(field, "must be a JSON object")
    check_json(value, field)
    return value


def timestamp_text(moment: datetime) -> str:
    """recorded_at as hashed: UTC, microseconds (PostgreSQL's precision), fixed width."""
    if moment.tzinfo is None:
        raise InvalidAppend("recorded_at", "must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def event_content(
    *,
    stream_id: str,
    version: int,
    event_type: str,
    schema_version: int,
    data_json: str,
    metadata_json: str,
    recorded_at: datetime,
) -> bytes:
    """The canonical bytes of one event, as the hash chain covers them.

    Equal to ``canonical_json`` of the envelope {data, metadata, recorded_at, schema_version,
    stream_id, type, version} (a unit test holds it to that), built by concatenation because
    it runs on every append: ``data_json``/``metadata_json`` are already canonical, and stream
    ids and types are restricted to characters JSON never escapes.
    """
    return (
        '{"data":'
        + data_json
        + ',"metadata":'
        + metadata_json
        + ',"recorded_at":"'
        + timestamp_text(recorded_at)
        + '","schema_version":'
        + str(schema_version)
        + ',"stream_id":"'
        + stream_id
        + '","type":"'
        + event_type
        + '","version":'
        + str(version)
        + "}"
    ).encode("utf-8")


def chain_hash(previous: bytes, content: bytes) -> bytes:
    return hashlib.sha256(previous + content).digest()
