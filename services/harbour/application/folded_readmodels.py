"""Read models that fold each client's stream into its margin account, one row per client.

The accounts service keeps ``accounts`` and lending keeps ``loans`` this way: the folded state
is stored with the row (as a snapshot document), so a page of events only reads the rows of
the clients it touches, and a rebuild replays the feed from zero like any projection.

The read side: it reads only through the store (the page it is given, the rows it keeps, the
history reader) and decodes with ``harbour.application.decoding``; it never imports the command
runner or its cache (a ``lint-imports`` contract).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from contextlib import suppress
from typing import Any, Self

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from harbour.application.decoding import domain_event
from harbour.application.streams import ACCOUNT_STREAM_PREFIX
from harbour.eventstore.history import read_streams_on
from harbour.eventstore.model import RecordedEvent
from harbour.eventstore.upcasting import Upcasters
from harbour.ledger import events as ev
from harbour.ledger.account import MarginAccount, evolve, from_snapshot, to_snapshot
from harbour.ledger.codec import DecodeError

# Clients whose latest fold a read model keeps (a folded account and its document are a few
# kB: a few hundred MB at the most, in the projector).
FOLDED_CAPACITY = 100_000


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
    _folds: FoldedStates | None = None

    @property
    def tables(self) -> Sequence[sa.Table]:
        return (self.table,)

    def sharing(self, folds: FoldedStates) -> Self:
        """This read model with ``folds`` shared with others that fold the same accounts (one
        fold per client and page between them: see :class:`FoldedStates`)."""
        self._folds = folds
        return self

    @property
    def folds(self) -> FoldedStates:
        if self._folds is None:
            self._folds = FoldedStates()
        return self._folds

    def forget(self) -> None:
        """Drop the folds kept in memory (``verify`` derives every state from the events)."""
        self.folds.clear()

    def row(self, state: MarginAccount, head: RecordedEvent) -> dict[str, Any] | None:
        """The row of a client after ``head``; None when the client has no row (yet)."""
        raise NotImplementedError

    async def apply(self, conn: AsyncConnection, events: Sequence[RecordedEvent]) -> None:
        relevant = account_events(events)
        if not relevant:
            return
        first: dict[str, int] = {}  # each client's first version in the page
        heads: dict[str, RecordedEvent] = {}  # and its last event
        for recorded in relevant:
            client = recorded.stream_id[len(ACCOUNT_STREAM_PREFIX) :]
            first.setdefault(client, recorded.version)
            heads[client] = recorded
        # A client another read model folded through this page already (accounts, then loans)
        # is not folded again; one folded right up to this page (by an earlier page) needs
        # neither its row read and decoded nor its history read again.
        folded: dict[str, Folded] = {}
        states: dict[str, MarginAccount] = {}
        upcaster = relevant[0].upcaster
        for client, version in first.items():
            through = self.folds.get(client, heads[client].version, upcaster)
            if through is not None:
                folded[client] = through
            elif (before := self.folds.get(client, version - 1, upcaster)) is not None:
                states[client] = before.state
        unknown = sorted(c for c in first if c not in states and c not in folded)
        if unknown:
            states |= await self._current(conn, unknown, first, upcaster)
        for recorded in relevant:
            client = recorded.stream_id[len(ACCOUNT_STREAM_PREFIX) :]
            if client not in folded:
                state = states.get(client) or MarginAccount.initial(client)
                states[client] = evolve(state, domain_event(recorded))
        for client, state in states.items():
            folded[client] = self.folds.put(client, heads[client].version, upcaster, state)
        rows = [r for c in heads if (r := self.row(folded[c].state, heads[c])) is not None]
        if not rows:
            return
        for row in rows:
            row["state"] = folded[row["client_id"]].document
        insert = pg_insert(self.table)
        await conn.execute(
            insert.on_conflict_do_update(
                index_elements=[self.table.c.client_id],
                set_={k: insert.excluded[k] for k in rows[0] if k != "client_id"},
            ),
            rows,
        )

    async def _current(
        self,
        conn: AsyncConnection,
        clients: Sequence[str],
        first: dict[str, int],
        upcasters: Upcasters | None,
    ) -> dict[str, MarginAccount]:
        """Each client's state before this page: from its row, or from its history."""
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
            streams = {f"{ACCOUNT_STREAM_PREFIX}{c}": v for c, v in first.items() if c in missing}
            states |= await _earlier_states(conn, missing, streams, upcasters)
        return states


class Folded:
    """A client's account folded through a version of its stream, and its state document
    (``to_snapshot``), made once and shared by every read model that stores it."""

    def __init__(self, state: MarginAccount) -> None:
        self.state = state
        self._document: dict[str, Any] | None = None

    @property
    def document(self) -> dict[str, Any]:
        if self._document is None:
            self._document = to_snapshot(self.state)
        return self._document


class FoldedStates:
    """The accounts some read models of one database folded last, by (client, version): the
    fold of a stream's events through a version is the same whoever folds it, so ``accounts``
    and ``loans`` fold a page's clients once between them, and a client's next page starts
    from its fold instead of reading and decoding its row (or, for a client with no loan row
    yet, reading its whole history again). Keyed by version, a fold is never stale: it is used
    only for the page whose first event of that client comes right after it, or whose last
    event is its version (another replica may have moved the row since; then the row is read,
    as without this). Events read through other upcasters are folded again. Least recently
    used evicted first."""

    def __init__(self, capacity: int = FOLDED_CAPACITY) -> None:
        self._capacity = capacity
        self._items: OrderedDict[str, tuple[int, Any, Folded]] = OrderedDict()

    def get(self, client: str, version: int, upcaster: Any) -> Folded | None:
        item = self._items.get(client)
        if item is None or item[0] != version or item[1] is not upcaster:
            return None
        self._items.move_to_end(client)
        return item[2]

    def put(self, client: str, version: int, upcaster: Any, state: MarginAccount) -> Folded:
        folded = Folded(state)
        self._items[client] = (version, upcaster, folded)
        self._items.move_to_end(client)
        while len(self._items) > self._capacity:
            self._items.popitem(last=False)
        return folded

    def clear(self) -> None:
        self._items.clear()


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
