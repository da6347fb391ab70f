"""The ``harbour`` command: run, migrate, rebuild and audit the ledger.

harbour up                       embedded PostgreSQL + migrations + every service
harbour serve SERVICE            one service (HARBOUR_DATABASE_URL required)
harbour migrate                  bring the schema to the latest revision
harbour projections rebuild|verify
harbour audit verify [--stream ID] [--file EXPORT]
harbour audit replay --stream ID [--as-of ISO-8601 | --position N]
harbour audit export --out FILE
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from harbour.runtime.settings import SERVICES, Settings, SettingsError, url_with_database

DATABASE_NAME = "harbour"


@contextlib.contextmanager
def database_url(settings: Settings) -> Iterator[str]:
    """HARBOUR_DATABASE_URL, or an embedded PostgreSQL kept in HARBOUR_DATA_DIR."""
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

    with database_url(settings) as url:
        migrate(url)
        print(f"schema at revision {current_revision(url)}")
    return 0


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    from harbour.runtime.server import serve

    asyncio.run(serve(args.service, settings))
    return 0


def cmd_project(settings: Settings, _: argparse.Namespace) -> int:
    from harbour.runtime.projector import run_projector

    asyncio.run(run_projector(settings))
    return 0


def cmd_up(settings: Settings, _: argparse.Namespace) -> int:
    from harbour.runtime.database import migrate

    with database_url(settings) as url:
        migrate(url)
        # Each child serves one service on base + index: a fixed HARBOUR_PORT would collide.
        inherited = {k: v for k, v in os.environ.items() if k != "HARBOUR_PORT"}
        env = {**inherited, "HARBOUR_DATABASE_URL": url}
        children = {
            name: subprocess.Popen(
                [sys.executable, "-m", "harbour.runtime.cli", "serve", name], env=env
            )
            for name in SERVICES
        }
        children["projector"] = subprocess.Popen(
            [sys.executable, "-m", "harbour.runtime.cli", "project"], env=env
        )
        for name in SERVICES:
            print(f"  {name:<12} {settings.host}:{settings.port_of(name)}", flush=True)
        print("harbour is up; Ctrl-C stops it", flush=True)
        stopping = False

        def stop(*_: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        while not stopping and all(child.poll() is None for child in children.values()):
            time.sleep(0.2)
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        failed = [
            name for name, child in children.items() if child.wait(timeout=15) not in (0, -15)
        ]
        if failed and not stopping:
            print(f"service(s) exited unexpectedly: {', '.join(failed)}", file=sys.stderr)
            return 1
    print("harbour stopped", flush=True)
    return 0


def cmd_projections(settings: Settings, args: argparse.Namespace) -> int:
    return asyncio.run(_projections(settings, args.action))


async def _projections(settings: Settings, action: str) -> int:
    from harbour.eventstore.projections import ProjectionRunner
    from harbour.runtime.projections import all_projections
    from harbour.runtime.server import open_runtime, system_clock

    with database_url(settings) as url:
        runtime = await open_runtime(_with_url(settings, url))
        runner = ProjectionRunner(runtime.store, clock=system_clock)
        status = 0
        try:
            for projection in all_projections():
                if action == "rebuild":
                    count = await runner.rebuild(projection)
                    print(f"{projection.name}: rebuilt from {count} events")
                else:
                    await runner.catch_up(projection)
                    differences = await runner.verify(projection)
                    for d in differences:
                        print(
                            f"{projection.name}.{d.table}: {d.only_live} rows only live, "
                            f"{d.only_rebuilt} only in the rebuild"
                        )
                    print(f"{projection.name}: {'DIFFERS' if differences else 'matches a rebuild'}")
                    status |= bool(differences)
            if action == "verify":
                status |= await _trial_balance(runtime)
        finally:
            await runtime.database.close()
    return status


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
    from harbour.runtime import audit_cli

    if args.action == "verify" and args.file:
        return audit_cli.verify_export(Path(args.file))
    with database_url(settings) as url:
        return asyncio.run(audit_cli.run(_with_url(settings, url), args))


def _with_url(settings: Settings, url: str) -> Settings:
    from dataclasses import replace

    return replace(settings, database_url=url)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="harbour", description=__doc__.split("\n\n")[0])
    commands = root.add_subparsers(dest="command", required=True)
    commands.add_parser("up", help="embedded PostgreSQL, migrations and every service")
    serve = commands.add_parser("serve", help="run one service")
    serve.add_argument("service", choices=SERVICES)
    commands.add_parser("migrate", help="bring the schema to the latest revision")
    commands.add_parser("project", help="keep every read model caught up with the feed")
    projections = commands.add_parser("projections", help="rebuild or verify read models")
    projections.add_argument("action", choices=("rebuild", "verify"))
    audit = commands.add_parser("audit", help="verify, replay or export history")
    audit.add_argument("action", choices=("verify", "replay", "export"))
    audit.add_argument("--stream", help="one stream, e.g. account-C1")
    audit.add_argument("--as-of", type=datetime.fromisoformat, help="ISO-8601 instant")
    audit.add_argument("--position", type=int, help="global position")
    audit.add_argument("--file", help="verify an export file instead of the database")
    audit.add_argument("--out", help="export destination (JSON lines)")
    return root


HANDLERS = {
    "up": cmd_up,
    "serve": cmd_serve,
    "migrate": cmd_migrate,
    "project": cmd_project,
    "projections": cmd_projections,
    "audit": cmd_audit,
}


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"harbour: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    return HANDLERS[args.command](settings, args)


if __name__ == "__main__":
    sys.exit(main())
