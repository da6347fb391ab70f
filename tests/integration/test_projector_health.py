"""The projector's gRPC health says what `harbour projections status` says: the loop as a
whole is SERVING past a poison event, and the read model stopped at it is NOT_SERVING."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from harbour.eventstore.database import Database
from harbour.eventstore.store import EventStore
from harbour.runtime.projector import HEALTH_PREFIX, run_projector
from harbour.runtime.settings import Settings
from tests.e2e.test_harbour_up import free_port_block
from tests.integration.test_poison_events import POISONED, history_with_poison

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def health_of(stub: health_pb2_grpc.HealthStub, name: str) -> int:
    try:
        reply = await stub.Check(health_pb2.HealthCheckRequest(service=name), timeout=2)
    except grpc.aio.AioRpcError:
        return -1  # not served (yet)
    return int(reply.status)


async def test_a_quarantined_read_model_is_not_serving_while_the_projector_serves(
    store: EventStore, database: Database, database_url: str
) -> None:
    await history_with_poison(store, database_url)
    port = free_port_block(1)
    settings = replace(Settings.from_env({}), database_url=database_url, port=port)
    stop = asyncio.Event()
    projector = asyncio.create_task(run_projector(settings, stop))
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            states: dict[str, int] = {}
            for _ in range(300):
                states = {
                    name: await health_of(stub, HEALTH_PREFIX + name)
                    for name in (*POISONED, "stream_heads", "prices")
                }
                if all(states[name] == NOT_SERVING for name in POISONED):
                    break
                await asyncio.sleep(0.1)
            assert all(states[name] == NOT_SERVING for name in POISONED), states
            assert states["stream_heads"] == SERVING and states["prices"] == SERVING, states
            assert await health_of(stub, "") == SERVING  # the process itself carries on
    finally:
        stop.set()
        await asyncio.wait_for(projector, 30)
