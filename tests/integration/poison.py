"""A malformed event written straight into the event store, as a forger or a bug would.

It is inserted as the table owner, bypassing the store, but with a hash that extends its
stream's chain exactly as the store computes it (harbour.eventstore.encoding): only the
payload is bad, so the database accepts it and every reader meets it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg

from harbour.eventstore.encoding import GENESIS_HASH, canonical_json, chain_hash, event_content
from harbour.runtime.settings import libpq_url

# A CashDeposited the decoder refuses: none of its fields, one it does not know.
POISON_TYPE = "CashDeposited"
POISON_DATA: dict[str, Any] = {"amount": "lots"}


def insert_poison(
    database_url: str,
    stream_id: str,
    event_type: str = POISON_TYPE,
    data: dict[str, Any] | None = None,
) -> int:
    """Append a malformed event to ``stream_id``; returns its position."""
    data_json = canonical_json(POISON_DATA if data is None else data)
    metadata_json = canonical_json({"actor": "mallory"})
    recorded_at = datetime.now(UTC)
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        head = conn.execute(
            "SELECT version, hash FROM events WHERE stream_id = %s ORDER BY version DESC LIMIT 1",
            (stream_id,),
        ).fetchone()
        version, previous = (head[0] + 1, bytes(head[1])) if head else (1, GENESIS_HASH)
        content = event_content(
            stream_id=stream_id,
            version=version,
            event_type=event_type,
            schema_version=1,
            data_json=data_json,
            metadata_json=metadata_json,
            recorded_at=recorded_at,
        )
        row = conn.execute(
            "INSERT INTO events (stream_id, version, type, schema_version, recorded_at, hash, "
            "content) VALUES (%s, %s, %s, 1, %s, %s, %s) RETURNING position",
            (
                stream_id,
                version,
                event_type,
                recorded_at,
                chain_hash(previous, content),
                content,
            ),
        ).fetchone()
    assert row is not None
    return int(row[0])
