"""The client package installs and calls a real server without any of the server's dependencies:
its wheel, built here, goes into a fresh virtual environment that holds nothing but grpcio and
protobuf (and what grpcio needs), and a script run there onboards a client over loopback."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Sequence
from email.parser import Parser
from pathlib import Path

import google.protobuf
import grpc
import typing_extensions

from harbour.runtime.server import Runtime
from tests.e2e.conftest import serve_on_loopback

ROOT = Path(__file__).resolve().parents[2]
CALLER = """
import sys
from harbour_client import connect
from harbour_client.api.v1 import accounts_pb2 as pb, accounts_pb2_grpc
from harbour_client.api.v1.common_pb2 import Amount

try:
    import harbour  # the server package must not be there
    sys.exit("the server package is importable in the client's environment")
except ImportError:
    pass
for server_dependency in ("sqlalchemy", "psycopg", "alembic", "grpc_health", "numpy"):
    try:
        __import__(server_dependency)
        sys.exit(f"{server_dependency} is importable in the client's environment")
    except ImportError:
        pass
with connect(sys.argv[1], insecure=True) as channel:
    accounts = accounts_pb2_grpc.AccountsServiceStub(channel)
    principal = (("x-harbour-principal", "ops:operator"),)
    reply = accounts.OnboardClient(
        pb.OnboardClientRequest(
            request_id="wheel-1", client_id="W1", securities_margin_account_id="SMA-W1",
            credit_grade="A", credit_assessment_id="CA-W1",
            credit_limit=Amount(asset="HKD", value="1000.00"),
            margin_agreement_version="MA-2026", risk_disclosure_version="VARD-1",
        ),
        metadata=principal, timeout=30,
    )
    for proposal in reply.fact_proposal_ids:  # the credit facts, approved by a second person
        accounts.ApproveClientFact(
            pb.ApproveClientFactRequest(
                request_id=f"wheel-{proposal}", client_id="W1", proposal_id=proposal
            ),
            metadata=(("x-harbour-principal", "credit:risk"),), timeout=30,
        )
    account = accounts.GetAccount(
        pb.GetAccountRequest(client_id="W1", min_position=reply.result.position),
        metadata=principal, timeout=30,
    ).account
    print(reply.result.stream_id, pb.AccountStatus.Name(account.status))
"""


def pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "-q", *args], check=True, timeout=120)


def build_wheel(
    into: Path, project: Path = ROOT / "clients" / "python", parts: Sequence[str] = ()
) -> Path:
    """`pip wheel --no-deps` of a copy of ``project`` (the build writes into its source): all of
    it, or only its ``parts`` (files and folders), without caches or earlier build output."""
    source = into / "source"
    ignore = shutil.ignore_patterns("build", "__pycache__", "*.egg-info")
    if not parts:
        shutil.copytree(project, source, ignore=ignore)
    for part in parts:
        if (project / part).is_dir():
            shutil.copytree(project / part, source / part, ignore=ignore)
        else:
            source.mkdir(parents=True, exist_ok=True)
            shutil.copy2(project / part, source / part)
    pip("wheel", "--no-deps", "--no-build-isolation", "-w", str(into / "dist"), str(source))
    (wheel,) = (into / "dist").glob("*.whl")
    return wheel


def requirements(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = Parser().parsestr(archive.read(name).decode())
    return {
        r.split(">")[0].split("<")[0].split("=")[0].strip()
        for r in metadata.get_all("Requires-Dist") or []
    }


def wire_only_environment(at: Path) -> Path:
    """A venv (no system site-packages) whose only packages are grpcio and protobuf (and
    typing_extensions, grpcio's own dependency), linked from this environment: pip would fetch
    the same releases from the index, at several seconds a run."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(at)], check=True)
    (site,) = at.glob("lib/python*/site-packages")
    (site / "google").mkdir()
    (site / "google" / "protobuf").symlink_to(Path(google.protobuf.__file__).parent)
    (site / "grpc").symlink_to(Path(grpc.__file__).parent)
    (site / "typing_extensions.py").symlink_to(Path(typing_extensions.__file__))
    return at / "bin" / "python"


def install_client(into: Path) -> Path:
    """The client wheel installed in a wire-only environment; returns that environment's python."""
    wheel = build_wheel(into)
    assert requirements(wheel) == {"grpcio", "protobuf"}
    python = wire_only_environment(into / "venv")
    pip("--python", str(python), "install", "--no-deps", "--no-index", str(wheel))
    return python


async def test_the_client_wheel_calls_a_real_server_with_no_server_dependency(
    tmp_path: Path, runtime: Runtime
) -> None:
    started = time.monotonic()
    python = await asyncio.to_thread(install_client, tmp_path)
    running = await serve_on_loopback("accounts", runtime)
    try:
        caller = await asyncio.create_subprocess_exec(
            str(python),
            "-I",
            "-c",
            CALLER,
            f"127.0.0.1:{running.port}",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=tmp_path,
        )
        out, err = await asyncio.wait_for(caller.communicate(), timeout=60)
    finally:
        await running.stop(0)
    assert caller.returncode == 0, err.decode()
    assert out.decode().split() == ["account-W1", "ACCOUNT_STATUS_ACTIVE"]
    print(f"\n[client wheel] built, installed and called in {time.monotonic() - started:.1f}s")
