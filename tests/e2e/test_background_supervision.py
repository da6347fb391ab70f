"""Background work through a PostgreSQL outage: the accounts, collateral and lending servers
(and the projector's loop) run in this process against a PostgreSQL of their own, which the
tests stop and start again under them.

The risk monitor must come back by itself: while it is down the lending service's health is
NOT_SERVING, afterwards SERVING, and a price crash posted after the restart still ends in a
margin call written by the monitor — nothing restarted by hand. A command during the outage
answers UNAVAILABLE with the retry-safe message, and its retry with the same request_id
applies it exactly once. The limit monitor, the liquidation engine and the audit service's
checkpoint publisher come back the same way and do their work after the restart.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import grpc
import psycopg
import pytest
import sqlalchemy as sa
from grpc_health.v1 import health_pb2, health_pb2_grpc

from harbour.accounts.projections import Balances
from harbour.api.v1 import (
    accounts_pb2_grpc,
    collateral_pb2,
    collateral_pb2_grpc,
    lending_pb2,
    lending_pb2_grpc,
)
from harbour.api.v1.common_pb2 import Price
from harbour.audit.keys import generate_key_files, load_public_key
from harbour.audit.proofs import Checkpoint, open_checkpoint
from harbour.eventstore.database import Database
from harbour.eventstore.notify import FeedNotifier
from harbour.eventstore.store import EventStore
from harbour.ledger.limits import LIMITS_STREAM
from harbour.lending.projections import Loans, MarginCalls
from harbour.runtime.database import migrate, open_database
from harbour.runtime.embedded import EmbeddedPostgres, ensure_database, start_embedded
from harbour.runtime.projector import read_model_loop
from harbour.runtime.server import RunningServer, Runtime, start_server
from harbour.runtime.settings import Settings, url_with_database
from harbour.runtime.supervisor import Loop, Supervisor
from tests.e2e.callers import FEED, PLATFORM, ManualClock, at, rid
from tests.e2e.test_lending_service import Stack, hkd
from tests.pg import new_data_root, remove_data_root

T = TypeVar("T")
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
TEMPLATE = "supervision_template"
PUBLISHER = "checkpoint-publisher"
_databases = itertools.count(1)


@pytest.fixture(scope="module")
def restartable_postgres() -> Iterator[EmbeddedPostgres]:
    root = new_data_root("harbour-supervision-")
    server = start_embedded(root / "pgdata", delete_on_exit=True)
    ensure_database(server.url, TEMPLATE)
    migrate(url_with_database(server.url, TEMPLATE))
    try:
        yield server
    finally:
        server.stop()
        remove_data_root(root)


@dataclass
class Deployment:
    stack: Stack
    postgres: EmbeddedPostgres
    lending: RunningServer
    projector: Supervisor
    health: HealthLog

    @asynccontextmanager
    async def postgres_down(self) -> AsyncIterator[None]:
        """PostgreSQL stopped for the block, started again after it (also when it fails)."""
        await asyncio.to_thread(self.postgres.pause)
        try:
            yield
        finally:
            await asyncio.to_thread(self.postgres.resume)


class HealthLog:
    """The lending service's health, asked every 50 ms over gRPC while a test runs."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = health_pb2_grpc.HealthStub(channel)
        self.seen: list[Any] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._watch())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _watch(self) -> None:
        while True:
            try:
                reply = await self._stub.Check(health_pb2.HealthCheckRequest(), timeout=2)
                self.seen.append(reply.status)
            except grpc.aio.AioRpcError as failure:  # the server itself did not answer
                self.seen.append(failure.code())
            await asyncio.sleep(0.05)

    async def until(self, status: Any, within: float) -> None:
        """Wait until health was last seen as ``status``."""
        await until(lambda: bool(self.seen) and self.seen[-1] == status, within)


async def until(condition: Callable[[], bool], within: float) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {within}s")
        await asyncio.sleep(0.05)


async def retrying(call: Callable[[], Awaitable[T]], within: float = 30.0) -> T:
    """What a client does on UNAVAILABLE: the same request again, after a pause."""
    deadline = time.monotonic() + within
    while True:
        try:
            return await call()
        except grpc.aio.AioRpcError as failure:
            if failure.code() != grpc.StatusCode.UNAVAILABLE or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


