"""The audit gRPC service over the event store only: replay, chain verification, the feed,
signed checkpoints of every stream head, state rebuilt from raw events, decisions re-derived."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import grpc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from harbour.api.v1 import audit_pb2, audit_pb2_grpc
from harbour.application import wire
from harbour.application.caller import require_role
from harbour.audit.auditor import (
    create_checkpoint,
    rederive,
    replay_state,
    verify_against,
    verify_chains,
)
from harbour.audit.keys import load_private_key
from harbour.audit.proofs import CheckpointRefused, open_checkpoint
from harbour.audit.replay import NoStateForStream
from harbour.eventstore.encoding import check_stream_id
from harbour.eventstore.errors import InvalidAppend
from harbour.eventstore.store import EventStore
from harbour.eventstore.verify import ChainBreak, ChainVerifier, verify_stream
from harbour.ledger.codec import DecodeError
from harbour.ledger.errors import FailedPrecondition, InvalidArgument

READERS = ("auditor", "operator")
DEFAULT_PAGE, MAX_PAGE = 500, 5000
Clock = Callable[[], datetime]


class CheckpointRejected(InvalidArgument):
    """A checkpoint that must not be relied on (malformed, altered or signed by another key)."""

    reason = "checkpoint_refused"


class SigningKeyMissing(FailedPrecondition):
    reason = "audit_signing_key_missing"


class AuditService(audit_pb2_grpc.AuditServiceServicer):
    def __init__(
        self,
        store: EventStore,
        *,
        clock: Clock,
        signing_key: Ed25519PrivateKey | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._signing_key = signing_key

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
        # The auditor's one-COPY scan, in one process (a server must not fork), on a thread
        # so that the other calls go on being answered.
        scan = await asyncio.to_thread(
            verify_chains,
            self._store.database.conninfo,
            up_to_position=request.up_to_position or None,
            parts=1,
        )
        return audit_pb2.VerifyAllResponse(
            intact=scan.intact,
            events_checked=scan.events_checked,
            streams_checked=scan.streams_checked,
            breaks=_chain_breaks(scan.breaks),
        )

    async def Subscribe(
        self, request: audit_pb2.SubscribeRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[audit_pb2.SubscribeResponse]:
        require_role(*READERS)
        async for reply in wire.subscription(self._store, request, audit_pb2.SubscribeResponse):
            yield reply

    async def CreateCheckpoint(
        self,
        request: audit_pb2.CreateCheckpointRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> audit_pb2.CreateCheckpointResponse:
        require_role(*READERS)
        if self._signing_key is None:
            raise SigningKeyMissing(
                "this audit server has no checkpoint signing key (HARBOUR_AUDIT_SIGNING_KEY)"
            )
        document = await create_checkpoint(self._store, self._signing_key, now=self._clock())
        return audit_pb2.CreateCheckpointResponse(
            checkpoint_json=json.dumps(document, sort_keys=True),
            merkle_root=document["merkle_root"],
            global_position=document["global_position"],
            streams=document["streams"],
            key_id=document["signer"]["key_id"],
        )

    async def VerifyAgainstCheckpoint(
        self,
        request: audit_pb2.VerifyAgainstCheckpointRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> audit_pb2.VerifyAgainstCheckpointResponse:
        require_role(*READERS)
        trusted = self._trusted_key(request.public_key_pem)
        try:
            checkpoint = open_checkpoint(request.checkpoint_json, trusted)
        except CheckpointRefused as refused:
            raise CheckpointRejected.for_field("checkpoint_json", str(refused)) from None
        breaks = await verify_against(self._store, checkpoint)
        return audit_pb2.VerifyAgainstCheckpointResponse(
            intact=not breaks,
            breaks=[
                audit_pb2.AnchorBreak(
                    stream_id=b.stream_id,
                    version=b.version,
                    kind=b.kind,
                    expected=b.expected,
                    found=b.found,
                )
                for b in breaks
            ],
            streams_checked=len(checkpoint.heads),
            key_id=checkpoint.document["signer"]["key_id"],
            signer_trusted=trusted is not None,
            global_position=checkpoint.global_position,
        )

    def _trusted_key(self, pem: str) -> Ed25519PublicKey | None:
        if not pem:
            return None if self._signing_key is None else self._signing_key.public_key()
        try:
            key = load_pem_public_key(pem.encode("utf-8"))
        except ValueError:
            raise InvalidArgument.for_field("public_key_pem", "not a PEM public key") from None
        if not isinstance(key, Ed25519PublicKey):
            raise InvalidArgument.for_field("public_key_pem", "not an Ed25519 public key")
        return key

    async def ReplayState(
        self, request: audit_pb2.ReplayStateRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> audit_pb2.ReplayStateResponse:
        require_role(*READERS)
        check_stream_id(request.stream_id)
        if request.up_to_position < 0:
            raise InvalidAppend("up_to_position", "must not be negative")
        as_of = wire.instant(request.as_of, "as_of") if request.HasField("as_of") else None
        try:
            replayed = await replay_state(
                self._store,
                request.stream_id,
                now=self._clock(),
                up_to_position=request.up_to_position or None,
                as_of=as_of,
            )
        except NoStateForStream as unknown:
            raise InvalidArgument.for_field("stream_id", str(unknown)) from None
        except DecodeError as bad:
            message = f"an event of {request.stream_id} cannot be read: {bad}"
            raise FailedPrecondition(message) from None
        return audit_pb2.ReplayStateResponse(
            state_json=json.dumps(replayed.document(), sort_keys=True),
            kind=replayed.rebuilt.kind,
            version=replayed.version,
            position=replayed.position,
            events_replayed=replayed.events_replayed,
            chain_intact=replayed.intact,
            breaks=_chain_breaks(replayed.breaks),
        )

    async def RederiveDecisions(
        self,
        request: audit_pb2.RederiveDecisionsRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> audit_pb2.RederiveDecisionsResponse:
        require_role(*READERS)
        if request.stream_id:
            check_stream_id(request.stream_id)
        outcome = await rederive(self._store, stream_id=request.stream_id or None)
        return audit_pb2.RederiveDecisionsResponse(
            decisions_checked=outcome.decisions_checked,
            events_read=outcome.events_read,
            discrepancies=[
                audit_pb2.DecisionDiscrepancy(
                    position=d.position,
                    stream_id=d.stream_id,
                    version=d.version,
                    event_type=d.event_type,
                    reason=d.reason,
                )
                for d in outcome.discrepancies
            ],
        )


def _breaks(verifier: ChainVerifier) -> list[audit_pb2.ChainBreak]:
    return _chain_breaks(verifier.breaks)


def _chain_breaks(breaks: Sequence[ChainBreak]) -> list[audit_pb2.ChainBreak]:
    return [
        audit_pb2.ChainBreak(
            position=b.position, stream_id=b.stream_id, version=b.version, reason=b.reason
        )
        for b in breaks
    ]


def register(
    server: grpc.aio.Server,
    store: EventStore,
    *,
    clock: Clock,
    signing_key_path: Path | None = None,
) -> tuple[str, ...]:
    """Serve the audit service; ``signing_key_path`` (HARBOUR_AUDIT_SIGNING_KEY) is read now,
    so a key that is configured but unreadable stops the process at start, not at the first
    checkpoint."""
    key = load_private_key(signing_key_path) if signing_key_path is not None else None
    # Generated servicer helpers are untyped (grpcio-tools emits no stubs for them).
    audit_pb2_grpc.add_AuditServiceServicer_to_server(  # type: ignore[no-untyped-call]
        AuditService(store, clock=clock, signing_key=key), server
    )
    return (audit_pb2.DESCRIPTOR.services_by_name["AuditService"].full_name,)
