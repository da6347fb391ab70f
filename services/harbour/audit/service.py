"""The audit gRPC service: replay, chain verification and the feed, over the event store only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc

from harbour import wire
from harbour.api.v1 import audit_pb2, audit_pb2_grpc
from harbour.caller import require_role
from harbour.eventstore.errors import InvalidAppend
from harbour.eventstore.store import EventStore
from harbour.eventstore.verify import ChainVerifier, verify_store, verify_stream

READERS = ("auditor", "operator")
DEFAULT_PAGE, MAX_PAGE = 500, 5000


class AuditService(audit_pb2_grpc.AuditServiceServicer):
    def __init__(self, store: EventStore) -> None:
        self._store = store

    async def ReadStream(
        self, request: audit_pb2.ReadStreamRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> audit_pb2.ReadStreamResponse:
        require_role(*READERS)
        if request.after_version < 0:
            raise InvalidAppend("after_version", "must not be negative")
        if request.page_size < 0:
            raise InvalidAppend("page_size", "must not be negative")
        events = await self._store.read_stream(
            request.stream_id,
            after_version=request.after_version,
            up_to_position=request.up_to_position or None,
            limit=min(request.page_size or DEFAULT_PAGE, MAX_PAGE),
        )
        version = await self._store.stream_version(request.stream_id)
        return audit_pb2.ReadStreamResponse(
            events=[wire.recorded_event(e) for e in events], stream_version=version
        )

    async def VerifyStream(
        self, request: audit_pb2.VerifyStreamRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> audit_pb2.VerifyStreamResponse:
        require_role(*READERS)
        verifier = await verify_stream(self._store, request.stream_id)
        return audit_pb2.VerifyStreamResponse(
            intact=verifier.intact,
            events_checked=verifier.events_checked,
            breaks=_breaks(verifier),
        )

    async def VerifyAll(
        self, request: audit_pb2.VerifyAllRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> audit_pb2.VerifyAllResponse:
        require_role(*READERS)
        if request.up_to_position < 0:
            raise InvalidAppend("up_to_position", "must not be negative")
        verifier = await verify_store(self._store, up_to_position=request.up_to_position or None)
        return audit_pb2.VerifyAllResponse(
            intact=verifier.intact,
            events_checked=verifier.events_checked,
            streams_checked=verifier.streams_checked,
            breaks=_breaks(verifier),
        )

    async def Subscribe(
        self, request: audit_pb2.SubscribeRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[audit_pb2.SubscribeResponse]:
        require_role(*READERS)
        async for reply in wire.subscription(self._store, request, audit_pb2.SubscribeResponse):
            yield reply


def _breaks(verifier: ChainVerifier) -> list[audit_pb2.ChainBreak]:
    return [
        audit_pb2.ChainBreak(
            position=b.position, stream_id=b.stream_id, version=b.version, reason=b.reason
        )
        for b in verifier.breaks
    ]


def register(server: grpc.aio.Server, store: EventStore) -> tuple[str, ...]:
    # Generated servicer helpers are untyped (grpcio-tools emits no stubs for them).
    audit_pb2_grpc.add_AuditServiceServicer_to_server(  # type: ignore[no-untyped-call]
        AuditService(store), server
    )
    return (audit_pb2.DESCRIPTOR.services_by_name["AuditService"].full_name,)
