"""The risk book's adapter: built from the read models, kept current from the feed.

Building. One pass over three read models, each read as the table it is (SQL by name, so
this package depends on no service's code): ``balances`` (the accounts service's sum of every
posting per ledger account: ``client:<id>:cash|custody`` are held, ``client:<id>:loan|
interest_receivable|fees_receivable|shortfall`` are owed and negative), ``accounts`` (status
and recorded risk state per client) and ``margin_calls`` (open or expired calls: a client in
a call whatever its recorded state says).

Keeping current. Read models lag the feed by their own checkpoints, and a follower's own
checkpoint is elsewhere: counting journal deltas onto the book could count an event twice or
not at all. So the book is only ever set from an account's *exact state* (the stream loaded
through the command runner, cached): ``refresh(book, runner, clients)`` for the clients an
event touched. That is idempotent, so the rule is simply "refresh every client with an
account event after the point the book is known to be exact":

- at build time, that point is the oldest checkpoint of the three read models, read before
  the tables (so the tables are at least that new): :func:`load_book` returns it, and
  :func:`clients_touched_since` lists the clients with an account event after it;
- from then on, a follower refreshes the clients of every account event it is handed
  (:func:`clients_in`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa
from numpy.typing import NDArray
from sqlalchemy.ext.asyncio import AsyncConnection

from harbour.application.runner import CommandRunner
from harbour.application.streams import ACCOUNT_STREAM_PREFIX, ACCOUNTS
from harbour.collector import collector_paused_for
from harbour.eventstore.model import START, FeedCheckpoint, RecordedEvent
from harbour.eventstore.schema import projection_checkpoints
from harbour.eventstore.store import EventStore
from harbour.ledger import events as ev
from harbour.ledger.account import RiskState
from harbour.ledger.assets import asset
from harbour.ledger.ids import account_stream
from harbour.ledger.postings import client_of
from harbour.risk.book import RiskBook

# The projections whose tables the book is built from.
READ_MODELS = ("accounts", "balances", "margin_calls")
HELD_KINDS = frozenset({"cash", "custody"})
OWED_KINDS = frozenset({"loan", "interest_receivable", "fees_receivable", "shortfall"})
FEED_PAGE = 5_000
# Balance rows taken from the server-side cursor at a time. Row by row, each row crossed the
# async driver's greenlet bridge on its own: 80% of a load (measured by bench/stress.py,
# 20,000 accounts: 3.2 s, 2.5 s of it switching); a chunk crosses it once.
BALANCE_CHUNK = 10_000

CLIENT_BALANCES = sa.text(
    "SELECT ledger_account, asset, amount FROM balances "
    "WHERE ledger_account LIKE 'client:%' AND amount <> 0"
)
ACCOUNT_STATES = sa.text("SELECT client_id, status, risk_state FROM accounts")
CLIENTS_IN_CALL = sa.text(
    "SELECT DISTINCT client_id FROM margin_calls WHERE state IN ('open', 'expired')"
)


@dataclass(frozen=True)
class LoadedBook:
    book: RiskBook
    # Every event up to here is in the book; later ones may not be (see the module doc).
    exact_through: FeedCheckpoint


async def load_book(conn: AsyncConnection) -> LoadedBook:
    """The book as the read models hold it, and the feed point it is exact through."""
    through = await _oldest_checkpoint(conn)  # first: the tables read next are newer
    # Minor units per code, then per client: the columns the book is built from.
    held: dict[str, dict[str, int]] = defaultdict(dict)
    owed: dict[str, dict[str, int]] = defaultdict(dict)
    rows = await conn.stream(CLIENT_BALANCES)
    async for chunk in rows.partitions(BALANCE_CHUNK):
        # Everything made here outlives the load: a collection in between frees nothing and
        # rescans the growing book (half of a load at 200,000 accounts). Paused per chunk,
        # never across an await: the process's other calls run in between.
        with collector_paused_for(chunk):
            for ledger_account, code, amount in chunk:
                owner = client_of(ledger_account)
                if owner is None:
                    continue
                client, kind = owner
                minor = int(amount)
                if kind in HELD_KINDS:
                    column = held[code]
                    column[client] = column.get(client, 0) + minor
                elif kind in OWED_KINDS:  # the ledger account goes negative as the client owes
                    column = owed[code]
                    column[client] = column.get(client, 0) - minor
    in_call = {client for (client,) in await conn.execute(CLIENTS_IN_CALL)}
    states = {client: (status, risk) for client, status, risk in await conn.execute(ACCOUNT_STATES)}
    with collector_paused_for(states):
        book = _book(held, owed, states, in_call)
    return LoadedBook(book, through)


# A client with balances but no accounts row yet (the read models lag differently).
_NO_ROW = ("active", RiskState.HEALTHY.value)


def _book(
    held: Mapping[str, Mapping[str, int]],
    owed: Mapping[str, Mapping[str, int]],
    states: Mapping[str, tuple[str, str]],
    in_call: set[str],
) -> RiskBook:
    """The book built column by column (RiskBook.from_columns): a row per client not closed,
    each code's minor units divided by its unit exactly as RiskBook.upsert does (int / int
    is correctly rounded). Row by row, upsert's per-row array writes were a third of a load."""
    everyone = set(states).union(*held.values(), *owed.values())
    found = [(c, *states.get(c, _NO_ROW)) for c in sorted(everyone)]
    rows = [(c, risk) for c, status, risk in found if status not in ("closed", "not_onboarded")]
    clients = [client for client, _ in rows]
    return RiskBook.from_columns(
        clients,
        _columns(clients, held),
        _columns(clients, owed),
        [RiskState(risk) for _, risk in rows],
        in_call=[client in in_call for client in clients],
    )


