"""The audit service through a real gRPC server on loopback."""

from __future__ import annotations

import hashlib
import json

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_status import rpc_status

from harbour.api.v1 import audit_pb2, audit_pb2_grpc, common_pb2
from harbour.eventstore.model import NewEvent
from harbour.runtime.server import Runtime

AUDITOR = (("x-harbour-principal", "ana:auditor"),)


async def seed(runtime: Runtime, streams: int = 3, events: int = 4) -> None:
    for s in range(streams):
        for v in range(events):
            await runtime.store.append(
                f"account-C{s}",
                [NewEvent("CashDeposited", {"amount": f"{v}.00", "asset": "HKD"})],
                expected_version=v,
                metadata={"actor": "seed"},
            )


async def test_health_and_reflection_answer(audit_channel: grpc.aio.Channel) -> None:
    health = health_pb2_grpc.HealthStub(audit_channel)
    for service in ("", "harbour.api.v1.AuditService"):
        reply = await health.Check(health_pb2.HealthCheckRequest(service=service))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
    reflection = reflection_pb2_grpc.ServerReflectionStub(audit_channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    async for reply in reflection.ServerReflectionInfo(iter([request])):
        names = {s.name for s in reply.list_services_response.service}
        assert "harbour.api.v1.AuditService" in names
        break


async def test_read_and_verify_over_grpc(audit_channel: grpc.aio.Channel, runtime: Runtime) -> None:
    await seed(runtime)
    audit = audit_pb2_grpc.AuditServiceStub(audit_channel)
    page = await audit.ReadStream(
        audit_pb2.ReadStreamRequest(stream_id="account-C1", page_size=2), metadata=AUDITOR
    )
    assert page.stream_version == 4
    assert [(e.version, json.loads(e.data_json)["amount"]) for e in page.events] == [
        (1, "0.00"),
        (2, "1.00"),
    ]
    # The wire carries the canonical bytes: a client can recompute the first hash itself.
    first = page.events[0]
    content = (
        f'{{"data":{first.data_json},"metadata":{first.metadata_json},'
        f'"recorded_at":"{first.recorded_at.ToDatetime().isoformat(timespec="microseconds")}+00:00",'
        f'"schema_version":1,"stream_id":"account-C1","type":"CashDeposited","version":1}}'
    )
    assert hashlib.sha256(content.encode()).digest() == first.hash
    everything = await audit.VerifyAll(audit_pb2.VerifyAllRequest(), metadata=AUDITOR)
    assert (everything.intact, everything.events_checked, everything.streams_checked) == (
        True,
        12,
        3,
    )


async def test_subscribe_follows_the_feed_from_a_checkpoint(
    audit_channel: grpc.aio.Channel, runtime: Runtime
) -> None:
    await seed(runtime, streams=2, events=3)
    audit = audit_pb2_grpc.AuditServiceStub(audit_channel)
    first = [
        m async for m in audit.Subscribe(audit_pb2.SubscribeRequest(max_events=4), metadata=AUDITOR)
    ]
    assert [m.event.position for m in first] == [1, 2, 3, 4]
    rest = audit.Subscribe(
        audit_pb2.SubscribeRequest(after=first[-1].checkpoint, max_events=3), metadata=AUDITOR
    )
    await seed_one(runtime)
    assert [m.event.position async for m in rest] == [5, 6, 7]


async def seed_one(runtime: Runtime) -> None:
    await runtime.store.append("account-NEW", [NewEvent("CashDeposited", {})], expected_version=0)


def details(error: grpc.aio.AioRpcError) -> tuple[str, list[str]]:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None
    info, bad = error_details_pb2.ErrorInfo(), error_details_pb2.BadRequest()
    reason, fields = "", []
    for detail in status.details:
        if detail.Unpack(info):
            reason = info.reason
        elif detail.Unpack(bad):
            fields = [v.field for v in bad.field_violations]
    return reason, fields


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (audit_pb2.ReadStreamRequest(stream_id=""), "stream_id"),
        (audit_pb2.ReadStreamRequest(stream_id="bad id"), "stream_id"),
        (audit_pb2.ReadStreamRequest(stream_id="x" * 10_000), "stream_id"),
        (audit_pb2.ReadStreamRequest(stream_id="account-C1", after_version=-1), "after_version"),
        (audit_pb2.ReadStreamRequest(stream_id="account-C1", page_size=-5), "page_size"),
    ],
)
async def test_bad_input_is_invalid_argument_with_the_field(
    audit_channel: grpc.aio.Channel, request_: audit_pb2.ReadStreamRequest, field: str
) -> None:
    audit = audit_pb2_grpc.AuditServiceStub(audit_channel)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await audit.ReadStream(request_, metadata=AUDITOR)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert details(refused.value) == ("invalid_argument", [field])


async def test_a_bad_checkpoint_is_invalid_argument(audit_channel: grpc.aio.Channel) -> None:
    audit = audit_pb2_grpc.AuditServiceStub(audit_channel)
    call = audit.Subscribe(
        audit_pb2.SubscribeRequest(after=common_pb2.FeedCheckpoint(txid="-3")), metadata=AUDITOR
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        [m async for m in call]
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_callers_without_the_role_are_refused(audit_channel: grpc.aio.Channel) -> None:
    audit = audit_pb2_grpc.AuditServiceStub(audit_channel)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await audit.VerifyAll(
            audit_pb2.VerifyAllRequest(),
            metadata=(("x-harbour-principal", "bot:trading-platform"),),
        )
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "auditor" in (refused.value.details() or "")
