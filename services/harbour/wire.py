"""Conversions between the wire contract (harbour.api.v1) and the store's value types,
shared by every servicer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from harbour.api.v1 import common_pb2
from harbour.eventstore.encoding import canonical_json
from harbour.eventstore.errors import InvalidAppend
from harbour.eventstore.follow import follow
from harbour.eventstore.model import START, FeedCheckpoint, RecordedEvent
from harbour.eventstore.store import EventStore

R = TypeVar("R")


def recorded_event(event: RecordedEvent) -> common_pb2.RecordedEvent:
    message = common_pb2.RecordedEvent(
        position=event.position,
        stream_id=event.stream_id,
        version=event.version,
        type=event.type,
        schema_version=event.schema_version,
        # Canonical JSON (the bytes the hash covers), not PostgreSQL's jsonb rendering.
        data_json=canonical_json(event.stored_data),
        metadata_json=canonical_json(event.metadata),
        hash=event.hash,
    )
    message.recorded_at.FromDatetime(event.recorded_at)
    return message


def checkpoint_from(message: common_pb2.FeedCheckpoint, present: bool) -> FeedCheckpoint:
    if not present:
        return START
    if not message.txid.isdigit() or len(message.txid) > 20 or message.position < 0:
        raise InvalidAppend("after", "txid must be a decimal xid8 and position non-negative")
    return FeedCheckpoint(int(message.txid), message.position)


def checkpoint_to(checkpoint: FeedCheckpoint) -> common_pb2.FeedCheckpoint:
    return common_pb2.FeedCheckpoint(txid=str(checkpoint.txid), position=checkpoint.position)


def max_events(value: int) -> int | None:
    if value < 0:
        raise InvalidAppend("max_events", "must not be negative")
    return value or None


async def subscription(
    store: EventStore, request: Any, response: Callable[..., R]
) -> AsyncIterator[R]:
    """A ``Subscribe`` RPC of any service: its request names ``after`` and ``max_events``."""
    after = checkpoint_from(request.after, request.HasField("after"))
    async for event in follow(store, after, max_events=max_events(request.max_events)):
        yield response(event=recorded_event(event), checkpoint=checkpoint_to(event.checkpoint))
