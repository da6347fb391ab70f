"""``harbour reconcile SOURCE FILE [--as-of ISO] [--run-id ID]``: reconcile a statement.

Compares the CSV statement of the custodian, the bank or the securities margin system with
the ledger's balances at the statement's instant (``--as-of``, else now), prints every break
with its cause and records the run as ``ReconciliationRun`` (see docs/reconciliation.md). It
logs in as the accounts service's role, the owner of that event type.

Exit status: 0 when the statement agrees with the ledger, 1 when there are breaks, 2 when the
statement is refused as a whole (unreadable file, wrong header, too big) or no database answers.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import hashlib
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

from harbour.ledger import events as ev
from harbour.ledger.reconciliation import MAX_STATEMENT_BYTES, SOURCES, breaks_by_cause
from harbour.runtime.settings import Settings


def add_arguments(reconcile: argparse.ArgumentParser) -> None:
    reconcile.add_argument("source", choices=SOURCES, help="whose statement it is")
    reconcile.add_argument("file", help="the statement (CSV, see docs/reconciliation.md)")
    reconcile.add_argument(
        "--as-of", type=_instant, help="the instant its balances stand at (ISO-8601; default now)"
    )
    reconcile.add_argument("--run-id", help="the run's id (default: SOURCE-<random>)")


def _instant(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    # A statement's instant without a zone is read as UTC, never as the machine's zone.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def command(settings: Settings, args: argparse.Namespace) -> int:
    from harbour.runtime.cli import database_url

    path = Path(args.file)
    try:
        if path.stat().st_size > MAX_STATEMENT_BYTES:
            print(f"harbour reconcile: {path} is over {MAX_STATEMENT_BYTES} bytes", file=sys.stderr)
            return 2
        statement = path.read_bytes()
    except OSError as error:
        print(f"harbour reconcile: cannot read {path}: {error.strerror}", file=sys.stderr)
        return 2
    with database_url(settings) as url:
        from dataclasses import replace

        return asyncio.run(_reconcile(replace(settings, database_url=url), args, statement))


async def _reconcile(settings: Settings, args: argparse.Namespace, statement: bytes) -> int:
    from harbour.accounts.reconciliation import ReconcileStatement, Reconciliations
    from harbour.application.runner import CommandRunner
    from harbour.ledger.errors import DomainError
    from harbour.runtime.server import open_runtime

    runtime = await open_runtime(settings, service="accounts")
    try:
        run_id = args.run_id or f"{args.source}-{uuid.uuid4().hex[:16]}"
        actor = f"cli:{_user()}"
        reconciliations = Reconciliations(CommandRunner(runtime.store), clock=runtime.clock)
        command = ReconcileStatement(
            run_id=run_id,
            source=args.source,
            statement=statement,
            file_name=Path(args.file).name[:200],
            statement_at=args.as_of,
        )
        request = {
            "rpc": "harbour reconcile",
            "run_id": run_id,
            "source": args.source,
            "sha256": hashlib.sha256(statement).hexdigest(),
            "as_of": args.as_of.isoformat() if args.as_of else None,
        }
        try:
            outcome, run = await reconciliations.run(
                command,
                actor=actor,
                request_id=f"reconcile-{run_id}",
                request=request,
                metadata={"actor": actor, "service": "cli"},
            )
        except DomainError as refusal:
            print(f"harbour reconcile: {refusal.message}", file=sys.stderr)
            return 2
    finally:
        await runtime.database.close()
    print(report(run))
    print(f"recorded as ReconciliationRun in {outcome.result.stream_id}")
    return 1 if run.breaks_found else 0


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a bare container)
        return "unknown"


def report(run: ev.ReconciliationRun) -> str:
    """The run as an operator reads it: the figures, every recorded break, counts by cause."""
    lines = [
        f"reconciliation {run.run_id}: {run.source} statement {run.file_name or '-'} "
        f"(sha256 {run.file_sha256[:16]}...) as of {run.statement_at.isoformat()}",
        f"  {run.lines_read} lines read, {run.balances_compared} balances compared, "
        f"{run.balances_matched} matched, {run.breaks_found} breaks",
    ]
    for found in run.breaks:
        where = f"line {found.line}" if found.line else "ledger"
        subject = " ".join(part for part in (found.client_id, found.asset) if part)
        amounts = ", ".join(
            f"{label} {value}"
            for label, value in (
                ("ledger", found.ledger_amount),
                ("statement", found.statement_amount),
                ("difference", found.difference),
            )
            if value
        )
        parts = [where, found.cause, subject, amounts, found.detail]
        lines.append("  " + "  ".join(part for part in parts if part))
    if run.breaks_found > len(run.breaks):
        lines.append(f"  ... and {run.breaks_found - len(run.breaks)} more, not recorded")
    counts = breaks_by_cause(run.breaks)
    shown = ", ".join(f"{cause} {n}" for cause, n in counts.items() if n)
    lines.append(f"breaks by cause: {shown or 'none'}")
    return "\n".join(lines)
