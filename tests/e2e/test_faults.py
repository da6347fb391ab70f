"""Faults under load: services killed with SIGKILL and restarted, PostgreSQL restarted,
connections dropped, under the margin-lending mix of bench/workload.py (onboarding, deposits,
withdrawals, draws, repayments, price ticks) against the accounts, collateral and lending
services. Clients retry with the same request_id; afterwards every acknowledged command is
applied exactly once and every invariant holds (trial balance, read models equal to a
rebuild, every principal within its credit limit, the broker's exposure equal to the
principals and within the policy's limits). HARBOUR_FAULT_ROUNDS sets how many rounds of the
three faults run (default 1; `make faults` runs 20).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import grpc
import psycopg
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench.common import token_env
from bench.workload import Workload, check
from harbour.runtime.database import migrate
from harbour.runtime.embedded import EmbeddedPostgres, ensure_database, start_embedded
from harbour.runtime.settings import libpq_url, url_with_database
from tests.e2e.test_harbour_up import free_port_block
from tests.pg import new_data_root, remove_data_root

ROUNDS = int(os.environ.get("HARBOUR_FAULT_ROUNDS", "1"))


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[tuple[EmbeddedPostgres, str]]:
    root = new_data_root("harbour-faults-")
    server = start_embedded(root / "pgdata", delete_on_exit=True)
    ensure_database(server.url, "faults")
    url = url_with_database(server.url, "faults")
    migrate(url)
    try:
        yield server, url
    finally:
        server.stop()
        remove_data_root(root)


SERVED = ("accounts", "collateral", "lending")


class Service:
    """`harbour serve <name>` as a child process that can be killed and restarted."""

    def __init__(self, name: str, url: str, port: int) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HARBOUR_")}
        env.update(HARBOUR_DATABASE_URL=url, HARBOUR_PORT=str(port), HARBOUR_LOG_LEVEL="ERROR")
        env.update(token_env())  # the workload's callers present bearer tokens
        self.name, self._env, self.port = name, env, port
        self.process: subprocess.Popen[bytes] | None = None
        self.log = Path(tempfile.gettempdir()) / f"harbour-faults-{name}-{port}.log"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: ASYNC220 - Popen returns at once
                [sys.executable, "-m", "harbour.runtime.cli", "serve", self.name],
                env=self._env,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        async with grpc.aio.insecure_channel(f"127.0.0.1:{self.port}") as channel:
            health = health_pb2_grpc.HealthStub(channel)
            for _ in range(300):
                try:
                    reply = await health.Check(health_pb2.HealthCheckRequest(), timeout=1)
                    if reply.status == health_pb2.HealthCheckResponse.SERVING:
                        return
                except grpc.aio.AioRpcError:
                    await asyncio.sleep(0.1)
        raise AssertionError(
            f"the {self.name} service did not come up (exit {self.process.poll()}):\n"
            + self.log.read_text()[-3000:]
        )

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)


@pytest.fixture
async def services(
    own_postgres: tuple[EmbeddedPostgres, str],
) -> AsyncIterator[dict[str, Service]]:
    base = free_port_block(len(SERVED))
    running = {name: Service(name, own_postgres[1], base + i) for i, name in enumerate(SERVED)}
    try:
        await asyncio.gather(*(service.start() for service in running.values()))
        yield running
    finally:
        for service in running.values():
            service.stop()


def drop_connections(url: str) -> int:
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return len(rows)


def risk_monitor_lag(url: str) -> int:
    """Events past the risk monitor's checkpoint (the monitor follows the feed like a
    projection and stores its place the same way)."""
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM events e WHERE NOT EXISTS ("
            " SELECT FROM projection_checkpoints c WHERE c.name = 'risk_monitor'"
            " AND (e.txid, e.position) <= (c.txid, c.position))"
        ).fetchone()
    return int(row[0]) if row else 0


@pytest.mark.parametrize("round_", range(ROUNDS))
async def test_every_acknowledged_command_applies_exactly_once_through_faults(
    own_postgres: tuple[EmbeddedPostgres, str], services: dict[str, Service], round_: int
) -> None:
    server, url = own_postgres
    addresses = {name: service.address for name, service in services.items()}
    workload = Workload(addresses, clients=24, seed=round_ + 1)
    # Long enough that every fault below lands mid-load even on a busy machine (restarting
    # two or three services takes seconds there): a PostgreSQL restart after the load would
    # leave no connection to drop.
    load = asyncio.create_task(workload.run(callers=12, seconds=12))

    # SIGKILL mid-load: in-flight commands get no answer and are retried. Lending and
    # accounts every round (a draw's two streams, the movements), collateral every other.
    killed = [services["lending"], services["accounts"]]
    if round_ % 2:
        killed.append(services["collateral"])
    await asyncio.sleep(2.0)  # after the setup: the mix is running
    for service in killed:
        service.kill()
    await asyncio.sleep(0.3)
    await asyncio.gather(*(service.start() for service in killed))

    await asyncio.sleep(1.0)
    await asyncio.to_thread(server.restart)  # every pooled connection is now broken

    await asyncio.sleep(1.0)
    assert await asyncio.to_thread(drop_connections, url) > 0

    stats = await load
    assert len(stats.acknowledged) > 100, "the load barely ran"
    assert stats.retries > 0, "no fault was felt: the test proves nothing"
    lending = {"DrawLoan", "RepayLoan", "ApproveFacility"}
    assert lending & set(stats.commands), f"no lending command was acknowledged: {stats.commands}"
    # The background loops lived through the kills and the PostgreSQL restart: the lending
    # service's risk monitor reaches the head of the feed by itself (no restart by the test).
    behind = await asyncio.to_thread(risk_monitor_lag, url)
    for _ in range(300):
        if behind == 0:
            break
        await asyncio.sleep(0.1)
        behind = await asyncio.to_thread(risk_monitor_lag, url)
    assert behind == 0, f"the risk monitor stayed {behind} events behind after the faults"
    for service in services.values():
        service.stop()  # nothing writes any more (the risk monitor included)
    verify = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "harbour.runtime.cli", "projections", "verify"],
        env={**os.environ, "HARBOUR_DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=300,
    )
    problems = check(libpq_url(url), stats)  # after verify: it caught the read models up
    assert verify.returncode == 0, verify.stdout + verify.stderr + "\n".join(problems)
    assert "trial balance: zero for every asset" in verify.stdout
    assert problems == []
