"""Reconciliation runs: read the ledger as of a statement's instant, compare, record the run.

The comparison is pure (``harbour.ledger.reconciliation``); this module reads what it needs
and records ``ReconciliationRun`` on ``reconciliation-<run_id>``, whose first and only append
makes the run id unique. A repeated request_id answers with the first run, read back from its
stream, and runs nothing again.

The ledger side is the ledger's own balances at the statement's instant, read in one snapshot:
the ``balances`` read model, corrected by the value-moving account events on the wrong side of
the cut — those the read model has applied but that were recorded after the instant are taken
out, those recorded by the instant but not yet applied are added. A statement of last night
costs the read model plus a day's events, not a fold of the whole history, and the answer is
the same whether the projector is current, behind or stopped.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from harbour.application.decoding import domain_event
from harbour.application.outcome import Outcome
from harbour.application.runner import CommandRunner
from harbour.application.streams import (
    ACCOUNT_STREAM_PREFIX,
    RECONCILIATION_RUNS,
    reconciliation_stream,
)
from harbour.eventstore.model import RecordedEvent
from harbour.eventstore.store import EVENT_COLUMNS, request_fingerprint
from harbour.eventstore.upcasting import Upcasters
from harbour.ledger import events as ev
from harbour.ledger import reconciliation as rec
from harbour.ledger.errors import AlreadyExists, NotFound
from harbour.ledger.ids import account_stream
from harbour.ledger.postings import client_of

Clock = Callable[[], datetime]
HELD_KINDS = ("cash", "custody")  # what a client holds with the broker, per asset

# The read model's client holdings, and the checkpoint they reflect (same snapshot).
HELD_BALANCES = sa.text(
    "SELECT ledger_account, asset, amount FROM balances "
    "WHERE ledger_account LIKE 'client:%' "
    "AND split_part(ledger_account, ':', 3) IN ('cash', 'custody')"
)
BALANCES_CHECKPOINT = sa.text(
    "SELECT txid::text, position FROM projection_checkpoints WHERE name = 'balances'"
)
# Value-moving account events on the wrong side of the cut: applied by the read model XOR
# recorded by the instant. ``applied`` says which way each one corrects the read model.
_APPLIED = "((txid, position) <= (CAST(:txid AS xid8), :position))"
ACROSS_THE_CUT = sa.text(
    f"SELECT {EVENT_COLUMNS}, {_APPLIED} AS applied FROM events "  # noqa: S608 - constants
    "WHERE stream_id LIKE 'account-%' AND type = ANY(:types) "
    f"AND {_APPLIED} <> (recorded_at <= :as_of)"
).bindparams(sa.bindparam("types", type_=postgresql.ARRAY(sa.Text)))
ONBOARDED_BY = sa.text(
    "SELECT DISTINCT stream_id FROM events WHERE stream_id = ANY(:streams) "
    "AND type = 'ClientOnboarded' AND recorded_at <= :as_of"
).bindparams(sa.bindparam("streams", type_=postgresql.ARRAY(sa.Text)))


class ReconciliationRunExists(AlreadyExists):
    reason = "reconciliation_run_already_exists"


class ReconciliationRunNotFound(NotFound):
    reason = "reconciliation_run_not_found"


@dataclass(frozen=True)
class ReconcileStatement:
    run_id: str
    source: str  # custodian | bank | securities
    statement: bytes  # the CSV exactly as received
    file_name: str = ""
    statement_at: datetime | None = None  # the instant its balances stand at; None: now


@dataclass(frozen=True)
class LedgerHoldings:
    """Every client's cash and custody per asset at one instant, and the read-model position
    the answer started from."""

    held: Mapping[tuple[str, str], int]
    position: int


class Reconciliations:
    def __init__(
        self, runner: CommandRunner, *, clock: Clock, upcasters: Upcasters | None = None
    ) -> None:
        """``upcasters``: the store's, so the events read across the cut (past the store, see
        :func:`ledger_holdings`) read in today's shape; None while every type is at v1."""
        self.runner = runner
        self._clock = clock
        self._upcasters = upcasters

    async def run(
        self,
        command: ReconcileStatement,
        *,
        actor: str,
        request_id: str,
        request: Mapping[str, Any],
        metadata: Mapping[str, Any],
    ) -> tuple[Outcome, ev.ReconciliationRun]:
        """Compare the statement with the ledger and record the run; the outcome and the run
        recorded (the first one, for a repeated request)."""
        first = await self.runner.replay(request_id, request_fingerprint(request))
        if first is not None:  # a repeat: the first run, not a second one
            return first, await self.recorded(command.run_id)
        run = await self.compute(command, actor=actor)

        def decide(runs: int) -> list[ev.Event]:
            if runs:
                raise ReconciliationRunExists(f"reconciliation {command.run_id} was run already")
            return [run]

        outcome = await self.runner.run(
            RECONCILIATION_RUNS,
            reconciliation_stream(command.run_id),
            decide,
            request_id=request_id,
            request=request,
            metadata=metadata,
            respond=lambda _: {"run_id": command.run_id},
        )
        if outcome.result.replayed:  # a concurrent repeat won the race: its run stands
            return outcome, await self.recorded(command.run_id)
        return outcome, run

    async def compute(
        self, command: ReconcileStatement, *, actor: str = ""
    ) -> ev.ReconciliationRun:
        """The run's figures and breaks; records nothing."""
        reconciliation_stream(command.run_id)  # a malformed run id is refused first
        now = self._clock()
        statement_at = rec.check_statement_instant(command.statement_at or now, now)
        statement = rec.parse_statement(command.source, command.statement)
        async with self.runner.store.engine.connect() as conn:
            # One snapshot for the read model, its checkpoint and the events across the cut.
            await conn.execute(sa.text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
            ledger = await ledger_holdings(conn, statement_at, self._upcasters)
            clients = {client for client, _ in statement.entries}
            known = await onboarded(conn, clients, statement_at)
        in_scope = {
            key: minor for key, minor in ledger.held.items() if rec.in_scope(command.source, key[1])
        }
        comparison = rec.reconcile(statement, in_scope, known)
        facts = rec.RunFacts(
            run_id=command.run_id,
            source=command.source,
            statement_at=statement_at,
            file_sha256=hashlib.sha256(command.statement).hexdigest(),
            file_name=command.file_name,
            run_at=now,
            requested_by=actor,
            ledger_position=ledger.position,
        )
        return rec.reconciliation_run(facts, statement, comparison)

    async def recorded(self, run_id: str) -> ev.ReconciliationRun:
        """The run recorded under ``run_id``, read back from its stream."""
        found = await self.runner.store.read_stream(reconciliation_stream(run_id), limit=1)
        if not found:
            raise ReconciliationRunNotFound(f"no reconciliation run {run_id}")
        run = domain_event(found[0])
        assert isinstance(run, ev.ReconciliationRun)
        return run


async def ledger_holdings(
    conn: AsyncConnection, as_of: datetime, upcasters: Upcasters | None = None
) -> LedgerHoldings:
    """Every client's cash and custody per asset as recorded by ``as_of`` (see the module
    docstring), in ``conn``'s snapshot. The events across the cut are read in one query past
    the store, so they are upcast with ``upcasters``; without them an event stored in an older
    shape is refused rather than misread."""
    checkpoint = (await conn.execute(BALANCES_CHECKPOINT)).first()
    txid, position = (str(checkpoint[0]), int(checkpoint[1])) if checkpoint else ("0", 0)
    held: dict[tuple[str, str], int] = defaultdict(int)
    for ledger_account, code, amount in await conn.execute(HELD_BALANCES):
        _, client, _ = ledger_account.split(":")
        held[(client, code)] += int(amount)
    across = await conn.execute(
        ACROSS_THE_CUT,
        {
            "txid": txid,
            "position": position,
            "as_of": as_of,
            "types": sorted(ev.VALUE_MOVING_EVENT_TYPES & ev.ACCOUNT_EVENT_TYPES),
        },
    )
    for row in across:
        recorded = RecordedEvent.from_row(row[:-1], upcasters)
        if upcasters is None and recorded.schema_version != ev.SCHEMA_VERSION.get(recorded.type):
            raise RuntimeError(
                f"{recorded.type} v{recorded.schema_version} at position {recorded.position} "
                "needs upcasting before a reconciliation can read it"
            )
        sign = -1 if row[-1] else 1  # applied but after the cut: out; else in
        for posting in ev.journal_of(domain_event(recorded)) or ():
            owner = client_of(posting.ledger_account)
            if owner is not None and owner[1] in HELD_KINDS:
                held[(owner[0], posting.asset)] += sign * posting.amount
    return LedgerHoldings({k: v for k, v in held.items() if v}, position)


async def onboarded(conn: AsyncConnection, clients: Collection[str], as_of: datetime) -> set[str]:
    """Those of ``clients`` onboarded by ``as_of``."""
    if not clients:
        return set()
    streams = [account_stream(client) for client in clients]
    rows = await conn.execute(ONBOARDED_BY, {"streams": streams, "as_of": as_of})
    return {stream.removeprefix(ACCOUNT_STREAM_PREFIX) for (stream,) in rows}
