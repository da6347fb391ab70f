"""Snapshots a service can believe: bound to the event they fold to, signed with a key.

A snapshot is a cache of a stream's state at a version. Whoever may write the ``snapshots``
table (a service's database role) could otherwise write any state — a million in cash — and
the next cold load would trust it. So each snapshot carries the hash of the stream's event at
its version and an HMAC-SHA256 over (stream, version, shape, that hash, the state) with a key
the database never sees (HARBOUR_SNAPSHOT_KEY). A reader recomputes the digest and checks the
hash against the stream's event; a snapshot failing either is ignored and the stream replayed
from its events, which are the truth.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harbour.eventstore.encoding import canonical_json

DIGEST_DOMAIN = b"harbour-snapshot-v1\n"  # never the same bytes as anything else keyed
MIN_KEY_BYTES = 16


def random_snapshot_key() -> bytes:
    """A key for one process only: its snapshots are believed by no one else."""
    return secrets.token_bytes(32)


def snapshot_digest(
    key: bytes,
    *,
    stream_id: str,
    version: int,
    schema_version: int,
    event_hash: bytes,
    state: Mapping[str, Any],
) -> bytes:
    """HMAC-SHA256 of the snapshot's canonical description under ``key``."""
    return sealed_digest(
        key,
        stream_id=stream_id,
        version=version,
        schema_version=schema_version,
        event_hash=event_hash,
        state_json=canonical_json(state),
    )


def sealed_digest(
    key: bytes,
    *,
    stream_id: str,
    version: int,
    schema_version: int,
    event_hash: bytes,
    state_json: str,
) -> bytes:
    """:func:`snapshot_digest` of a state already in its canonical JSON: the description
    ``canonical_json([stream_id, version, schema_version, event_hash.hex(), state])`` built
    around it (a unit test holds the two equal), so a big state is encoded once, not twice."""
    head = [stream_id, version, schema_version, event_hash.hex()]
    message = canonical_json(head)[:-1] + "," + state_json + "]"
    return hmac.new(key, DIGEST_DOMAIN + message.encode("utf-8"), hashlib.sha256).digest()


@dataclass(frozen=True)
class StoredSnapshot:
    """A snapshot row with what it must agree with: the hash of the stream's event at its
    version (None when the stream has no such event)."""

    stream_id: str
    version: int
    schema_version: int
    state: dict[str, Any]
    event_hash: bytes
    digest: bytes
    stream_hash: bytes | None


def snapshot_fault(key: bytes, row: StoredSnapshot) -> str | None:
    """Why ``row`` must not be believed, or None when it is sound."""
    if row.stream_hash is None:
        return f"the stream has no event at version {row.version}"
    if not hmac.compare_digest(row.event_hash, row.stream_hash):
        return f"bound to a hash that is not the stream's event at version {row.version}"
    expected = snapshot_digest(
        key,
        stream_id=row.stream_id,
        version=row.version,
        schema_version=row.schema_version,
        event_hash=row.event_hash,
        state=row.state,
    )
    if not hmac.compare_digest(expected, row.digest):
        return "digest mismatch: the state is not what a service with the key wrote"
    return None


@dataclass(frozen=True)
class SnapshotFault:
    """A snapshot that failed verification, for the auditor's report."""

    stream_id: str
    version: int
    reason: str
