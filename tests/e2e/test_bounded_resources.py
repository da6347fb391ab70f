"""Bounded resources, through real servers on loopback and a real PostgreSQL.

Hundreds of open subscriptions share one LISTEN connection and stop at a cap with
RESOURCE_EXHAUSTED; a subscriber that stops reading is cut with the checkpoint to resume from;
a 100,000-account valuation leaves other callers answered within 100 ms; a statement that
would outlive its caller's deadline (or the server's statement timeout) is cancelled in
PostgreSQL and answered DEADLINE_EXCEEDED.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

import grpc
import psycopg
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from harbour.api.v1 import audit_pb2, audit_pb2_grpc, collateral_pb2, collateral_pb2_grpc
from harbour.eventstore.model import NewEvent
from harbour.runtime.limits import OpenStreams
from harbour.runtime.server import RunningServer, Runtime, start_server
from harbour.runtime.settings import libpq_url

Metadata = tuple[tuple[str, str], ...]


def caller(name: str, roles: str = "auditor") -> Metadata:
    return (("x-harbour-principal", f"{name}:{roles}"),)


def error_info(error: grpc.aio.AioRpcError) -> error_details_pb2.ErrorInfo:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None, error
    info = error_details_pb2.ErrorInfo()
    assert any(detail.Unpack(info) for detail in status.details)
    return info


async def serve(service: str, runtime: Runtime, **limits: Any) -> RunningServer:
    """A server with these settings, and its own count of open streams (``open_streams``)."""
    limited = replace(runtime, settings=replace(runtime.settings, **limits), streams=None)
    running = await start_server(service, limited, port=0, host="127.0.0.1")
    _streams[running.port] = limited.open_streams()
    return running


_streams: dict[int, OpenStreams] = {}


def open_streams(running: RunningServer) -> int:
    return _streams[running.port].total


def channel(port: int) -> grpc.aio.Channel:
    # Its own connection (not the process-wide subchannel pool): a connection carries at most
    # HARBOUR_GRPC_MAX_CONCURRENT_STREAMS calls, as a real client fleet would find.
    return grpc.aio.insecure_channel(
        f"127.0.0.1:{port}", options=[("grpc.use_local_subchannel_pool", 1)]
    )


async def seed(runtime: Runtime, events: int, *, size: int = 0, stream: str = "account-S") -> None:
    """``events`` events on one stream, in batches (each ~``size`` bytes of data)."""
    version = await runtime.store.stream_version(stream)
    for start in range(0, events, 200):
        batch = [
            NewEvent("CashDeposited", {"amount": f"{n}.00", "asset": "HKD", "note": "x" * size})
            for n in range(start, min(start + 200, events))
        ]
        result = await runtime.store.append(stream, batch, expected_version=version)
        version = result.version


def backends(url: str) -> dict[str, int]:
    """Server-wide connections now: in total, LISTENing on the feed, and the server's max."""
    with psycopg.connect(libpq_url(url), autocommit=True) as admin:
        total, listening = admin.execute(
            "SELECT count(*), count(*) FILTER (WHERE query ILIKE 'LISTEN%%') "
            "FROM pg_stat_activity WHERE backend_type = 'client backend'"
        ).fetchone()  # type: ignore[misc]
        maximum = int(admin.execute("SHOW max_connections").fetchone()[0])  # type: ignore[index]
    return {"total": int(total), "listening": int(listening), "max": maximum}


# ----------------------------------------------------------------------------- subscribers


async def first_message_or_status(call: Any) -> Any:
    """The subscription's first message, or the status it was refused with."""
    try:
        return await call.read()
    except grpc.aio.AioRpcError as refused:
        return refused


