"""The wire contract: generated code matches the protos, and the protos pass buf lint."""

from __future__ import annotations

import filecmp
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ROOT / "services" / "harbour" / "api" / "v1"
BUF = ROOT / ".tools" / "node_modules" / ".bin" / "buf"


def test_checked_in_code_matches_a_fresh_generation(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_protos.py"), str(tmp_path)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    fresh_dir = tmp_path / "harbour" / "api" / "v1"
    fresh = {p.name for p in fresh_dir.iterdir() if p.is_file()}
    checked_in = {p.name for p in GENERATED.iterdir() if p.is_file() and p.name != "__init__.py"}
    assert fresh == checked_in, "generated files differ in name: run `make protos`"
    for name in sorted(fresh):
        assert filecmp.cmp(fresh_dir / name, GENERATED / name, shallow=False), (
            f"{name} differs from what protoc generates: run `make protos`, never edit it"
        )


def test_protos_pass_buf_lint() -> None:
    if not BUF.exists():
        subprocess.run(["bash", str(ROOT / "scripts" / "install_node_tools.sh")], timeout=300)
    if not BUF.exists():
        if shutil.which("npm") is None:
            pytest.skip("npm is not on this machine, so buf cannot be installed")
        pytest.fail("buf could not be installed into .tools/ (scripts/install_node_tools.sh)")
    result = subprocess.run(
        [str(BUF), "lint"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_audit_service_shape() -> None:
    from harbour.api.v1 import audit_pb2

    service = audit_pb2.DESCRIPTOR.services_by_name["AuditService"]
    methods = {m.name: m for m in service.methods}
    assert set(methods) == {"ReadStream", "VerifyStream", "VerifyAll", "Subscribe"}
    assert methods["Subscribe"].server_streaming and not methods["ReadStream"].server_streaming
