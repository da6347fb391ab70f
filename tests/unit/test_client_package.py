"""The client package (clients/python) ships the stubs the protos generate, importing only from
itself, and declares no dependency beyond the wire (grpcio, protobuf)."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "clients" / "python"
CLIENT_API = CLIENT / "src" / "harbour_client" / "api"
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")
WIRE_ONLY = {"grpcio", "protobuf"}


def _generated(api: Path) -> dict[str, bytes]:
    return {
        path.relative_to(api).as_posix(): path.read_bytes()
        for path in sorted(api.rglob("*"))
        if path.is_file() and path.name.endswith(GENERATED_SUFFIXES)
    }


def test_client_stubs_match_a_fresh_generation(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_protos.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    fresh, shipped = _generated(tmp_path / "harbour_client" / "api"), _generated(CLIENT_API)
    assert fresh, "gen_protos.py generated no client stubs"
    differing = sorted(n for n in fresh.keys() | shipped.keys() if fresh.get(n) != shipped.get(n))
    assert not differing, (
        "clients/python's stubs are out of date with protos/ — run `make protos`: "
        + ", ".join(differing)
    )


def test_client_stubs_import_nothing_from_the_server_package() -> None:
    server_import = re.compile(r"^\s*(from|import) harbour[ .]", re.MULTILINE)
    offenders = [
        name for name, text in _generated(CLIENT_API).items() if server_import.search(text.decode())
    ]
    assert not offenders, offenders


def test_client_copy_keeps_the_server_descriptors_and_shares_their_classes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Same serialized files, so both copies load into one process and are the same messages."""
    monkeypatch.syspath_prepend(str(CLIENT / "src"))
    from harbour_client.api.v1 import accounts_pb2 as client

    from harbour.api.v1 import accounts_pb2 as server

    assert client.DESCRIPTOR.serialized_pb == server.DESCRIPTOR.serialized_pb
    assert client.DepositCashRequest is server.DepositCashRequest


def test_client_depends_on_the_wire_only() -> None:
    project = tomllib.loads((CLIENT / "pyproject.toml").read_text())["project"]
    assert project["name"] == "harbour-ledger-client"
    names = {
        re.split(r"[<>=!~\[ ;]", spec, maxsplit=1)[0].lower() for spec in project["dependencies"]
    }
    assert names <= WIRE_ONLY | {"grpcio-health-checking"}, names
