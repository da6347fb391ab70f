"""The ``harbour`` command: run, migrate, rebuild and audit the ledger.

harbour up [--dev]               embedded PostgreSQL + migrations + every service (--dev:
                                 development mode, no authentication, loopback only)
harbour serve SERVICE            one service (HARBOUR_DATABASE_URL required)
harbour migrate                  bring the schema to the latest revision
harbour projections rebuild|verify|status
harbour projections retry NAME   release a quarantined projection and catch it up
harbour audit verify [--stream ID] [--file EXPORT]
harbour audit replay --stream ID [--as-of ISO-8601 | --position N]
harbour audit export --out FILE [--format jsonl|csv|parquet] [--what events|journals]
harbour audit keygen --out KEYFILE | checkpoint --out FILE [--key KEYFILE]
harbour audit verify --against CHECKPOINT [--public-key PUBFILE]
harbour audit replay --stream ID [--as-of ISO-8601 | --position N] --state
harbour audit rederive [--stream ID]
harbour report account CLIENT_ID | book --out FILE.html [--as-of ISO-8601]
harbour limits report [--as-of ISO-8601]   every limit: measured, limit, headroom, breached
harbour reconcile custodian|bank|securities FILE [--as-of ISO-8601]   a statement vs the ledger
harbour demo                     the whole story against the running services (make up)
harbour certs dev --out DIR      a development CA, server and per-role client certificates
harbour token keygen --out DIR | issue --key KEY --sub NAME --roles a+b --audience AUD
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from harbour.runtime import certs_cli, limits_cli, reconcile_cli, report_cli, token_cli
from harbour.runtime.locate import NoDatabase
from harbour.runtime.logs import configure_logging
from harbour.runtime.settings import SERVICES, Settings, SettingsError, url_with_database

if TYPE_CHECKING:  # imported where used: the CLI starts without the whole stack
    from harbour.eventstore.projections import ProjectionRunner, ProjectionStatus

DATABASE_NAME = "harbour"
SERVER_COMMANDS = ("serve", "project")  # log JSON lines unless HARBOUR_LOG_FORMAT says text


@contextlib.contextmanager
def database_url(settings: Settings, *, migrated: bool = True) -> Iterator[str]:
    """HARBOUR_DATABASE_URL, else the database `harbour up` runs in HARBOUR_DATA_DIR, checked
    to answer (and, if ``migrated``, to hold the ledger's schema) before any work starts.

    Starts and initialises nothing: a command run with another data directory than `up` must
    not make itself a fresh, empty cluster (it would then fail on roles the migrations create).
    """
    from harbour.runtime.locate import check_database, locate_database

    url = settings.database_url or locate_database(settings.data_dir, DATABASE_NAME)
    check_database(url, migrated=migrated)
    yield url


@contextlib.contextmanager
def embedded_database(settings: Settings) -> Iterator[str]:
    """`harbour up`'s database: HARBOUR_DATABASE_URL, or an embedded PostgreSQL kept in
    HARBOUR_DATA_DIR (started, and initialised on first use)."""
    if settings.database_url:
        yield settings.database_url
        return
    from harbour.runtime.embedded import ensure_database, start_embedded

    pgdata = settings.data_dir / "pgdata"
    print(f"starting embedded PostgreSQL in {pgdata}", file=sys.stderr, flush=True)
    server = start_embedded(pgdata)
    try:
        ensure_database(server.url, DATABASE_NAME)
        yield url_with_database(server.url, DATABASE_NAME)
    finally:
        server.stop()


def cmd_migrate(settings: Settings, _: argparse.Namespace) -> int:
    from harbour.runtime.database import current_revision, migrate

    with database_url(settings, migrated=False) as url:
        migrate(url)
        print(f"schema at revision {current_revision(url)}")
    return 0


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    from harbour.runtime.auth import startup_refusal
    from harbour.runtime.server import serve

    if (refusal := startup_refusal(settings)) is not None:  # before any database work
        print(f"harbour: {refusal}", file=sys.stderr)
        return 2
    asyncio.run(serve(args.service, settings))
    return 0


def cmd_project(settings: Settings, _: argparse.Namespace) -> int:
    from harbour.runtime.projector import run_projector

    asyncio.run(run_projector(settings))
    return 0


def cmd_up(settings: Settings, args: argparse.Namespace) -> int:
    from harbour.runtime.auth import startup_refusal
    from harbour.runtime.database import migrate
    from harbour.runtime.readiness import Readiness

    settings = _with_dev_mode(settings, args.dev)
    if (refusal := startup_refusal(settings)) is not None:  # before PostgreSQL starts
        print(f"harbour: {refusal}", file=sys.stderr)
        return 2
    with embedded_database(settings) as url:
        migrate(url)
        # Each child serves one service on base + index: a fixed HARBOUR_PORT (or metrics
        # port) would collide.
        fixed = ("HARBOUR_PORT", "HARBOUR_METRICS_PORT")
        inherited = {k: v for k, v in os.environ.items() if k not in fixed}
        env = {**inherited, "HARBOUR_DATABASE_URL": url}
        if settings.dev_mode:  # `up --dev`: every child serves in development mode
            env["HARBOUR_DEV_MODE"] = "1"
            print("harbour: DEVELOPMENT MODE: no authentication, loopback only", flush=True)
        module = [sys.executable, "-m", "harbour.runtime.cli"]
        children = [Child(name, [*module, "serve", name], env) for name in SERVICES]
        children.append(Child("projector", [*module, "project"], env))
        for child in children:
            child.start()
        for name in SERVICES:
            print(f"  {name:<12} {settings.host}:{settings.port_of(name)}", flush=True)
        # "ready" only once every service answers health SERVING (harbour.runtime.readiness).
        print("harbour: starting; it says when every service answers", flush=True)
        readiness = Readiness.of(settings)
        stopping = False

        def stop(*_: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        while not stopping:
            for child in children:
                child.keep_running(time.monotonic())
            readiness.poll()
            time.sleep(0.2)
        readiness.close()
        for child in children:
            child.terminate()
        for child in children:
            child.wait_stopped()
    print("harbour stopped", flush=True)
    return 0


# A child that crashes is restarted after a capped backoff (a child crashing in a loop waits
# up to CHILD_BACKOFF_CAP between attempts, never spins); one that ran for STABLE_SECONDS
# before it died starts again at the shortest delay.
CHILD_BACKOFF_FIRST, CHILD_BACKOFF_CAP = 0.5, 30.0
STABLE_SECONDS = 30.0


class Child:
    """One process `harbour up` runs, restarted whenever it exits while `up` is running."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        from harbour.runtime.supervisor import Backoff

        self.name, self._argv, self._env = name, argv, env
        self._backoff = Backoff(first=CHILD_BACKOFF_FIRST, cap=CHILD_BACKOFF_CAP)
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        self._failures = 0  # in a row: each exit within STABLE_SECONDS of its start
        self._started_at = 0.0
        self.restart_at: float | None = None  # when an exited child starts again

    def start(self) -> None:
        self.process = subprocess.Popen(self._argv, env=self._env)
        self._started_at = time.monotonic()
        self.restart_at = None

    def keep_running(self, now: float) -> None:
        """Called often: notices an exit and restarts the child once its backoff is over."""
        if self.process is None or self.process.poll() is None:
            return
        if self.restart_at is None:
            ran = now - self._started_at
            self._failures = 1 if ran >= STABLE_SECONDS else self._failures + 1
            delay = self._backoff.delay(self._failures)
            self.restart_at = now + delay
            print(
                f"harbour: {self.name} exited unexpectedly ({_exit_reason(self.process)}) "
                f"after {ran:.1f}s; restarting in {delay:.1f}s",
                file=sys.stderr,
                flush=True,
            )
        elif now >= self.restart_at:
            self.restarts += 1
            self.start()
            print(f"harbour: {self.name} restarted (restart {self.restarts})", flush=True)

    def terminate(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait_stopped(self) -> None:
        if self.process is None:
            return
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:  # a graceful stop that hangs must not keep PG up
            print(f"harbour: {self.name} did not stop in 15s; killed", file=sys.stderr)
            self.process.kill()
            self.process.wait()


def _exit_reason(process: subprocess.Popen[bytes]) -> str:
    code = process.returncode
    if code is not None and code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


def cmd_projections(settings: Settings, args: argparse.Namespace) -> int:
    if args.action == "retry" and not args.name:
        print("harbour: projections retry needs the projection's NAME", file=sys.stderr)
        return 2
    return asyncio.run(_projections(settings, args.action, args.name))


async def _projections(settings: Settings, action: str, name: str | None) -> int:
    from harbour.eventstore.projections import ProjectionRunner
    from harbour.runtime.server import open_runtime, system_clock

    with database_url(settings) as url:
        runtime = await open_runtime(_with_url(settings, url))
        runner = ProjectionRunner(runtime.store, clock=system_clock)
        try:
            if action == "status":
                return await _projection_status(runner)
            if action == "retry":
                return await _retry_projection(runner, name or "")
            if action == "rebuild":
                return await _rebuild_projections(runner)
            return await _verify_projections(runner) | await _trial_balance(runtime)
        finally:
            await runtime.database.close()


async def _rebuild_projections(runner: ProjectionRunner) -> int:
    from harbour.runtime.projections import all_projections

    status = 0
    projections = all_projections()
    count = await runner.rebuild_all(projections)  # one read of the feed for all of them
    for projection in projections:
        print(f"{projection.name}: rebuilt from {count} events")
        status |= _report_quarantine(await runner.status(projection))
    return status


async def _verify_projections(runner: ProjectionRunner) -> int:
    """Each read model: how far behind the feed it was before this check (a stalled projector
    shows here: the check then catches the tables up itself), whether poison stopped it, and
    whether its tables equal a fresh rebuild."""
    from harbour.runtime.projections import all_projections

    status = 0
    for projection in all_projections():
        before = await runner.status(projection)
        print(f"{projection.name}: {before.behind} events behind the feed before this check")
        await runner.catch_up(projection)
        status |= _report_quarantine(await runner.status(projection))
        differences = await runner.verify(projection)
        for d in differences:
            print(
                f"{projection.name}.{d.table}: {d.only_live} rows only live, "
                f"{d.only_rebuilt} only in the rebuild"
            )
        print(f"{projection.name}: {'DIFFERS' if differences else 'matches a rebuild'}")
        status |= bool(differences)
    return status


def _report_quarantine(status: ProjectionStatus) -> int:
    """Print a quarantined projection's poison; 1 when it is quarantined."""
    if not status.quarantined or status.poison is None:
        return 0
    print(
        f"{status.name}: QUARANTINED at {status.poison.describe()} "
        f"(since {status.poison.since:%Y-%m-%d %H:%M:%S%z}); "
        f"after a fix: harbour projections retry {status.name}"
    )
    return 1


async def _projection_status(runner: ProjectionRunner) -> int:
    """Every projection and follower: checkpoint, lag, and any poison. 1 if one is stopped."""
    from harbour.runtime.projections import all_projections

    status = 0
    for found in await runner.statuses(p.name for p in all_projections()):
        line = f"{found.name}: checkpoint {found.checkpoint}, {found.behind} events behind"
        poison = found.poison
        if found.quarantined and poison is not None:
            line += f", QUARANTINED at {poison.describe()}"
            status = 1
        elif found.skipped and poison is not None:
            line += f", skipped {found.skipped} poison event(s), the last at {poison.describe()}"
        elif poison is not None:
            line += f", released; last poison at {poison.describe()}"
        print(line)
    return status


async def _retry_projection(runner: ProjectionRunner, name: str) -> int:
    """Release a quarantined projection and catch it up: it goes past its poison (fixed), or
    stops at it again."""
    from harbour.runtime.projections import all_projections

    known = {p.name: p for p in all_projections()}
    released = await runner.release(name)
    projection = known.get(name)
    if projection is None:
        print(f"{name}: {'released' if released else 'not quarantined'} (not a read model here)")
        return 0 if released else 1
    if not released:
        print(f"{name}: not quarantined")
    await runner.catch_up(projection)
    after = await runner.status(projection)
    if _report_quarantine(after):
        return 1
    print(f"{name}: running, checkpoint {after.checkpoint}, {after.behind} events behind")
    return 0


async def _trial_balance(runtime: object) -> int:
    """The ledger's first test: every asset's balances sum to zero."""
    import sqlalchemy as sa

    from harbour.accounts.projections import TRIAL_BALANCE_SQL
    from harbour.runtime.server import Runtime

    assert isinstance(runtime, Runtime)
    async with runtime.database.engine.connect() as conn:
        unbalanced = (await conn.execute(sa.text(TRIAL_BALANCE_SQL))).all()
    for code, total in unbalanced:
        print(f"trial balance: {code} sums to {total} minor units, not zero")
    print(f"trial balance: {'BROKEN' if unbalanced else 'zero for every asset'}")
    return 1 if unbalanced else 0


def cmd_audit(settings: Settings, args: argparse.Namespace) -> int:
    from harbour.runtime import audit_cli, audit_proofs_cli

    if args.action == "keygen":
        if not args.out:
            print("harbour audit keygen needs --out KEYFILE", file=sys.stderr)
            return 2
        return audit_proofs_cli.keygen(Path(args.out))
    if args.action == "verify" and args.file:
        return audit_cli.verify_export(Path(args.file))
    # Anchored checkpoints, rebuilt state and re-derived decisions (harbour.audit).
    proofs = args.action in ("checkpoint", "rederive") or args.against or args.state
    run = audit_proofs_cli.run if proofs else audit_cli.run
    with database_url(settings) as url:
        return asyncio.run(run(_with_url(settings, url), args))


def cmd_demo(settings: Settings, _: argparse.Namespace) -> int:
    from harbour.runtime import demo_cli

    return demo_cli.run(settings)


def _with_dev_mode(settings: Settings, asked: bool) -> Settings:
    from dataclasses import replace

    return replace(settings, dev_mode=settings.dev_mode or asked)


def _with_url(settings: Settings, url: str) -> Settings:
    from dataclasses import replace

    return replace(settings, database_url=url)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="harbour", description=__doc__.split("\n\n")[0])
    commands = root.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="embedded PostgreSQL, migrations and every service")
    up.add_argument(
        "--dev", action="store_true", help="development mode: no authentication, loopback only"
    )
    certs_cli.add_arguments(commands.add_parser("certs", help="development certificates (mTLS)"))
    token_cli.add_arguments(commands.add_parser("token", help="signed short-lived tokens"))
    serve = commands.add_parser("serve", help="run one service")
    serve.add_argument("service", choices=SERVICES)
    commands.add_parser("migrate", help="bring the schema to the latest revision")
    commands.add_parser("project", help="keep every read model caught up with the feed")
    projections = commands.add_parser(
        "projections", help="rebuild, verify, list or release read models"
    )
    projections.add_argument("action", choices=("rebuild", "verify", "status", "retry"))
    projections.add_argument("name", nargs="?", help="the projection to retry")
    audit = commands.add_parser("audit", help="verify, replay or export history")
    audit.add_argument(
        "action", choices=("verify", "replay", "export", "checkpoint", "keygen", "rederive")
    )
    audit.add_argument("--stream", help="one stream, e.g. account-C1")
    audit.add_argument("--as-of", type=datetime.fromisoformat, help="ISO-8601 instant")
    audit.add_argument("--position", type=int, help="global position")
    audit.add_argument("--file", help="verify an export file instead of the database")
    audit.add_argument("--out", help="export destination")
    audit.add_argument("--format", choices=("jsonl", "csv", "parquet"), default="jsonl")
    audit.add_argument("--what", choices=("events", "journals"), default="events")
    audit.add_argument("--key", help="checkpoint: the Ed25519 signing key (PEM)")
    audit.add_argument("--against", help="verify: a signed checkpoint to hold the store to")
    audit.add_argument("--public-key", help="verify --against: the signer's public key (PEM)")
    audit.add_argument(
        "--state", action="store_true", help="replay: the state rebuilt, not the raw events"
    )
    commands.add_parser(
        "demo", help="onboard, price, draw, crash BTC, call, cure, liquidate, audit (make up)"
    )
    reconcile_cli.add_arguments(
        commands.add_parser("reconcile", help="compare a custodian, bank or securities statement")
    )
    limits_cli.add_arguments(commands.add_parser("limits", help="every limit and its headroom"))
    report = commands.add_parser("report", help="an account's or the book's HTML report")
    report.add_argument("kind", choices=report_cli.KINDS)
    report.add_argument("client_id", nargs="?", help="report account: the client's id")
    report.add_argument("--out", required=True, help="the HTML file to write")
    report.add_argument("--as-of", type=report_cli.as_of_instant, help="ISO-8601 instant")
    return root


