"""A newcomer's `make up`, then the CLI in another terminal: "ready" means every service
answers, and the CLI finds `up`'s database — or says in one line where it is."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from harbour.runtime.settings import SERVICES
from tests.e2e.test_harbour_up import free_port_block

READY = "harbour is ready"


def status_now(port: int) -> str:
    """One health check, no waiting: what the service answers at this moment."""
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=2
            )
    except grpc.RpcError as exc:
        return f"no answer ({exc.code().name})"
    return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)


def lines_of(process: subprocess.Popen[str]) -> queue.Queue[str]:
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    return lines


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A home of its own, so that `up`'s default data directory is this test's."""
    return tmp_path / "home"


@pytest.fixture
def newcomer_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARBOUR_")}
    env.update(HOME=str(home), HARBOUR_LOG_LEVEL="WARNING")
    return env


@pytest.fixture
def up(newcomer_env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[str], int]]:
    base = free_port_block(len(SERVICES) + 1)  # the projector's health port follows them
    process = subprocess.Popen(
        [sys.executable, "-m", "harbour.runtime.cli", "up", "--dev"],
        env={**newcomer_env, "HARBOUR_PORT_BASE": str(base)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        yield process, base
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)  # lets `up` stop its PostgreSQL too
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harbour.runtime.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_up_says_ready_only_when_every_service_serves_and_the_cli_finds_its_database(
    up: tuple[subprocess.Popen[str], int], newcomer_env: dict[str, str], home: Path
) -> None:
    process, base = up
    lines = lines_of(process)
    said: list[str] = []
    deadline = time.monotonic() + 120
    while not any(READY in line for line in said):
        assert process.poll() is None, "".join(said)
        try:
            said.append(lines.get(timeout=max(0.1, deadline - time.monotonic())))
        except queue.Empty:
            raise AssertionError("up never said ready:\n" + "".join(said)) from None
    # The moment it says so, every service answers SERVING, with no waiting.
    statuses = {name: status_now(base + offset) for offset, name in enumerate(SERVICES)}
    assert statuses == dict.fromkeys(SERVICES, "SERVING"), "".join(said)
    before_ready = "".join(said[:-1])
    assert "harbour: starting" in before_ready and READY not in before_ready, before_ready

    # Another terminal, the same defaults: the CLI uses the database `up` runs.
    verified = cli("audit", "verify", env=newcomer_env)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "streams checked: intact" in verified.stdout

    # Another HARBOUR_DATA_DIR: one line saying where `up`'s database is; nothing created.
    elsewhere = home / "elsewhere"
    started = time.monotonic()
    lost = cli("audit", "verify", env={**newcomer_env, "HARBOUR_DATA_DIR": str(elsewhere)})
    assert time.monotonic() - started < 15
    assert lost.returncode == 2, lost.stdout + lost.stderr
    message = lost.stderr.strip().splitlines()
    assert len(message) == 1 and "Traceback" not in lost.stderr, lost.stderr
    default_pgdata = home / ".local" / "share" / "harbour" / "pgdata"
    assert f"`make up` runs one in {default_pgdata}" in message[0], message[0]
    assert "unset HARBOUR_DATA_DIR or set HARBOUR_DATABASE_URL=postgresql://" in message[0]
    assert not elsewhere.exists()
    # The URL it gives works as it is.
    url = message[0].split("HARBOUR_DATABASE_URL=", 1)[1].strip()
    pointed = cli("audit", "verify", env={**newcomer_env, "HARBOUR_DATABASE_URL": url})
    assert pointed.returncode == 0, pointed.stderr

    process.send_signal(signal.SIGINT)
    process.wait(timeout=30)
    assert process.returncode == 0
