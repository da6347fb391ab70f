"""The `harbour` command against a real database, run as a user would run it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import psycopg
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from harbour.application.outcome import new_event
from harbour.eventstore.model import NewEvent
from harbour.eventstore.store import EventStore
from harbour.ledger import events as ev
from harbour.ledger.money import Money
from harbour.lending.schema import limit_collateral_held, limit_collateral_movements
from harbour.runtime.database import alembic_config
from harbour.runtime.settings import libpq_url, url_with_database
from tests.integration.cli_in_process import Ran, harbour_in_process, run_main


def harbour(*args: str, url: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HARBOUR_DATABASE_URL": url, "HARBOUR_LOG_LEVEL": "WARNING"}
    return subprocess.run(
        [sys.executable, "-m", "harbour.runtime.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def test_migrate_creates_the_schema_from_nothing(empty_database_url: str) -> None:
    result = harbour("migrate", url=empty_database_url)
    assert result.returncode == 0, result.stderr
    head = ScriptDirectory.from_config(alembic_config(empty_database_url)).get_current_head()
    assert f"schema at revision {head}" in result.stdout
    again = harbour("migrate", url=empty_database_url)  # idempotent
    assert again.returncode == 0, again.stderr


async def seed(store: EventStore) -> None:
    for version in range(3):
        await store.append(
            "sample-C1",
            [NewEvent("SampleRecorded", {"amount": f"{version}.50", "asset": "HKD"})],
            expected_version=version,
        )


async def test_audit_verify_replay_and_offline_export(
    store: EventStore, database_url: str, tmp_path: Path
) -> None:
    await seed(store)
    # In this process, but for the offline check that fails (each real process costs a second
    # or more of start-up; `audit verify` runs as one below, with its progress line).
    verified = harbour_in_process("audit", "verify", url=database_url)
    assert verified.returncode == 0, verified.stderr
    assert "3 events in 1 streams checked: intact" in verified.stdout

    replay = harbour_in_process(
        "audit", "replay", "--stream", "sample-C1", "--position", "2", url=database_url
    )
    assert replay.returncode == 0, replay.stderr
    assert len(replay.stdout.splitlines()) == 2

    export = tmp_path / "history.jsonl"
    exported = harbour_in_process("audit", "export", "--out", str(export), url=database_url)
    assert exported.returncode == 0, exported.stderr
    assert (
        harbour_in_process("audit", "verify", "--file", str(export), url=database_url).returncode
        == 0
    )

    # An auditor's copy that was edited no longer verifies.
    lines = export.read_text().splitlines()
    export.write_text("\n".join([lines[0], lines[1].replace("1.50", "1.51"), lines[2]]) + "\n")
    offline = harbour("audit", "verify", "--file", str(export), url=database_url)
    assert offline.returncode == 1
    assert "BREAK at position 2 (sample-C1 v2)" in offline.stdout


async def test_audit_verify_fails_on_a_tampered_database(
    store: EventStore, database_url: str
) -> None:
    await seed(store)
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute(
            "UPDATE events SET content = convert_to(replace(convert_from(content, 'UTF8'), "
            '\'"metadata":{\', \'"metadata":{"actor":"mallory",\'), \'UTF8\') '
            "WHERE version = 3"
        )
    result = harbour_in_process("audit", "verify", url=database_url)
    assert result.returncode == 1
    assert "BREAK at position 3" in result.stdout


async def test_projections_rebuild_and_verify(store: EventStore, database_url: str) -> None:
    await seed(store)
    # In this process (`projections verify` runs as a real one in test_poison_events).
    rebuilt = harbour_in_process("projections", "rebuild", url=database_url)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "stream_heads: rebuilt from 3 events" in rebuilt.stdout
    verified = harbour_in_process("projections", "verify", url=database_url)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "stream_heads: matches a rebuild" in verified.stdout


def test_bad_configuration_is_a_clear_error(database_url: str) -> None:
    env = {"HARBOUR_DATABASE_URL": database_url, "HARBOUR_DB_POOL_SIZE": "lots"}
    result = run_main(("migrate",), env)
    assert result.returncode == 2
    assert "HARBOUR_DB_POOL_SIZE must be an integer" in result.stderr


# --------------------------------------------------------------------- a newcomer's first runs
def harbour_without_database(
    *args: str, data_dir: Path, extra: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], float]:
    """The command as a newcomer runs it: no HARBOUR_DATABASE_URL, a data directory of its
    own; returns the result and how long it took."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARBOUR_")}
    env.update(HARBOUR_DATA_DIR=str(data_dir), **(extra or {}))
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "harbour.runtime.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result, time.monotonic() - started