HANDLERS = {
    "up": cmd_up,
    "serve": cmd_serve,
    "migrate": cmd_migrate,
    "project": cmd_project,
    "projections": cmd_projections,
    "audit": cmd_audit,
    "report": report_cli.cmd_report,
    "reconcile": reconcile_cli.command,
    "limits": limits_cli.command,
    "demo": cmd_demo,
    "certs": certs_cli.run,
    "token": token_cli.run,
}


def check_arguments(root: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse what a command cannot run before anything starts (a database, a server):
    argparse's usage line and exit status 2."""
    if args.command != "audit":
        return
    if args.action == "replay" and not args.stream:
        root.error("audit replay needs --stream ID (and --as-of or --position to go back)")
    if args.action == "export" and not args.out:
        root.error("audit export needs --out FILE")
    if args.file and args.action != "verify":
        root.error("--file goes with audit verify (an export to check offline)")


def main(argv: list[str] | None = None) -> int:
    root = parser()
    args = root.parse_args(argv)
    check_arguments(root, args)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"harbour: {exc}", file=sys.stderr)
        return 2
    # JSON lines from the long-running processes (a log pipeline reads them), text for a person.
    default_format = "json" if args.command in SERVER_COMMANDS else "text"
    configure_logging(settings, default_format=default_format)
    try:
        return HANDLERS[args.command](settings, args)
    except NoDatabase as exc:
        print(f"harbour: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
