"""`harbour up` on a machine with nothing but Python: embedded PostgreSQL, migrations, services."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from harbour.runtime.settings import SERVICES


def free_port_block(size: int) -> int:
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        if base + size < 65535 and all(_free(base + i) for i in range(size)):
            return base
    raise RuntimeError("no free port block")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def wait_serving(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                reply = health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(), timeout=1
                )
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
        except grpc.RpcError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"nothing SERVING on port {port}")


def test_up_serves_every_service_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    base = free_port_block(len(SERVICES))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARBOUR_")}
    env.update(HARBOUR_DATA_DIR=str(tmp_path / "data"), HARBOUR_PORT_BASE=str(base))
    process = subprocess.Popen(
        [sys.executable, "-m", "harbour.runtime.cli", "up"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        for offset, _ in enumerate(SERVICES):
            wait_serving(base + offset, deadline)
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    for offset, name in enumerate(SERVICES):
        assert f"{name:<12} 127.0.0.1:{base + offset}" in output
    assert "harbour stopped" in output
    assert (tmp_path / "data" / "pgdata" / "PG_VERSION").exists()