async def test_300_subscribers_share_one_listen_connection_and_those_over_the_cap_are_refused(
    runtime: Runtime, database_url: str
) -> None:
    await seed(runtime, 3)
    running = await serve("audit", runtime, max_streams=250, max_streams_per_caller=100)
    channels = [channel(running.port) for _ in range(6)]  # 50 calls on each connection
    calls: list[Any] = []
    try:
        stubs = [audit_pb2_grpc.AuditServiceStub(c) for c in channels]
        for n in range(300):
            request = audit_pb2.SubscribeRequest()
            calls.append(stubs[n % 6].Subscribe(request, metadata=caller(f"desk{n % 4}")))
        firsts = await asyncio.gather(*(first_message_or_status(c) for c in calls))
        refused = [f for f in firsts if isinstance(f, grpc.aio.AioRpcError)]
        served = [c for c, f in zip(calls, firsts, strict=True) if f not in refused]
        assert {r.code() for r in refused} == {grpc.StatusCode.RESOURCE_EXHAUSTED}, refused[:1]
        assert (len(served), len(refused)) == (250, 50)
        assert "HARBOUR_MAX_STREAMS" in refused[0].details()
        assert error_info(refused[0]).reason == "too_many_streams"
        assert open_streams(running) == 250

        # PostgreSQL: one LISTEN connection for all of them, and connections to spare.
        seen = await asyncio.to_thread(backends, database_url)
        assert seen["listening"] == 1, seen
        assert seen["total"] < seen["max"] - 10, seen

        # Other callers are served meanwhile, and every open subscriber hears of new events.
        audit = audit_pb2_grpc.AuditServiceStub(channels[0])
        started = time.perf_counter()
        for _ in range(20):
            await audit.VerifyAll(audit_pb2.VerifyAllRequest(), metadata=caller("ops"), timeout=5)
        assert time.perf_counter() - started < 5.0
        await seed(runtime, 1, stream="account-NEW")
        news = await asyncio.wait_for(
            asyncio.gather(*(next_new_event(c) for c in served)), timeout=30
        )
        assert {n.event.stream_id for n in news} == {"account-NEW"}
        seen = await asyncio.to_thread(backends, database_url)
        assert seen["listening"] == 1 and seen["total"] < seen["max"] - 10, seen
    finally:
        for call in calls:
            call.cancel()
        for c in channels:
            await c.close()
        await running.stop(0)


async def next_new_event(call: Any) -> Any:
    while True:
        message = await call.read()
        if message.event.stream_id == "account-NEW":
            return message


async def test_one_caller_may_hold_only_its_share_of_streams(runtime: Runtime) -> None:
    await seed(runtime, 1)
    running = await serve("audit", runtime, max_streams_per_caller=2)
    try:
        async with channel(running.port) as conn:
            audit = audit_pb2_grpc.AuditServiceStub(conn)
            ana = [audit.Subscribe(audit_pb2.SubscribeRequest(), metadata=caller("ana"))]
            ana.append(audit.Subscribe(audit_pb2.SubscribeRequest(), metadata=caller("ana")))
            for call in ana:
                assert (await call.read()).event.position == 1
            third = audit.Subscribe(audit_pb2.SubscribeRequest(), metadata=caller("ana"))
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await third.read()
            assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert error_info(refused.value).reason == "too_many_streams_for_caller"
            assert "ana already has 2 open streams" in refused.value.details()

            bob = audit.Subscribe(audit_pb2.SubscribeRequest(), metadata=caller("bob"))
            assert (await bob.read()).event.position == 1  # another caller is not held back
            ana.pop().cancel()  # a slot given back is free again
            for _ in range(50):
                again = audit.Subscribe(audit_pb2.SubscribeRequest(), metadata=caller("ana"))
                admitted = await first_message_or_status(again)
                if not isinstance(admitted, grpc.aio.AioRpcError):
                    break
                await asyncio.sleep(0.05)
            assert admitted.event.position == 1
            for call in (*ana, bob, again):
                call.cancel()
    finally:
        await running.stop(0)


