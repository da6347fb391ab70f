"""Authentication and the error mapping, through a real server."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace

import grpc
import psycopg
import pytest

from harbour.api.v1 import audit_pb2, audit_pb2_grpc
from harbour.runtime.logs import configure_logging
from harbour.runtime.server import Runtime, start_server
from harbour.runtime.settings import Settings, libpq_url, parse_auth_tokens


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


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """This process's log lines as `harbour serve` writes them (HARBOUR_LOG_FORMAT=json)."""
    root = logging.getLogger()
    level = root.level
    lines = io.StringIO()
    handler = configure_logging(Settings(log_format="json"), stream=lines)
    yield lines
    root.removeHandler(handler)
    root.setLevel(level)


async def test_an_unexpected_failure_is_internal_and_leaks_nothing(
    audit_channel: grpc.aio.Channel, database_url: str, json_log: io.StringIO
) -> None:
    # A misconfigured deployment: the service role lost SELECT. Every read now fails deep in
    # the driver, which the caller must see as INTERNAL without the database's words.
    with psycopg.connect(libpq_url(database_url), autocommit=True) as owner:
        owner.execute("REVOKE SELECT ON events FROM harbour_service")
    audit = audit_pb2_grpc.AuditServiceStub(audit_channel)
    caller = (("x-harbour-principal", "ana:auditor"), ("x-correlation-id", "corr-internal-1"))
    with pytest.raises(grpc.aio.AioRpcError) as failed:
        await audit.ReadStream(audit_pb2.ReadStreamRequest(stream_id="account-C1"), metadata=caller)
    assert failed.value.code() == grpc.StatusCode.INTERNAL
    message = failed.value.details() or ""
    assert "internal error" in message and "permission" not in message.lower()
    trailers = dict(failed.value.trailing_metadata() or ())
    assert not any("permission" in str(v).lower() for v in trailers.values())

    # The operator finds the cause by the request id the caller holds: one JSON line, logged
    # inside the call (who called, which call, the correlation id), with the exception.
    request_id = trailers["x-request-id"]
    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    (failure,) = [
        line
        for line in lines
        if line["logger"] == "harbour.rpc" and line["message"].startswith("unexpected failure")
    ]
    assert failure["level"] == "ERROR"
    assert failure["request_id"] == request_id
    assert failure["principal"] == "ana"
    assert failure["correlation_id"] == "corr-internal-1"
    assert failure["method"] == "/harbour.api.v1.AuditService/ReadStream"
    assert "permission denied" in failure["exc_info"]
