"""Authentication and the error mapping, through a real server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import grpc
import psycopg
import pytest

from harbour.api.v1 import audit_pb2, audit_pb2_grpc
from harbour.runtime.server import Runtime, start_server
from harbour.runtime.settings import libpq_url, parse_auth_tokens


@pytest.fixture
async def secured(runtime: Runtime) -> AsyncIterator[audit_pb2_grpc.AuditServiceStub]:
    tokens = parse_auth_tokens("t-audit=ana:auditor,t-desk=desk:trading-platform")
    tokens_only = replace(runtime.settings, auth_tokens=tokens, dev_mode=False)
    secured_runtime = replace(runtime, settings=tokens_only)
    running = await start_server("audit", secured_runtime, port=0, host="127.0.0.1")
    async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        yield audit_pb2_grpc.AuditServiceStub(channel)
    await running.stop(0)


async def test_no_token_is_unauthenticated(secured: audit_pb2_grpc.AuditServiceStub) -> None:
    for metadata in (
        (),
        (("authorization", "Bearer wrong"),),
        (("x-harbour-principal", "x:auditor"),),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await secured.VerifyAll(audit_pb2.VerifyAllRequest(), metadata=metadata)
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_a_valid_token_with_the_role_is_served(
    secured: audit_pb2_grpc.AuditServiceStub,
) -> None:
    reply = await secured.VerifyAll(
        audit_pb2.VerifyAllRequest(), metadata=(("authorization", "Bearer t-audit"),)
    )
    assert reply.intact and reply.events_checked == 0
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await secured.VerifyAll(
            audit_pb2.VerifyAllRequest(), metadata=(("authorization", "Bearer t-desk"),)
        )
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_an_unexpected_failure_is_internal_and_leaks_nothing(
    audit_channel: grpc.aio.Channel, database_url: str
) -> None:
    # A misconfigured deployment: the service role lost SELECT. Every read now fails deep in
    # the driver, which the caller must see as INTERNAL without the database's words.
    with psycopg.connect(libpq_url(database_url), autocommit=True) as owner:
        owner.execute("REVOKE SELECT ON events FROM harbour_service")
    audit = audit_pb2_grpc.AuditServiceStub(audit_channel)
    with pytest.raises(grpc.aio.AioRpcError) as failed:
        await audit.ReadStream(audit_pb2.ReadStreamRequest(stream_id="account-C1"))
    assert failed.value.code() == grpc.StatusCode.INTERNAL
    message = failed.value.details() or ""
    assert "internal error" in message and "permission" not in message.lower()
