"""A client in another language reaches the service: Node, @grpc/grpc-js, the same protos."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from harbour.runtime.server import Runtime, start_server

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "tests" / "e2e" / "node" / "client.js"
GRPC_JS = ROOT / ".tools" / "node_modules" / "@grpc" / "grpc-js"


def node_or_skip() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not on this machine")
    if not GRPC_JS.exists():
        subprocess.run(["bash", str(ROOT / "scripts" / "install_node_tools.sh")], timeout=300)
    if not GRPC_JS.exists():
        pytest.fail("@grpc/grpc-js could not be installed into .tools/ (install_node_tools.sh)")
    return node


async def test_a_node_client_onboards_and_deposits(runtime: Runtime) -> None:
    node = node_or_skip()
    running = await start_server("accounts", runtime, port=0, host="127.0.0.1")
    try:
        process = await asyncio.create_subprocess_exec(
            node,
            str(CLIENT),
            f"127.0.0.1:{running.port}",
            "NODE1",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    finally:
        await running.stop(0)
    assert process.returncode == 0, err.decode()
    reply = json.loads(out)
    assert reply["proposed"] == ["onboarding-credit-assessment", "onboarding-credit-limit"]
    assert reply["may_borrow"] is True  # once a second principal approved both
    assert reply["refusal"]["code"] == 9  # FAILED_PRECONDITION, as any gRPC client sees it
    account = reply["account"]
    assert account["status"] == "ACCOUNT_STATUS_ACTIVE"
    assert account["cash"] == [{"asset": "HKD", "value": "1234.56"}]
    assert account["position"] == reply["deposited"]["position"]
    events = await runtime.store.read_stream("account-NODE1")
    assert events[-1].type == "CashDeposited"
    assert events[-1].metadata["actor"] == "node-desk"  # the caller is recorded as the actor
