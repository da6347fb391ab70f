"""The `harbour` command against a real database, run as a user would run it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
from alembic.script import ScriptDirectory

from harbour.eventstore.model import NewEvent
from harbour.eventstore.store import EventStore
from harbour.runtime.database import alembic_config
from harbour.runtime.settings import libpq_url


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
    verified = harbour("audit", "verify", url=database_url)
    assert verified.returncode == 0, verified.stderr
    assert "3 events in 1 streams checked: intact" in verified.stdout

    replay = harbour(
        "audit", "replay", "--stream", "sample-C1", "--position", "2", url=database_url
    )
    assert replay.returncode == 0, replay.stderr
    assert len(replay.stdout.splitlines()) == 2

    export = tmp_path / "history.jsonl"
    exported = harbour("audit", "export", "--out", str(export), url=database_url)
    assert exported.returncode == 0, exported.stderr
    assert harbour("audit", "verify", "--file", str(export), url=database_url).returncode == 0

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
        conn.execute('UPDATE events SET metadata = \'{"actor": "mallory"}\' WHERE version = 3')
    result = harbour("audit", "verify", url=database_url)
    assert result.returncode == 1
    assert "BREAK at position 3" in result.stdout


async def test_projections_rebuild_and_verify(store: EventStore, database_url: str) -> None:
    await seed(store)
    rebuilt = harbour("projections", "rebuild", url=database_url)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "stream_heads: rebuilt from 3 events" in rebuilt.stdout
    verified = harbour("projections", "verify", url=database_url)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "stream_heads: matches a rebuild" in verified.stdout


def test_bad_configuration_is_a_clear_error(database_url: str) -> None:
    env = {**os.environ, "HARBOUR_DATABASE_URL": database_url, "HARBOUR_DB_POOL_SIZE": "lots"}
    result = subprocess.run(
        [sys.executable, "-m", "harbour.runtime.cli", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "HARBOUR_DB_POOL_SIZE must be an integer" in result.stderr
