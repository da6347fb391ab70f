"""Accounts benchmark: `make bench-accounts` (python -m bench.accounts).

Deposits over gRPC on distinct accounts from 16 concurrent callers against a real
`harbour serve accounts` process on an embedded PostgreSQL, next to a trivial grpc.aio echo
server measured in the same run (the ceiling of the gRPC layer on this machine). Server and
client are separate processes, as in production.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import grpc

from bench.common import Report, Row, Target, embedded_server, environment, fresh_database
from harbour.api.v1 import accounts_pb2 as pb
from harbour.api.v1 import accounts_pb2_grpc
from harbour.api.v1.common_pb2 import Amount

CALLERS = 16
CLIENTS = 64
DURATION = 6.0
WARMUP = 1.0
PLATFORM = (("x-harbour-principal", "bench:trading-platform+operator"),)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(command: list[str], env: dict[str, str], ready: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    for line in process.stdout:
        if ready in line:
            return process
    raise RuntimeError(f"{command} exited before it was ready")


async def closed_loop(
    call: Callable[[int], Awaitable[Any]], callers: int, seconds: float
) -> tuple[int, list[float]]:
    """Each caller issues calls back to back for ``seconds``; returns count and latencies."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def caller(n: int) -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            await call(n)
            latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(caller(n) for n in range(callers)))
    return len(latencies), latencies


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


async def run_echo(
    port: int, callers: int = CALLERS, seconds: float = DURATION
) -> tuple[int, list[float]]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        echo = channel.unary_unary("/bench.Echo/Echo")
        payload = b"x" * 64

        async def call(_: int) -> Any:
            return await echo(payload)

        await closed_loop(call, callers, WARMUP)
        return await closed_loop(call, callers, seconds)


async def run_deposits(port: int) -> tuple[int, list[float]]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        accounts = accounts_pb2_grpc.AccountsServiceStub(channel)
        run = uuid.uuid4().hex[:6]
        for n in range(CLIENTS):
            await accounts.OnboardClient(
                pb.OnboardClientRequest(request_id=f"{run}-on-{n}", client_id=f"B{run}{n}"),
                metadata=PLATFORM,
            )

        per_caller = CLIENTS // CALLERS
        turns = [0] * CALLERS

        async def call(n: int) -> Any:
            # Each caller rotates over accounts of its own: distinct accounts, no contention.
            turns[n] += 1
            client = f"B{run}{n * per_caller + turns[n] % per_caller}"
            return await accounts.DepositCash(
                pb.DepositCashRequest(
                    request_id=uuid.uuid4().hex,
                    client_id=client,
                    amount=Amount(asset="HKD", value="100.00"),
                    reference="bench",
                ),
                metadata=PLATFORM,
            )

        await closed_loop(call, CALLERS, WARMUP)
        return await closed_loop(call, CALLERS, DURATION)


def main() -> None:
    with embedded_server() as admin:
        url = fresh_database(admin, "bench_accounts")
        report = Report("Accounts over gRPC", environment=environment(admin))
        env = {**os.environ, "HARBOUR_DATABASE_URL": url, "HARBOUR_LOG_LEVEL": "WARNING"}
        echo_port, accounts_port = free_port(), free_port()
        before = echo_row("grpc.aio echo, before", echo_port, env)
        # Development mode, asked for: the bench names its callers with x-harbour-principal.
        service_env = {**env, "HARBOUR_PORT_BASE": str(accounts_port), "HARBOUR_DEV_MODE": "1"}
        postmaster = postmaster_pid(admin)
        statements, commits = database_counters(url)
        cpu_before = cpu_seconds_by_process(os.getpid(), postmaster)
        server = start(
            [sys.executable, "-m", "harbour.runtime.cli", "serve", "accounts"],
            service_env,
            "listening",
        )
        try:
            count, latencies = asyncio.run(run_deposits(accounts_port))
        finally:
            server.terminate()
            server.wait()
        p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
        report.rows.append(
            Row(
                "DepositCash",
                CALLERS,
                count,
                DURATION,
                baseline="grpc.aio echo (ceiling)",
                note=f"p50 {p50:.2f} ms, p99 {p99:.2f} ms",
            )
        )
        ratio = report.ratio("DepositCash", "grpc.aio echo (ceiling)")
        report.targets = [
            Target("deposits / echo throughput", ratio, 0.5, "x"),
            Target("deposit p99 headroom (20 ms - p99)", 20 - p99, 0, "ms"),
        ]
    print(report.markdown())
    for row in report.rows:
        print(f"{row.scenario}: {row.note}")
    report.save("accounts")


if __name__ == "__main__":
    main()
