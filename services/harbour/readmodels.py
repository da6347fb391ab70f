"""Read models that fold each client's stream into its margin account, one row per client.

The accounts service keeps ``accounts`` and lending keeps ``loans`` this way: the folded state
is stored with the row (as a snapshot document), so a page of events only reads the rows of
the clients it touches, and a rebuild replays the feed from zero like any projection.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from harbour.commands import domain_event
from harbour.eventstore.history import read_streams_on
from harbour.eventstore.model import RecordedEvent
from harbour.eventstore.upcasting import Upcasters
from harbour.kinds import ACCOUNT_STREAM_PREFIX
from harbour.ledger import events as ev
from harbour.ledger.account import MarginAccount, evolve, from_snapshot, to_snapshot
from harbour.ledger.codec import DecodeError


def account_events(events: Sequence[RecordedEvent]) -> list[RecordedEvent]:
    return [
        e
        for e in events
        if e.stream_id.startswith(ACCOUNT_STREAM_PREFIX) and e.type in ev.ACCOUNT_EVENT_TYPES
    ]


class AccountStateProjection:
    """Base: subclasses name the table (keyed by ``client_id`` with a ``state`` column) and
    say which clients get a row and what it holds."""

    name: str
    table: sa.Table

    @property
    def tables(self) -> Sequence[sa.Table]:
        return (self.table,)

    def row(self, state: MarginAccount, head: RecordedEvent) -> dict[str, Any] | None:
        """The row of a client after ``head``; None when the client has no row (yet)."""
        raise NotImplementedError

    async def apply(self, conn: AsyncConnection, events: Sequence[RecordedEvent]) -> None:
        relevant = account_events(events)
        if not relevant:
            return
        clients = sorted({e.stream_id[len(ACCOUNT_STREAM_PREFIX) :] for e in relevant})
        current = await conn.execute(
            sa.select(self.table.c.client_id, self.table.c.state).where(
                self.table.c.client_id.in_(clients)
            )
        )
        states: dict[str, MarginAccount] = {}
        for client, document in current:
            # A row of an older state shape is folded again from its events below.
            with suppress(DecodeError):
                states[client] = from_snapshot(document)
        missing = [c for c in clients if c not in states]
        if missing:
            # A client without a row yet (a loan row appears only with the facility) may have
            # history in earlier pages: fold it from the events, so nothing is lost.
            first: dict[str, int] = {}
            for recorded in relevant:
                first.setdefault(recorded.stream_id, recorded.version)
            states |= await _earlier_states(conn, missing, first, relevant[0].upcaster)
        heads: dict[str, RecordedEvent] = {}
        for recorded in relevant:
            client = recorded.stream_id[len(ACCOUNT_STREAM_PREFIX) :]
            state = states.get(client) or MarginAccount.initial(client)
            states[client] = evolve(state, domain_event(recorded))
            heads[client] = recorded
        rows = [r for c in heads if (r := self.row(states[c], heads[c])) is not None]
        if not rows:
            return
        for row in rows:
            row["state"] = to_snapshot(states[row["client_id"]])
        insert = pg_insert(self.table)
        await conn.execute(
            insert.on_conflict_do_update(
                index_elements=[self.table.c.client_id],
                set_={k: insert.excluded[k] for k in rows[0] if k != "client_id"},
            ),
            rows,
        )


async def _earlier_states(
    conn: AsyncConnection,
    clients: Sequence[str],
    first_version: dict[str, int],
    upcasters: Upcasters | None,
) -> dict[str, MarginAccount]:
    """Each client's account folded from its events before this page's first one, read
    through the store's history reader with the page's own upcasters."""
    streams = [f"{ACCOUNT_STREAM_PREFIX}{c}" for c in clients]
    states = {c: MarginAccount.initial(c) for c in clients}
    for recorded in await read_streams_on(conn, streams, upcasters=upcasters):
        if (
            recorded.version >= first_version[recorded.stream_id]
            or recorded.type not in ev.ACCOUNT_EVENT_TYPES
        ):
            continue
        client = recorded.stream_id[len(ACCOUNT_STREAM_PREFIX) :]
        states[client] = evolve(states[client], domain_event(recorded))
    return states
