"""The audit service publishes signed checkpoints on a schedule (HARBOUR_CHECKPOINT_EVERY_S):
each is a whole file that `harbour audit verify --against` accepts, and a round that fails
(here: the folder replaced by a file) is restarted by the service's supervisor, not lost."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from harbour.audit.keys import generate_key_files
from harbour.eventstore.model import NewEvent
from harbour.runtime.server import Runtime
from harbour.runtime.settings import Settings
from tests.e2e.conftest import serve_on_loopback

LOOP = "checkpoint-publisher"


def published(folder: Path) -> list[Path]:
    """Whole checkpoints only: a temporary file never carries the final name."""
    return sorted(folder.glob("checkpoint-*.json")) if folder.is_dir() else []


async def until(condition: object, seconds: float = 10.0) -> None:
    assert callable(condition)
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


async def deposit(runtime: Runtime, stream: str, expected_version: int) -> None:
    await runtime.store.append(
        stream, [NewEvent("CashDeposited", {"amount": "1.00"})], expected_version=expected_version
    )


def harbour(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HARBOUR_DATABASE_URL": url, "HARBOUR_LOG_LEVEL": "WARNING"}
    return subprocess.run(
        [sys.executable, "-m", "harbour.runtime.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_the_audit_service_publishes_checkpoints_that_verify_and_survives_a_failure(
    runtime: Runtime, settings: Settings, database_url: str, tmp_path: Path
) -> None:
    key = tmp_path / "keys" / "audit.pem"
    public, _ = generate_key_files(key)
    folder = tmp_path / "checkpoints"
    runtime = replace(
        runtime,
        settings=replace(
            settings, audit_signing_key=key, checkpoint_every_s=1, checkpoint_dir=folder
        ),
    )
    await deposit(runtime, "account-C1", 0)
    running = await serve_on_loopback("audit", runtime)
    try:
        assert running.supervisor is not None
        await until(lambda: published(folder))  # the first at once
        first = json.loads(published(folder)[0].read_text())
        assert first["global_position"] == 1 and first["streams"] == 1

        # A round fails (the folder is gone and a file stands in its way): the loop goes down
        # and the supervisor restarts it, while the service goes on serving.
        kept = tmp_path / "kept"
        folder.rename(kept)
        folder.write_text("not a folder")
        await until(lambda: running.supervisor.status(LOOP).restarts >= 1)  # type: ignore[union-attr]
        assert "checkpoints" in (running.supervisor.status(LOOP).last_error or "")
        folder.unlink()
        kept.rename(folder)

        await deposit(runtime, "account-C2", 0)
        await deposit(runtime, "account-C1", 1)
        await until(
            lambda: any(
                json.loads(path.read_text())["global_position"] == 3 for path in published(folder)
            )
        )
        assert running.supervisor.status(LOOP).up
    finally:
        await running.stop(0)

    names = [path.name for path in published(folder)]
    assert names == sorted(names) and all(name.endswith("Z.json") for name in names)
    assert not [p for p in folder.iterdir() if not p.name.startswith("checkpoint-")]
    newest = published(folder)[-1]
    assert newest.name.startswith("checkpoint-000000000003-")
    verified = harbour(
        "audit", "verify", "--against", str(newest), "--public-key", str(public), url=database_url
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "every head holds" in verified.stdout
    shutil.rmtree(folder)
