"""The wire contract: generated code matches the protos, the protos pass buf lint and make no
breaking change against their previous version (buf breaking), and the generated modules expose
the services the servicers implement."""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from google.protobuf.descriptor import FieldDescriptor

ROOT = Path(__file__).resolve().parents[2]
CHECKED_IN = ROOT / "services"
API = Path("harbour") / "api"
BUF = ROOT / ".tools" / "node_modules" / ".bin" / "buf"
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")


def _generated_files(root: Path) -> dict[str, bytes]:
    """Generated files under root/harbour/api, keyed by path relative to root."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted((root / API).rglob("*"))
        if path.is_file() and path.name.endswith(GENERATED_SUFFIXES)
    }


def _grpc_tools_versions(files: dict[str, bytes]) -> str:
    stamped = sorted(
        {
            m.group(1).decode()
            for content in files.values()
            if (m := re.search(rb"GRPC_GENERATED_VERSION = '([^']+)'", content))
        }
    )
    import grpc_tools.grpc_version

    return f"checked in by grpcio-tools {stamped}, this run {grpc_tools.grpc_version.VERSION}"


def test_checked_in_code_matches_a_fresh_generation(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_protos.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"gen_protos.py failed:\n{result.stdout}{result.stderr}"
    fresh = _generated_files(tmp_path)
    checked_in = _generated_files(CHECKED_IN)
    assert fresh, "gen_protos.py generated nothing"

    missing = sorted(fresh.keys() - checked_in.keys())
    extra = sorted(checked_in.keys() - fresh.keys())
    differing = sorted(
        name for name in fresh.keys() & checked_in.keys() if fresh[name] != checked_in[name]
    )
    problems = [f"missing from services/: {name}" for name in missing]
    problems += [f"not generated from any proto: services/{name}" for name in extra]
    problems += [f"differs from a fresh generation: services/{name}" for name in differing]
    assert not problems, (
        "generated code is out of date with protos/ — run `make protos` (never edit generated "
        f"files by hand); {_grpc_tools_versions(checked_in)}:\n  " + "\n  ".join(problems)
    )


def buf() -> Path:
    """buf in .tools/, installed from npm on first use. Skips only where it cannot be installed
    (no npm/node on the machine); with npm present, a missing buf is a failure."""
    if not BUF.exists():
        subprocess.run(["bash", str(ROOT / "scripts" / "install_node_tools.sh")], timeout=300)
    if not BUF.exists():
        if shutil.which("npm") is None or shutil.which("node") is None:
            pytest.skip("npm/node is not on this machine, so buf cannot be installed")
        pytest.fail("buf could not be installed into .tools/ (scripts/install_node_tools.sh)")
    return BUF


def test_protos_pass_buf_lint() -> None:
    result = subprocess.run(
        [str(buf()), "lint"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, f"buf lint failed:\n{result.stdout}{result.stderr}"


def _git(*args: str) -> str:
    result = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=60)
    return result.stdout.strip() if result.returncode == 0 else ""


def previous_contract() -> str:
    """The commit whose protos/ the wire contract must stay compatible with: the one before the
    last commit that changed protos/ (so that change, and any uncommitted one, is checked), or
    HEAD when protos/ has no earlier version."""
    last_change = _git("log", "-1", "--format=%H", "--", "protos")
    before = _git("rev-parse", "--verify", "--quiet", f"{last_change}~1") if last_change else ""
    return before or _git("rev-parse", "HEAD")


def test_protos_make_no_breaking_change_against_the_previous_version() -> None:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: there is no previous version of the protos to compare")
    against = previous_contract()
    assert against, "git could not name a commit to compare the protos with"
    result = subprocess.run(
        [str(buf()), "breaking", "protos", "--against", f".git#ref={against},subdir=protos"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, (
        f"buf breaking against {against[:12]} (FILE rules, buf.yaml): a client built on the "
        f"released contract would break:\n{result.stdout}{result.stderr}"
    )


def test_buf_breaking_catches_a_deleted_field(tmp_path: Path) -> None:
    """The check above can fail: the same command on a copy of the protos missing one field."""
    shutil.copytree(ROOT / "protos", tmp_path / "protos")
    common = tmp_path / "protos" / "harbour" / "api" / "v1" / "common.proto"
    common.write_text(common.read_text().replace("  string asset = 1;\n", "", 1))
    result = subprocess.run(
        [str(buf()), "breaking", str(tmp_path / "protos"), "--against", "protos"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode != 0
    assert 'with name "asset" on message "Amount" was deleted' in result.stdout + result.stderr


def test_common_messages_carry_the_documented_fields() -> None:
    from harbour.api.v1 import common_pb2

    expected = {
        "Amount": ["asset", "value"],
        "Price": ["base_asset", "quote_asset", "value"],
        "CommandResult": ["stream_id", "stream_version", "position", "replayed"],
        "PageRequest": ["page_size", "page_token"],
        "PageInfo": ["next_page_token"],
        "RecordedEvent": [
            "position",
            "stream_id",
            "version",
            "type",
            "schema_version",
            "data_json",
            "metadata_json",
            "recorded_at",
            "hash",
        ],
        "FeedCheckpoint": ["txid", "position"],
    }
    messages = common_pb2.DESCRIPTOR.message_types_by_name
    assert set(messages) == set(expected)
    for name, fields in expected.items():
        assert [f.name for f in messages[name].fields] == fields, name
    recorded_at = messages["RecordedEvent"].fields_by_name["recorded_at"]
    assert recorded_at.message_type.full_name == "google.protobuf.Timestamp"
    # Amounts, prices and feed txids are strings on the wire, never floats or int64.
    for name, field in [("Amount", "value"), ("Price", "value"), ("FeedCheckpoint", "txid")]:
        assert messages[name].fields_by_name[field].type == FieldDescriptor.TYPE_STRING, field


def test_audit_service_shape() -> None:
    from harbour.api.v1 import audit_pb2, audit_pb2_grpc

    service = audit_pb2.DESCRIPTOR.services_by_name["AuditService"]
    assert service.full_name == "harbour.api.v1.AuditService"
    methods = {m.name: m for m in service.methods}
    assert set(methods) == {
        "ReadStream",
        "VerifyStream",
        "VerifyAll",
        "Subscribe",
        "CreateCheckpoint",
        "VerifyAgainstCheckpoint",
        "ReplayState",
        "RederiveDecisions",
    }
    for name, method in methods.items():
        assert method.input_type.name == f"{name}Request"
        assert method.output_type.name == f"{name}Response"
        assert not method.client_streaming, name
        assert method.server_streaming == (name == "Subscribe"), name
    subscribe = methods["Subscribe"].output_type.fields_by_name
    assert subscribe["event"].message_type.full_name == "harbour.api.v1.RecordedEvent"
    assert subscribe["checkpoint"].message_type.full_name == "harbour.api.v1.FeedCheckpoint"
    assert [f.name for f in audit_pb2.ChainBreak.DESCRIPTOR.fields] == [
        "position",
        "stream_id",
        "version",
        "reason",
    ]
    assert hasattr(audit_pb2_grpc, "AuditServiceStub")
    assert hasattr(audit_pb2_grpc, "add_AuditServiceServicer_to_server")


@pytest.mark.parametrize(
    "module", sorted(p.name[: -len("_pb2.py")] for p in (CHECKED_IN / API / "v1").glob("*_pb2.py"))
)
def test_every_service_has_a_stub_and_a_servicer(module: str) -> None:
    pb2 = importlib.import_module(f"harbour.api.v1.{module}_pb2")
    grpc_module = importlib.import_module(f"harbour.api.v1.{module}_pb2_grpc")
    assert pb2.DESCRIPTOR.package == "harbour.api.v1"
    for service in pb2.DESCRIPTOR.services_by_name:
        for attr in (f"{service}Stub", f"{service}Servicer", f"add_{service}Servicer_to_server"):
            assert hasattr(grpc_module, attr), f"{module}_pb2_grpc lacks {attr}"