def newcomer_in_process(
    *args: str, data_dir: Path, first: bool
) -> tuple[subprocess.CompletedProcess[str] | Ran, float]:
    """As :func:`harbour_without_database`: a real process for the ``first`` of a test's runs,
    the later ones in this process (the same command without a second or more of start-up)."""
    if first:
        return harbour_without_database(*args, data_dir=data_dir)
    started = time.monotonic()
    result = run_main(args, {"HARBOUR_DATA_DIR": str(data_dir)})
    return result, time.monotonic() - started


def harbour_bytes(*args: str, url: str) -> subprocess.CompletedProcess[bytes]:
    """As :func:`harbour`, in bytes: text mode would turn carriage returns into newlines."""
    env = {**os.environ, "HARBOUR_DATABASE_URL": url, "HARBOUR_LOG_LEVEL": "WARNING"}
    return subprocess.run(
        [sys.executable, "-m", "harbour.runtime.cli", *args],
        env=env,
        capture_output=True,
        timeout=120,
    )


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_argument_errors_are_reported_before_anything_starts(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    for n, (args, says) in enumerate(
        [
            (("audit", "replay"), "audit replay needs --stream"),
            (("audit", "export"), "audit export needs --out FILE"),
            (("audit", "replay", "--stream", "account-C1", "--file", "x"), "--file goes with"),
        ]
    ):
        result, seconds = newcomer_in_process(*args, data_dir=data_dir, first=n == 0)
        assert result.returncode == 2, result.stderr
        assert says in result.stderr
        assert "PostgreSQL" not in result.stderr and "Traceback" not in result.stderr
        assert seconds < 15
    assert not data_dir.exists()  # nothing was started, nothing initialised


def test_without_a_running_database_one_line_says_how_to_point_at_it(tmp_path: Path) -> None:
    data_dir = tmp_path / "elsewhere"
    for n, args in enumerate((("audit", "verify"), ("projections", "verify"), ("migrate",))):
        result, seconds = newcomer_in_process(*args, data_dir=data_dir, first=n == 0)
        assert result.returncode == 2, result.stdout + result.stderr
        line = one_line(result.stderr)
        assert line.startswith(f"harbour: no PostgreSQL runs in {data_dir / 'pgdata'}"), line
        assert "HARBOUR_DATABASE_URL=" in line and "make up" in line, line
        assert seconds < 15, f"{args} took {seconds:.1f}s to give up"
    assert not (data_dir / "pgdata").exists()  # no new cluster initialised silently


def test_a_database_that_does_not_answer_is_one_line(database_url: str, tmp_path: Path) -> None:
    missing = url_with_database(database_url, "no_such_database")
    result, seconds = harbour_without_database(
        "audit", "verify", data_dir=tmp_path, extra={"HARBOUR_DATABASE_URL": missing}
    )
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert "cannot connect to" in line and "no_such_database" in line, line
    assert "HARBOUR_DATABASE_URL=" in line and "make up" in line, line
    assert seconds < 15


def test_a_database_without_the_schema_is_one_line_not_a_pool_timeout(
    empty_database_url: str, tmp_path: Path
) -> None:
    # Before: 30 s of `role "harbour_service" does not exist`, then a PoolTimeout traceback.
    result, seconds = harbour_without_database(
        "audit", "verify", data_dir=tmp_path, extra={"HARBOUR_DATABASE_URL": empty_database_url}
    )
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert "holds no ledger schema" in line and "harbour migrate" in line, line
    assert seconds < 15


async def test_audit_verify_shows_a_progress_line_and_then_a_clean_summary(
    store: EventStore, database_url: str
) -> None:
    await seed(store)
    result = harbour_bytes("audit", "verify", url=database_url)
    assert result.returncode == 0, result.stderr
    # The progress line rewrites itself (\r), gives the rate, and ends its line ...
    progress = result.stderr.decode()
    assert progress.startswith("\rverifying "), repr(progress)
    assert "\n" not in progress[:-1], repr(progress)  # one line, rewritten in place
    assert progress.endswith(" events/s)\n"), repr(progress)
    assert "\rverifying 3 events in " in progress, repr(progress)
    # ... so the summary is a line of its own, not glued to the count.
    summary = result.stdout.decode()
    assert summary.splitlines()[0] == "3 events in 1 streams checked: intact", summary
    assert "\r" not in summary


async def test_limits_report_lists_every_limit_now_and_as_of_an_instant(
    store: EventStore, database_url: str
) -> None:
    # What the lending service and its limit monitor would have recorded, under the default
    # policy (capital 100,000,000.00; 20% of 120,000,000.00 = 24,000,000.00 a group): 1 BTC
    # held at 500,000.00; C1 owes 30,000,000.00 (over its limit); later, G1 owes 1,000.00.
    async def append(stream: str, event: ev.Event) -> int:
        head = len(await store.read_stream(stream))
        result = await store.append(stream, [new_event(event)], expected_version=head)
        return result.last_position

    now = datetime.now(UTC)
    position = await append("price-BTC", ev.PriceObserved("BTC", "HKD", Decimal(500000), now, "a"))
    async with store.engine.begin() as conn:
        await conn.execute(
            sa.insert(limit_collateral_movements).values(
                position=position, asset="BTC", quantity=10**8, recorded_at=now
            )
        )
        await conn.execute(sa.insert(limit_collateral_held).values(asset="BTC", quantity=10**8))
    owed = Money.of("HKD", "30000000.00")
    await append("broker-exposure", ev.BrokerExposureChanged("C1", "C1", owed, "advance", "r1"))
    between = datetime.now(UTC)
    await asyncio.sleep(0.01)
    owed = Money.of("HKD", "1000.00")
    await append("broker-exposure", ev.BrokerExposureChanged("C2", "G1", owed, "advance", "r2"))

    def rows(ran: Ran) -> list[list[str]]:
        assert ran.returncode == 0, ran.stderr
        return [line.split() for line in ran.stdout.splitlines()]

    header = ["limit", "subject", "measured", "HKD", "limit", "HKD", "headroom", "HKD", "state"]
    every = rows(harbour_in_process("limits", "report", url=database_url))
    assert every[0][:2] == ["limits", "as"] and every[0][-3:] == ["(policy", "version", "1)"]
    assert every[1:] == [
        header,
        ["total_loans", "broker", "30,001,000.00", "500,000,000.00", "469,999,000.00", "ok"],
        ["asset_concentration", "BTC", "500,000.00", "200,000,000.00", "199,500,000.00", "ok"],
        ["asset_concentration", "ETH", "0.00", "100,000,000.00", "100,000,000.00", "ok"],
        # Groups, least headroom first.
        ["single_client", "C1", "30,000,000.00", "24,000,000.00", "-6,000,000.00", "BREACHED"],
        ["single_client", "G1", "1,000.00", "24,000,000.00", "23,999,000.00", "ok"],
        ["1", "breached", "of", "5"],
    ]

    # As of an instant before G1 borrowed (an instant without a zone is UTC).
    naive = between.replace(tzinfo=None).isoformat()
    then = rows(harbour_in_process("limits", "report", "--as-of", naive, url=database_url))
    assert then[0][3] == between.isoformat()
    assert [row[:3] for row in then[2:-1]] == [
        ["total_loans", "broker", "30,000,000.00"],
        ["asset_concentration", "BTC", "500,000.00"],
        ["asset_concentration", "ETH", "0.00"],
        ["single_client", "C1", "30,000,000.00"],
    ]
    assert then[-1] == ["1", "breached", "of", "4"]

    refused = harbour_in_process("limits", "report", "--as-of", "yesterday", url=database_url)
    assert refused.returncode == 2 and "--as-of" in refused.stderr