def _columns(
    clients: Sequence[str], by_code: Mapping[str, Mapping[str, int]]
) -> dict[str, NDArray[np.float64]]:
    """Whole units of each code per client, in ``clients`` order; a code no one holds (or
    owes) leaves no column, as RiskBook.upsert leaves none for a zero."""
    return {
        code: _units(clients, minors, asset(code).unit)
        for code, minors in sorted(by_code.items())
        if any(minors.values())
    }


def _units(clients: Sequence[str], minors: Mapping[str, int], unit: int) -> NDArray[np.float64]:
    return np.fromiter(
        (minors.get(client, 0) / unit for client in clients), dtype=np.float64, count=len(clients)
    )


async def _oldest_checkpoint(conn: AsyncConnection) -> FeedCheckpoint:
    rows = await conn.execute(
        sa.select(
            projection_checkpoints.c.name,
            sa.cast(projection_checkpoints.c.txid, sa.Text),
            projection_checkpoints.c.position,
        ).where(projection_checkpoints.c.name.in_(READ_MODELS))
    )
    found = {name: FeedCheckpoint(int(txid), int(position)) for name, txid, position in rows}
    if len(found) < len(READ_MODELS):
        return START  # a read model never run: trust none of it
    return min(found.values())


async def clients_touched_since(
    store: EventStore, conn: AsyncConnection, after: FeedCheckpoint
) -> set[str]:
    """Every client with an account event in the final feed after ``after``."""
    touched: set[str] = set()
    while True:
        page = await store.read_feed_in(conn, after, limit=FEED_PAGE)
        touched.update(clients_in(page.events))
        if len(page.events) < FEED_PAGE:
            return touched
        after = page.checkpoint


def clients_in(events: Sequence[RecordedEvent]) -> list[str]:
    """The clients whose account streams ``events`` touch, each once, in order of first sight."""
    clients: dict[str, None] = {}
    for recorded in events:
        if recorded.stream_id.startswith(ACCOUNT_STREAM_PREFIX) and (
            recorded.type in ev.ACCOUNT_EVENT_TYPES
        ):
            clients[recorded.stream_id[len(ACCOUNT_STREAM_PREFIX) :]] = None
    return list(clients)


def versions_in(events: Sequence[RecordedEvent]) -> dict[str, int]:
    """Each client whose account stream ``events`` touch, with the last version they reach."""
    versions: dict[str, int] = {}
    for recorded in events:
        if recorded.stream_id.startswith(ACCOUNT_STREAM_PREFIX):
            client = recorded.stream_id[len(ACCOUNT_STREAM_PREFIX) :]
            versions[client] = max(versions.get(client, 0), recorded.version)
    return versions


async def refresh(
    book: RiskBook,
    runner: CommandRunner,
    clients: Iterable[str],
    seen: Mapping[str, int] | None = None,
) -> None:
    """Set each client's row from its exact current state (loaded through the runner's
    cache: a round trip for the cached ones, two per thousand for the others; none for a
    cached one at or past the version ``seen`` of it — this process's commands left it
    there)."""
    wanted = list(clients)
    if not wanted:
        return
    states = await runner.load_many(
        [(ACCOUNTS, account_stream(client)) for client in wanted],
        {account_stream(client): version for client, version in (seen or {}).items()},
    )
    for state in states:
        book.upsert_account(state)