@pytest.fixture
async def deployment(restartable_postgres: EmbeddedPostgres) -> AsyncIterator[Deployment]:
    postgres = restartable_postgres
    name = f"supervision_{next(_databases)}"
    with psycopg.connect(postgres.url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
    url = url_with_database(postgres.url, name)
    # A short wait for a pooled connection, so a command during the outage answers soon.
    database: Database = await open_database(url, pool_size=8, wait_timeout=2.0)
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
    store = EventStore(database, clock=clock, notifier=FeedNotifier(database))
    settings = replace(Settings.from_env({"HARBOUR_DEV_MODE": "1"}), database_url=url)
    runtime = Runtime(settings, database, store, clock)
    servers = [
        await start_server(service, runtime, port=0, host="127.0.0.1")
        for service in ("accounts", "collateral", "lending")
    ]
    channels = [grpc.aio.insecure_channel(f"127.0.0.1:{s.port}") for s in servers]
    stack = Stack(
        accounts_pb2_grpc.AccountsServiceStub(channels[0]),
        collateral_pb2_grpc.CollateralServiceStub(channels[1]),
        lending_pb2_grpc.LendingServiceStub(channels[2]),
        store,
        clock,
    )
    # The read models the risk monitor and the scheduler read (holders, borrowers, calls),
    # kept by the projector's own loop under its own supervisor.
    projector = Supervisor(
        [Loop("projector", read_model_loop(runtime, [Balances(), Loans(), MarginCalls()], pace=0))]
    )
    projector.start()
    health = HealthLog(channels[2])
    await stack.policy(**{"haircut.0700.HK": "0.30"})
    await stack.price("BTC", "500000.00")
    await stack.price("0700.HK", "400.00")
    try:
        yield Deployment(stack, postgres, servers[2], projector, health)
    finally:
        await health.stop()
        await projector.stop()
        for channel in channels:
            await channel.close()
        for server in servers:
            await server.stop(0)
        await database.close()


async def a_borrower_at(deployment: Deployment, client: str, draw: str) -> None:
    """A borrower with 1,000 0700.HK and 1 BTC who drew ``draw`` and took the cash out."""
    stack = deployment.stack
    await stack.borrower(client)
    await stack.draw(client, draw)
    await stack.withdraw_cash(client, draw)
    async with stack.store.engine.connect() as conn:  # the projector knows the debt

        async def loan_projected() -> bool:
            amount = await conn.scalar(
                sa.text("SELECT amount FROM balances WHERE ledger_account = :account"),
                {"account": f"client:{client}:loan"},
            )
            await conn.rollback()
            return amount is not None and amount < 0

        for _ in range(200):
            if await loan_projected():
                return
            await asyncio.sleep(0.05)
    raise AssertionError("the projector did not take the loan")


async def test_the_risk_monitor_survives_a_postgres_restart_and_calls_margin_after_it(
    deployment: Deployment,
) -> None:
    stack, lending = deployment.stack, deployment.lending
    assert lending.supervisor is not None
    await a_borrower_at(deployment, "C1", "400000.00")  # U = 0.833334: healthy
    deployment.health.start()
    await deployment.health.until(SERVING, within=5)

    async with deployment.postgres_down():
        # The monitor's LISTEN connection is gone: it is down, and health says so.
        await deployment.health.until(NOT_SERVING, within=15)
        assert not lending.supervisor.status("risk-monitor").up

    # A price crash right after the restart (retried while the pools reconnect): 0700.HK at
    # 280 makes CV 392,000 for a debt of 400,000 -> U 1.0204, a margin call.
    stack.clock.advance(timedelta(seconds=1))  # later than the last observation
    crash = collateral_pb2.RecordPriceRequest(
        request_id=rid(),
        price=Price(base_asset="0700.HK", quote_asset="HKD", value="280.00"),
        observed_at=at(stack.clock.now),
        source="vendor-a",
    )
    recorded = await retrying(lambda: stack.collateral.RecordPrice(crash, metadata=FEED))
    assert recorded.accepted, recorded.rejection_reason

    await deployment.health.until(SERVING, within=30)
    calls: list[Any] = []
    for _ in range(300):
        events = await stack.store.read_stream("account-C1")
        calls = [e for e in events if e.type == "MarginCallIssued"]
        if calls:
            break
        await asyncio.sleep(0.05)
    assert calls, "no margin call after the restart: the risk monitor is not running"
    assert calls[0].metadata["actor"] == "risk-monitor"
    assert (await stack.loan("C1")).risk_state == "margin_call"

    # NOT_SERVING while the monitor was down, SERVING before and after: the same server.
    seen = deployment.health.seen
    first_down = seen.index(NOT_SERVING)
    assert SERVING in seen[:first_down] and seen[-1] == SERVING
    monitor = lending.supervisor.status("risk-monitor")
    assert monitor.up and monitor.restarts >= 1 and monitor.last_error
    # The projector's loop came back by itself too (its backoff may still be running).
    await until(lambda: deployment.projector.status("projector").up, within=20)
    assert deployment.projector.status("projector").restarts >= 1


async def test_a_command_during_the_outage_is_unavailable_and_its_retry_applies_once(
    deployment: Deployment,
) -> None:
    stack = deployment.stack
    await a_borrower_at(deployment, "C2", "100000.00")
    draw = lending_pb2.DrawLoanRequest(request_id=rid(), client_id="C2", amount=hkd("1000.00"))

    async with deployment.postgres_down():
        started = time.monotonic()
        with pytest.raises(grpc.aio.AioRpcError) as during:
            await stack.lending.DrawLoan(draw, metadata=PLATFORM, timeout=30)
        answered_in = time.monotonic() - started
    assert during.value.code() == grpc.StatusCode.UNAVAILABLE, during.value
    message = during.value.details() or ""
    assert "database is unavailable" in message
    assert "may or may not have been applied" in message
    assert "retry with the same request_id" in message
    assert answered_in < 10, f"the caller waited {answered_in:.1f}s to hear of the outage"

    resumed = time.monotonic()
    drawn = await retrying(lambda: stack.lending.DrawLoan(draw, metadata=PLATFORM))
    assert time.monotonic() - resumed < 15, "commands did not answer again within seconds"
    again = await stack.lending.DrawLoan(draw, metadata=PLATFORM)  # the same request_id
    assert (again.result.position, again.result.replayed) == (drawn.result.position, True)
    advances = [
        e
        for e in await stack.store.read_stream("account-C2")
        if e.type == "LoanAdvanced" and e.metadata.get("request_id") == draw.request_id
    ]
    assert len(advances) == 1
    assert (await stack.loan("C2")).principal.value == "101000.00"


async def test_the_liquidation_engine_survives_a_postgres_restart_and_sells_after_it(
    deployment: Deployment,
) -> None:
    stack = deployment.stack
    dev = Settings.from_env({"HARBOUR_DEV_MODE": "1"})
    runtime = Runtime(dev, stack.store.database, stack.store, stack.clock)
    liquidation = await start_server("liquidation", runtime, port=0, host="127.0.0.1")
    assert liquidation.supervisor is not None
    try:
        await a_borrower_at(deployment, "C1", "400000.00")
        await until(lambda: liquidation.supervisor.status("liquidation-engine").up, within=10)
        # Its LISTEN connection is gone: the engine's loop is down.
        async with deployment.postgres_down():
            await until(lambda: not liquidation.supervisor.status("liquidation-engine").up, 15)
        # After the restart: BTC -50% and the shares to 290 -> U 1.32, a forced sale.
        for code, value in (("BTC", "250000.00"), ("0700.HK", "290.00")):
            stack.clock.advance(timedelta(seconds=1))
            tick = collateral_pb2.RecordPriceRequest(
                request_id=rid(),
                price=Price(base_asset=code, quote_asset="HKD", value=value),
                observed_at=at(stack.clock.now),
                source="vendor-a",
            )
            await retrying(lambda tick=tick: stack.collateral.RecordPrice(tick, metadata=FEED))
        await retrying(lambda: stack.check("C1"))
        history: list[str] = []
        for _ in range(600):
            history = [e.type for e in await stack.store.read_stream("account-C1")]
            if "LiquidationCompleted" in history:
                break
            await asyncio.sleep(0.05)
        assert "LiquidationCompleted" in history, "the engine did not sell after the restart"
        engine = liquidation.supervisor.status("liquidation-engine")
        assert engine.up and engine.restarts >= 1
    finally:
        await liquidation.stop(0)


async def test_the_limit_monitor_survives_a_postgres_restart_and_records_a_breach_after_it(
    deployment: Deployment,
) -> None:
    stack, lending = deployment.stack, deployment.lending
    supervisor = lending.supervisor
    assert supervisor is not None
    # BTC held at the broker limited to 0.005 x capital = 500,000.00: the 1 BTC in custody
    # (at 500,000) is at the limit, not over it.
    await stack.policy(**{"limit.asset_exposure.BTC": "0.005"})
    await stack.borrower("C1")
    await until(lambda: supervisor.status("limit-monitor").up, within=10)
    deployment.health.start()
    await deployment.health.until(SERVING, within=5)

    # Its LISTEN connection is gone: the limit monitor is down, and health says so.
    async with deployment.postgres_down():
        await until(lambda: not supervisor.status("limit-monitor").up, within=15)
        await deployment.health.until(NOT_SERVING, within=5)

    # After the restart BTC rises past the limit: a breach only a running monitor records.
    stack.clock.advance(timedelta(seconds=1))
    rise = collateral_pb2.RecordPriceRequest(
        request_id=rid(),
        price=Price(base_asset="BTC", quote_asset="HKD", value="510000.00"),
        observed_at=at(stack.clock.now),
        source="vendor-a",
    )
    await retrying(lambda: stack.collateral.RecordPrice(rise, metadata=FEED))
    breaches: list[Any] = []
    for _ in range(300):
        events = await stack.store.read_stream(LIMITS_STREAM)
        breaches = [e for e in events if e.type == "BrokerLimitBreached"]
        if breaches:
            break
        await asyncio.sleep(0.05)
    assert breaches, "no limit breach after the restart: the limit monitor is not running"
    assert breaches[0].data["subject"] == "BTC"
    assert breaches[0].metadata["actor"] == "limit-monitor"

    await deployment.health.until(SERVING, within=15)
    seen = deployment.health.seen
    assert SERVING in seen[: seen.index(NOT_SERVING)]
    monitor = supervisor.status("limit-monitor")
    assert monitor.up and monitor.restarts >= 1 and monitor.last_error


async def test_the_checkpoint_publisher_survives_a_postgres_restart_and_signs_after_it(
    deployment: Deployment, tmp_path: Path
) -> None:
    stack = deployment.stack
    key = tmp_path / "audit.pem"
    public, _ = generate_key_files(key)
    folder = tmp_path / "checkpoints"
    dev = Settings.from_env({"HARBOUR_DEV_MODE": "1"})
    settings = replace(dev, audit_signing_key=key, checkpoint_every_s=1, checkpoint_dir=folder)
    runtime = Runtime(settings, stack.store.database, stack.store, stack.clock)
    audit = await start_server("audit", runtime, port=0, host="127.0.0.1")
    supervisor = audit.supervisor
    assert supervisor is not None
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{audit.port}")
    health = HealthLog(channel)
    try:
        await until(lambda: supervisor.status(PUBLISHER).up, within=10)  # the first, at once
        health.start()
        await health.until(SERVING, within=5)

        # Its next round finds no database: the publisher is down, and health says so.
        async with deployment.postgres_down():
            await until(lambda: not supervisor.status(PUBLISHER).up, within=15)
            await health.until(NOT_SERVING, within=5)

        # An event written after the restart is in a checkpoint signed after it.
        stack.clock.advance(timedelta(seconds=1))
        tick = collateral_pb2.RecordPriceRequest(
            request_id=rid(),
            price=Price(base_asset="BTC", quote_asset="HKD", value="499000.00"),
            observed_at=at(stack.clock.now),
            source="vendor-a",
        )
        recorded = await retrying(lambda: stack.collateral.RecordPrice(tick, metadata=FEED))
        position = recorded.result.position
        trusted = load_public_key(public)
        signed: list[Checkpoint] = []

        def covering() -> bool:
            for path in sorted(folder.glob("checkpoint-*.json")):
                opened = open_checkpoint(path.read_text(), trusted)  # refused if badly signed
                if opened.global_position >= position:
                    signed.append(opened)
            return bool(signed)

        await until(covering, within=15)
        await health.until(SERVING, within=5)
        seen = health.seen
        assert SERVING in seen[: seen.index(NOT_SERVING)]
        publisher = supervisor.status(PUBLISHER)
        assert publisher.up and publisher.restarts >= 1 and publisher.last_error
    finally:
        await health.stop()
        await channel.close()
        await audit.stop(0)
