"""Accounts benchmark: `make bench-accounts` (python -m bench.accounts).

Deposits over gRPC on distinct accounts from 16 concurrent callers against a real
`harbour serve accounts` process on an embedded PostgreSQL, next to a trivial grpc.aio echo
server measured in the same run, before and after the deposits (the ceiling of the gRPC layer
on this machine; the ratio is to their mean). Server and client are separate processes, as in
production. Then the same echo server making one ``EventStore.append`` per call (one event and
its command-log row, as the accounts role, on streams rotated as the deposits rotate accounts):
the ceiling of any command path here, which DepositCash is also put next to.

Also per timed deposit: the database round trips (transactions ended: every statement is
one), the commits that wrote (xids assigned: an append, a NOTIFY of its own), and the CPU of
the service and of this benchmark's PostgreSQL (its postmaster's processes only, exited ones
included), next to the echo server's CPU per call.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import grpc

from bench.common import (
    Report,
    Row,
    Target,
    cpu_seconds_by_process,
    database_counters,
    embedded_server,
    environment,
    fresh_database,
    postmaster_pid,
    process_cpu_seconds,
    token_caller,
    token_env,
)
from harbour.api.v1 import accounts_pb2 as pb
from harbour.api.v1 import accounts_pb2_grpc
from harbour.api.v1.common_pb2 import Amount

CALLERS = 16
CLIENTS = 64
DURATION = 6.0
WARMUP = 1.0
STATS_SETTLE = 11.0  # PostgreSQL's PGSTAT_IDLE_INTERVAL and a second
PLATFORM = token_caller("bench:trading-platform+operator")
# The command path's ceiling: the echo plus the one append a deposit ends in, nothing decided.
APPEND_CEILING = "grpc.aio echo + one EventStore.append (the command path's ceiling)"


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
        per_caller = CLIENTS // callers
        turns = [0] * callers

        async def call(n: int) -> Any:
            # The payload names a stream (the appending echo's): each caller rotates over
            # streams of its own, as the deposits rotate over accounts of their own.
            turns[n] += 1
            return await echo(str(n * per_caller + turns[n] % per_caller).encode())

        await closed_loop(call, callers, WARMUP)
        return await closed_loop(call, callers, seconds)


async def run_deposits(
    port: int, before_timed: Callable[[], None] = lambda: None
) -> tuple[int, list[float]]:
    """The timed deposits; ``before_timed`` runs between the warm-up and them."""
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
        before_timed()
        return await closed_loop(call, CALLERS, DURATION)


def echo_row(
    name: str,
    port: int,
    env: Mapping[str, str],
    url: str | None = None,
    *,
    callers: int = CALLERS,
    seconds: float = DURATION,
) -> Row:
    """The echo server (or, given a database URL, the echo that appends) measured alone: the
    gRPC layer's ceiling on this machine, now, at ``callers`` for ``seconds``."""
    command = [sys.executable, "-m", "bench.echo_server", str(port)]
    echo = start(command if url is None else [*command, url], dict(env), "ready")
    try:
        count, latencies = asyncio.run(run_echo(port, callers, seconds))
        cpu = process_cpu_seconds(echo.pid)
    finally:
        echo.terminate()
        echo.wait()
    return Row(
        name,
        callers,
        count,
        seconds,
        note=f"p50 {percentile(latencies, 0.5):.2f} ms, p99 {percentile(latencies, 0.99):.2f} ms; "
        f"echo server CPU {cpu * 1000 / count:.2f} ms per call (warm-up included)",
    )


def main() -> None:
    with embedded_server() as admin:
        url = fresh_database(admin, "bench_accounts")
        report = Report("Accounts over gRPC", environment=environment(admin))
        env = {**os.environ, "HARBOUR_DATABASE_URL": url, "HARBOUR_LOG_LEVEL": "WARNING"}
        echo_port, accounts_port = free_port(), free_port()
        before = echo_row("grpc.aio echo, before", echo_port, env)
        service_env = {**env, "HARBOUR_PORT_BASE": str(accounts_port), **token_env()}
        postmaster = postmaster_pid(admin)
        counted: list[tuple[tuple[int, int], dict[str, float]]] = []

        def count_from_here() -> None:
            # An idle backend reports its statistics within PGSTAT_IDLE_INTERVAL (10 s): then
            # the counters hold every statement of the onboarding and the warm-up.
            time.sleep(STATS_SETTLE)
            counted.append((database_counters(url), cpu_seconds_by_process(0, postmaster)))

        server = start(
            [sys.executable, "-m", "harbour.runtime.cli", "serve", "accounts"],
            service_env,
            "listening",
        )
        try:
            count, latencies = asyncio.run(run_deposits(accounts_port, count_from_here))
            cpu_after = cpu_seconds_by_process(0, postmaster)
        finally:
            server.terminate()
            server.wait()
        # The service's backends have exited: their statistics are in the counters now.
        statements_after, commits_after = database_counters(url)
        ((statements, commits), cpu_before), commands = counted[0], count
        round_trips = (statements_after - statements) / commands
        written = (commits_after - commits) / commands
        cpu = {
            part: (cpu_after.get(part, 0.0) - cpu_before.get(part, 0.0)) * 1000 / commands
            for part in ("accounts", "postgresql")
        }
        after = echo_row("grpc.aio echo, after", echo_port, env)
        ceiling = Row(
            "grpc.aio echo (ceiling: mean of before and after)",
            CALLERS,
            (before.events + after.events) // 2,
            DURATION,
        )
        appending = echo_row(APPEND_CEILING, echo_port, env, url)
        appending.baseline = ceiling.scenario
        report.rows += [before, after, ceiling, appending]
        p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
        report.rows.append(
            Row(
                "DepositCash",
                CALLERS,
                count,
                DURATION,
                baseline=ceiling.scenario,
                note=f"p50 {p50:.2f} ms, p99 {p99:.2f} ms; per command: {round_trips:.2f} "
                f"database round trips, {written:.2f} commits, CPU ms accounts "
                f"{cpu['accounts']:.2f} + PostgreSQL {cpu['postgresql']:.2f}; "
                f"{count / appending.events:.2f}x the echo that appends",
            )
        )
        ratio = report.ratio("DepositCash", ceiling.scenario)
        report.targets = [
            Target("deposits / echo throughput (issue #13)", ratio, 0.35, "x"),
            Target("round trips per deposit (1 at most; shown negated)", -round_trips, -1.0, ""),
            Target("commits per deposit (1 at most; shown negated)", -written, -1.0, ""),
        ]
    report.publish("accounts")


if __name__ == "__main__":
    main()
