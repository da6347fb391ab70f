"""A real gRPC server on loopback, built by the same bootstrap the processes use."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import grpc
import pytest

from harbour.eventstore.database import Database
from harbour.eventstore.notify import FeedNotifier
from harbour.eventstore.store import EventStore
from harbour.runtime.server import RunningServer, Runtime, start_server, system_clock
from harbour.runtime.settings import Settings


@pytest.fixture
def settings(database_url: str) -> Settings:
    # Development mode, asked for explicitly: callers name themselves with x-harbour-principal
    # (tests/e2e/test_security.py and the role matrix use real credentials instead).
    return replace(Settings.from_env({"HARBOUR_DEV_MODE": "1"}), database_url=database_url)


@pytest.fixture
async def runtime(settings: Settings, database: Database) -> Runtime:
    store = EventStore(database, clock=system_clock, notifier=FeedNotifier(database))
    return Runtime(settings, database, store, system_clock)


async def serve_on_loopback(service: str, runtime: Runtime) -> RunningServer:
    return await start_server(service, runtime, port=0, host="127.0.0.1")


@pytest.fixture
async def audit_channel(runtime: Runtime) -> AsyncIterator[grpc.aio.Channel]:
    running = await serve_on_loopback("audit", runtime)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        yield channel
    await running.stop(0)


@pytest.fixture
async def accounts_channel(runtime: Runtime) -> AsyncIterator[grpc.aio.Channel]:
    running = await serve_on_loopback("accounts", runtime)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        yield channel
    await running.stop(0)


@pytest.fixture
async def collateral_channel(runtime: Runtime) -> AsyncIterator[grpc.aio.Channel]:
    running = await serve_on_loopback("collateral", runtime)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        yield channel
    await running.stop(0)
