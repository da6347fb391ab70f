"""Projections: read models kept exactly once by storing the checkpoint with the rows.

A projection owns tables and applies a page of feed events to them in one transaction,
together with its checkpoint — so a crash loses nothing and applies nothing twice. Every
projection can be rebuilt from position zero, and ``verify`` rebuilds one into temporary
tables and compares them with the live ones as of the live checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from harbour.eventstore.model import START, FeedCheckpoint, RecordedEvent
from harbour.eventstore.schema import projection_checkpoints, stream_heads
from harbour.eventstore.store import EventStore

Clock = Callable[[], datetime]


class Projection(Protocol):
    """A read model. ``apply`` gets whole pages so it can write in bulk."""

    name: str

    @property
    def tables(self) -> Sequence[sa.Table]: ...

    async def apply(self, conn: AsyncConnection, events: Sequence[RecordedEvent]) -> None: ...


@dataclass(frozen=True)
class Difference:
    table: str
    only_live: int
    only_rebuilt: int


class ProjectionRunner:
    def __init__(self, store: EventStore, *, clock: Clock, page_size: int = 2000) -> None:
        self._store = store
        self._clock = clock
        self._page_size = page_size

    async def checkpoint(self, projection: Projection) -> FeedCheckpoint:
        async with self._store.engine.connect() as conn:
            return await _read_checkpoint(conn, projection.name, lock=False)

    async def catch_up(self, projection: Projection, *, until: FeedCheckpoint | None = None) -> int:
        """Apply every final event past the checkpoint; returns how many were applied."""
        applied = 0
        while True:
            async with self._store.engine.begin() as conn:
                count = await self._apply_page(conn, projection, until)
            applied += count
            if count < self._page_size:
                return applied

    async def catch_up_together(self, projections: Sequence[Projection]) -> int:
        """Catch several projections up from one read of the feed per page, in one transaction
        per page: a follower woken for a few events pays one feed query and one commit, not
        one per projection. Returns how many feed events the pages held."""
        applied = 0
        while True:
            async with self._store.engine.begin() as conn:
                count = await self._apply_shared_page(conn, projections)
            applied += count
            if count < self._page_size:
                return applied

    async def _apply_shared_page(
        self, conn: AsyncConnection, projections: Sequence[Projection]
    ) -> int:
        # Locked in name order (as every follower does), so two replicas never deadlock.
        names = sorted(p.name for p in projections)
        rows = await conn.execute(
            sa.select(
                projection_checkpoints.c.name,
                sa.cast(projection_checkpoints.c.txid, sa.Text),
                projection_checkpoints.c.position,
            )
            .where(projection_checkpoints.c.name.in_(names))
            .order_by(projection_checkpoints.c.name)
            .with_for_update()
        )
        checkpoints = {name: START for name in names}
        checkpoints.update({name: FeedCheckpoint(int(t), int(p)) for name, t, p in rows})
        # From the one furthest behind; each projection takes only what lies past its own.
        page = await self._store.read_feed_in(
            conn, min(checkpoints.values()), limit=self._page_size
        )
        if not page.events:
            return 0
        for projection in projections:
            mine = checkpoints[projection.name]
            events = [e for e in page.events if e.checkpoint > mine]
            if events:
                await projection.apply(conn, events)
        # Never move one that was ahead of this page back.
        behind = [name for name in names if checkpoints[name] < page.checkpoint]
        await _write_checkpoint(conn, behind, page.checkpoint, self._clock())
        return len(page.events)

    async def _apply_page(
        self, conn: AsyncConnection, projection: Projection, until: FeedCheckpoint | None
    ) -> int:
        # FOR UPDATE: two replicas running the same projection take turns, never interleave.
        checkpoint = await _read_checkpoint(conn, projection.name, lock=True)
        page = await self._store.read_feed_in(conn, checkpoint, limit=self._page_size, until=until)
        if page.events:
            await projection.apply(conn, page.events)
            await _write_checkpoint(conn, [projection.name], page.checkpoint, self._clock())
        return len(page.events)

    async def rebuild(self, projection: Projection) -> int:
        """Empty the projection's tables and replay the whole feed into them."""
        async with self._store.engine.begin() as conn:
            await _read_checkpoint(conn, projection.name, lock=True)
            for table in projection.tables:
                await conn.execute(sa.text(f'TRUNCATE "{table.name}"'))
            await conn.execute(
                projection_checkpoints.delete().where(
                    projection_checkpoints.c.name == projection.name
                )
            )
        return await self.catch_up(projection)

    async def verify(self, projection: Projection) -> list[Difference]:
        """Rebuild into temporary tables up to the live checkpoint and diff with the live ones."""
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


async def _read_checkpoint(conn: AsyncConnection, name: str, *, lock: bool) -> FeedCheckpoint:
    query = sa.select(
        sa.cast(projection_checkpoints.c.txid, sa.Text), projection_checkpoints.c.position
    ).where(projection_checkpoints.c.name == name)
    if lock:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    return START if row is None else FeedCheckpoint(int(row[0]), int(row[1]))


async def _write_checkpoint(
    conn: AsyncConnection, names: Sequence[str], checkpoint: FeedCheckpoint, now: datetime
) -> None:
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
            for name in names
        ],
    )


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
