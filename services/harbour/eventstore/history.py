"""Reading whole streams inside someone else's transaction, through the store's upcasters.

A projection that needs a stream's earlier events (to fold a state its page does not start
from) reads them on its own connection, so that what it folds and what it writes belong to one
snapshot. It must still read as the store reads: the same columns, the same ``RecordedEvent``,
the same upcasting chain — or the first schema change would break a rebuild. The upcasters are
the ones the page's events came with (``RecordedEvent.upcaster``): one source of truth.

Named with its schema: ``projections verify`` rebuilds into ``pg_temp``, the events stay in
``public``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from harbour.eventstore.model import RecordedEvent
from harbour.eventstore.upcasting import Upcasters

COLUMNS = (
    "position, stream_id, version, type, schema_version, content, recorded_at, txid::text, hash"
)
STREAMS_BEFORE_SQL = sa.text(
    f"SELECT {COLUMNS} FROM public.events "  # noqa: S608 - constant column list
    "WHERE stream_id = ANY(:streams) AND (CAST(:before AS bigint) IS NULL OR position < :before) "
    "ORDER BY stream_id, version"
)


async def read_streams_on(
    conn: AsyncConnection,
    streams: Sequence[str],
    *,
    before_position: int | None = None,
    upcasters: Upcasters | None = None,
) -> list[RecordedEvent]:
    """Every event of ``streams`` (before ``before_position`` if given), stream by stream in
    version order, upcast to the current shapes."""
    rows = await conn.execute(
        STREAMS_BEFORE_SQL, {"streams": list(streams), "before": before_position}
    )
    return [RecordedEvent.from_row(tuple(row), upcasters) for row in rows]
