"""The code's own rules, checked in the suite: import direction, lint, types."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)


def tool(name: str) -> str:
    path = BIN / name
    found = str(path) if path.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: run `make install`")
    return found


def test_import_contracts_hold() -> None:
    """Domain/ledger never import grpc, sqlalchemy, psycopg; the event store knows no domain."""
    result = run(tool("lint-imports"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_is_clean() -> None:
    check = run(tool("ruff"), "check", ".")
    assert check.returncode == 0, check.stdout + check.stderr
    style = run(tool("ruff"), "format", "--check", ".")
    assert style.returncode == 0, style.stdout + style.stderr


def test_mypy_is_clean() -> None:
    result = run(tool("mypy"))
    assert result.returncode == 0, result.stdout + result.stderr