async def test_a_subscriber_that_stops_reading_is_cut_with_its_checkpoint(
    runtime: Runtime,
) -> None:
    total = 8_000
    await seed(runtime, total, size=2_000)  # ~20 MB: far more than a connection holds
    running = await serve("audit", runtime, stream_stall_ms=500)
    try:
        async with channel(running.port) as conn:
            audit = audit_pb2_grpc.AuditServiceStub(conn)
            call = audit.Subscribe(audit_pb2.SubscribeRequest(), metadata=caller("slow"))
            assert (await call.read()).event.position == 1
            # It reads nothing more; the server cuts it once a message waits 0.5 s.
            for _ in range(100):
                await asyncio.sleep(0.1)
                if open_streams(running) == 0:
                    break
            assert open_streams(running) == 0, "the stalled stream still holds its slot"

            received = [1]
            last_checkpoint = None
            with pytest.raises(grpc.aio.AioRpcError) as cut:
                while True:
                    message = await call.read()
                    assert message is not grpc.aio.EOF
                    received.append(message.event.position)
                    last_checkpoint = message.checkpoint
    finally:
        await running.stop(0)
    # Memory stayed bounded: the server stopped reading the feed for it, it did not queue the
    # feed up for a reader that was not reading.
    assert received == list(range(1, len(received) + 1))
    assert len(received) < total // 2, len(received)
    assert cut.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    info = error_info(cut.value)
    assert info.reason == "slow_consumer"
    resume = (int(info.metadata["after_txid"]), int(info.metadata["after_position"]))
    assert last_checkpoint is not None
    # Every message before the status was delivered; the one being written when the stream
    # was cut may have been too, so the resume point is the last one received or the one before.
    assert resume[1] in (received[-1], received[-2])
    assert f"position: {resume[1]}" in cut.value.details()

    # Resuming from that checkpoint carries on exactly after it.
    running = await serve("audit", runtime)
    try:
        async with channel(running.port) as conn:
            audit = audit_pb2_grpc.AuditServiceStub(conn)
            after = audit_pb2.SubscribeRequest(max_events=2)
            after.after.txid, after.after.position = str(resume[0]), resume[1]
            resumed = [m.event.position async for m in audit.Subscribe(after, metadata=caller("x"))]
            assert resumed == [resume[1] + 1, resume[1] + 2]
    finally:
        await running.stop(0)


# ----------------------------------------------------------------------------- batch reads


async def timed(call: Any) -> float:
    started = time.perf_counter()
    await call
    return time.perf_counter() - started


