"""Conversions between the wire contract (harbour.api.v1) and the store's value types,
shared by every servicer.

Transport-shaped, but it lives in the application package rather than ``harbour.runtime``: the
servicers (each service's ``service.py``) use it, and they sit below the runtime layer, which
they may not import (``lint-imports``: the runtime composes the services, never the other way
round). Nothing here opens a connection or reads a setting; it turns messages into values and
the runner's :class:`~harbour.application.outcome.Outcome` back into a ``CommandResult``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from google.protobuf.timestamp_pb2 import Timestamp

from harbour.api.v1 import common_pb2
from harbour.application.outcome import Outcome
from harbour.eventstore.encoding import canonical_json
from harbour.eventstore.errors import InvalidAppend
from harbour.eventstore.follow import follow
from harbour.eventstore.model import START, FeedCheckpoint, RecordedEvent
from harbour.eventstore.store import EventStore, check_request_id
from harbour.ledger.assets import asset
from harbour.ledger.errors import InvalidArgument
from harbour.ledger.money import Money, format_minor, parse_amount

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


# Who may call a deprecated per-service ``Subscribe`` (every client's events, unscoped): the
# roles FeedService leaves unscoped, harbour.feed.scope.FULL_READERS (a layer this one may not
# import; tests/unit/test_auth.py holds the two equal). The servicers check it as the second
# line behind harbour.runtime.authorization.
WHOLE_FEED_READERS = ("auditor", "operator", "risk")


async def subscription(
    store: EventStore, request: Any, response: Callable[..., R]
) -> AsyncIterator[R]:
    """A deprecated ``Subscribe`` RPC of any service (FeedService.Subscribe replaces them): its
    request names ``after`` and ``max_events``."""
    after = checkpoint_from(request.after, request.HasField("after"))
    async for event in follow(store, after, max_events=max_events(request.max_events)):
        yield response(event=recorded_event(event), checkpoint=checkpoint_to(event.checkpoint))


# ------------------------------------------------------------------------- commands


def command_request(request: Any) -> tuple[str, dict[str, str]]:
    """A command request's request_id and fingerprinted payload (its exact bytes)."""
    check_request_id(request.request_id or None)
    if not request.request_id:
        raise InvalidArgument.for_field("request_id", "is required (any unique id per command)")
    payload = {
        "rpc": type(request).__name__,
        "request": request.SerializeToString(deterministic=True).hex(),
    }
    return request.request_id, payload


def command_result(outcome: Outcome) -> common_pb2.CommandResult:
    result = outcome.result
    return common_pb2.CommandResult(
        stream_id=result.stream_id,
        stream_version=result.version,
        position=result.last_position,
        replayed=result.replayed,
    )


# ------------------------------------------------------------------------- fields


def text(value: str, field: str, limit: int, required: bool = False) -> str:
    if required and not value.strip():
        raise InvalidArgument.for_field(field, "is required")
    if len(value) > limit:
        raise InvalidArgument.for_field(field, f"must be at most {limit} characters")
    if not value.isprintable():
        raise InvalidArgument.for_field(field, "must be printable text")
    return value


DEFAULT_PAGE, MAX_PAGE = 100, 1000


def money_field(message: common_pb2.Amount, field: str, *, allow_zero: bool = False) -> Money:
    """An Amount field as Money: the asset known, the value within its scale (never rounded)."""
    if not message.asset and not message.value:
        raise InvalidArgument.for_field(field, "is required")
    return parse_amount(
        asset(message.asset, f"{field}.asset"),
        message.value,
        f"{field}.value",
        allow_zero=allow_zero,
    )


def page_size(value: int) -> int:
    if value < 0:
        raise InvalidArgument.for_field("page.page_size", "must not be negative")
    return min(value or DEFAULT_PAGE, MAX_PAGE)


def instant(message: Timestamp, field: str) -> datetime:
    """A timestamp field as an aware UTC datetime; out-of-range values are refused."""
    try:
        return message.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError) as error:
        raise InvalidArgument.for_field(field, "is not a valid timestamp") from error


def amount(code: str, minor: int) -> common_pb2.Amount:
    return common_pb2.Amount(asset=code, value=format_minor(asset(code), minor))


def money(value: Money) -> common_pb2.Amount:
    return amount(value.asset.code, value.minor)