def percentile(samples: Sequence[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


READER = caller("desk", "risk")


@pytest.fixture
async def collateral(runtime: Runtime) -> AsyncIterator[collateral_pb2_grpc.CollateralServiceStub]:
    running = await serve("collateral", runtime)
    async with channel(running.port) as conn:
        yield collateral_pb2_grpc.CollateralServiceStub(conn)
    await running.stop(0)


def book_of(url: str, clients: int) -> list[str]:
    """``clients`` clients holding HKD cash in the balances read model (written as its owner,
    as the projector would have)."""
    with psycopg.connect(libpq_url(url), autocommit=True) as owner:
        owner.execute(
            "INSERT INTO balances (ledger_account, asset, amount) "
            "SELECT 'client:C' || n || ':cash', 'HKD', 100000 + n "
            "FROM generate_series(1, %s) AS n",
            (clients,),
        )
    return [f"C{n}" for n in range(1, clients + 1)]


async def test_a_100000_account_valuation_leaves_other_callers_answered_within_100_ms(
    collateral: collateral_pb2_grpc.CollateralServiceStub, database_url: str
) -> None:
    clients = await asyncio.to_thread(book_of, database_url, 100_000)
    policy = collateral_pb2.GetPolicyRequest()
    await collateral.GetPolicy(policy, metadata=READER)  # warm: the policy stream is cached
    alone = [await timed(collateral.GetPolicy(policy, metadata=READER)) for _ in range(200)]

    async def big() -> tuple[int, Decimal]:
        valued, cash = 0, Decimal(0)
        request = collateral_pb2.ValueAccountsRequest(client_ids=clients)
        async for chunk in collateral.ValueAccounts(request, metadata=READER, timeout=120):
            valued += len(chunk.valuations)
            cash += sum(Decimal(v.market_value.value) for v in chunk.valuations)
        return valued, cash

    batch = asyncio.create_task(big())
    latencies: list[float] = []
    while not batch.done():
        started = time.perf_counter()
        await collateral.GetPolicy(policy, metadata=READER, timeout=5)
        latencies.append(time.perf_counter() - started)
        await asyncio.sleep(0.005)
    valued, cash = await batch  # OK, never INTERNAL
    assert valued == 100_000
    assert cash == sum(Decimal(100_000 + n) / 100 for n in range(1, 100_001))
    p99 = percentile(latencies, 0.99)
    print(
        f"\nGetPolicy p99: {percentile(alone, 0.99) * 1000:.1f} ms alone, "
        f"{p99 * 1000:.1f} ms over {len(latencies)} calls during the 100,000-account batch"
    )
    assert len(latencies) >= 20
    assert p99 < 0.100, f"p99 {p99 * 1000:.0f} ms"


async def test_more_ids_than_the_cap_are_refused_as_invalid(
    collateral: collateral_pb2_grpc.CollateralServiceStub,
) -> None:
    request = collateral_pb2.ValueAccountsRequest(client_ids=[f"C{n}" for n in range(100_001)])
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        async for _ in collateral.ValueAccounts(request, metadata=READER):
            pass
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "at most 100000" in refused.value.details()


# ----------------------------------------------------------------------------- deadlines


async def lock(url: str, table: str) -> psycopg.AsyncConnection[Any]:
    """A connection holding ``table`` locked against every read until it is closed."""
    conn = await psycopg.AsyncConnection.connect(libpq_url(url))
    await conn.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
    return conn


def blocked_reads(url: str, table: str) -> list[str]:
    with psycopg.connect(libpq_url(url), autocommit=True) as admin:
        rows = admin.execute(
            "SELECT query FROM pg_stat_activity WHERE state = 'active' "
            "AND wait_event_type = 'Lock' AND query ILIKE %s",
            (f"%{table}%",),
        ).fetchall()
    return [str(query) for (query,) in rows]


async def test_the_server_statement_timeout_bounds_a_call_without_a_short_deadline(
    runtime: Runtime, database_url: str
) -> None:
    running = await serve("collateral", runtime, statement_timeout_ms=300)
    holder = await lock(database_url, "latest_prices")
    try:
        async with channel(running.port) as conn:
            collateral = collateral_pb2_grpc.CollateralServiceStub(conn)
            started = time.perf_counter()
            with pytest.raises(grpc.aio.AioRpcError) as late:
                await collateral.GetPrice(
                    collateral_pb2.GetPriceRequest(asset="BTC"), metadata=READER, timeout=5
                )
            elapsed = time.perf_counter() - started
        # Answered by the server (long before the caller's own 5 s), as DEADLINE_EXCEEDED.
        assert late.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED, late.value
        assert elapsed < 3.0
        assert error_info(late.value).reason == "deadline_exceeded"
        assert await asyncio.to_thread(blocked_reads, database_url, "latest_prices") == []
    finally:
        await holder.close()
        await running.stop(0)


async def test_a_callers_deadline_cancels_its_statement_in_postgresql(
    runtime: Runtime, database_url: str
) -> None:
    running = await serve("collateral", runtime)  # the server's own cap is 30 s
    holder = await lock(database_url, "balances")
    try:
        async with channel(running.port) as conn:
            collateral = collateral_pb2_grpc.CollateralServiceStub(conn)
            request = collateral_pb2.ValueAccountsRequest(client_ids=["C1", "C2"])
            with pytest.raises(grpc.aio.AioRpcError) as late:
                async for _ in collateral.ValueAccounts(request, metadata=READER, timeout=0.5):
                    pass
            assert late.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
            # The database is not left waiting for a caller that has gone.
            leftovers: Sequence[str] = ["?"]
            for _ in range(20):
                leftovers = await asyncio.to_thread(blocked_reads, database_url, "balances")
                if not leftovers:
                    break
                await asyncio.sleep(0.05)
            assert leftovers == []
            # And the service answers as before once the table is free.
            await holder.close()
            chunks = [c async for c in collateral.ValueAccounts(request, metadata=READER)]
            assert [v.client_id for v in chunks[0].valuations] == ["C1", "C2"]
    finally:
        await holder.close()
        await running.stop(0)
