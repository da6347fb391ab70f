"""Recorded events as FeedEvent messages: the envelope, and the payload typed.

The payload is filled from the event's dataclass, field by field, by the value's type — the
same rules scripts/gen_event_protos.py wrote events.proto by: Money as Amount (exact decimal
string), a Journal as postings with Amounts, Decimal as decimal text, a date as YYYY-MM-DD,
an instant as Timestamp, an enum as its value, a tuple as a repeated field, a nested
dataclass as its message, None as nothing set. A dataclass field the message lacks is an
error (AttributeError), never dropped: the vocabulary and events.proto are held equal by a
test, and every event type is converted in tests with every field set.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from google.protobuf.message import Message

from harbour.api.v1 import common_pb2, events_pb2
from harbour.application.decoding import domain_event
from harbour.eventstore.model import RecordedEvent
from harbour.ledger.assets import asset
from harbour.ledger.codec import DecodeError
from harbour.ledger.events import SCHEMA_VERSION
from harbour.ledger.money import Money, format_decimal, format_minor
from harbour.ledger.postings import Journal

log = logging.getLogger("harbour.feed")

# event type -> the FeedEvent payload field that carries it, read from the generated code.
PAYLOAD_FIELDS: dict[str, str] = {
    field.message_type.name.removesuffix("Event"): field.name
    for field in events_pb2.FeedEvent.DESCRIPTOR.oneofs_by_name["payload"].fields
    if field.message_type is not None  # every payload field is a message
}


def fill(message: Message, obj: Any) -> Message:
    """Set ``message``'s fields from the dataclass ``obj`` (see the module docstring)."""
    for spec in dataclasses.fields(obj):
        value = getattr(obj, spec.name)
        if value is None:
            continue  # absent: the empty string, or an unset message
        if isinstance(value, tuple):
            target = getattr(message, spec.name)
            for item in value:
                if _is_message_value(item):
                    _fill_value(target.add(), item)
                else:
                    target.append(_scalar(item))
        elif _is_message_value(value):
            _fill_value(getattr(message, spec.name), value)
        else:
            setattr(message, spec.name, _scalar(value))
    return message


def _is_message_value(value: Any) -> bool:
    return isinstance(value, Money | Journal | datetime) or dataclasses.is_dataclass(value)


def _fill_value(message: Any, value: Any) -> None:
    message.SetInParent()  # present even when every field is at its default (epoch, zero)
    if isinstance(value, Money):
        message.asset, message.value = value.asset.code, format_minor(value.asset, value.minor)
    elif isinstance(value, Journal):
        for posting in value.postings:
            line = message.postings.add(ledger_account=posting.ledger_account)
            line.amount.asset = posting.asset
            line.amount.value = format_minor(asset(posting.asset), posting.amount)
    elif isinstance(value, datetime):
        message.FromDatetime(value)
    else:
        fill(message, value)


def _scalar(value: Any) -> Any:
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return format_decimal(value)
    if isinstance(value, date):  # a datetime never gets here: it is a message value
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"no wire form for {type(value).__name__}")


def feed_event(recorded: RecordedEvent) -> events_pb2.FeedEvent:
    """The message for one recorded event: its envelope, and its payload when it can be typed
    (an event type this server does not know, or data it cannot decode, leaves it unset)."""
    metadata = recorded.metadata
    message = events_pb2.FeedEvent(
        position=recorded.position,
        stream_id=recorded.stream_id,
        version=recorded.version,
        event_type=recorded.type,
        schema_version=recorded.schema_version,
        correlation_id=str(metadata.get("correlation_id") or ""),
        causation_id=str(metadata.get("causation_id") or ""),
        request_id=str(metadata.get("request_id") or ""),
        actor=str(metadata.get("actor") or ""),
        service=str(metadata.get("service") or ""),
        checkpoint=common_pb2.FeedCheckpoint(txid=str(recorded.txid), position=recorded.position),
    )
    message.recorded_at.FromDatetime(recorded.recorded_at)
    field = PAYLOAD_FIELDS.get(recorded.type)
    if field is None:
        log.warning("feed: no payload message for %s at %s", recorded.type, recorded.position)
        return message
    try:
        event = domain_event(recorded)
    except (DecodeError, TypeError, ValueError) as failure:
        log.warning("feed: %s at %s not decodable: %s", recorded.type, recorded.position, failure)
        return message
    payload = getattr(message, field)
    payload.SetInParent()  # an event whose fields are all at their defaults is still one
    fill(payload, event)
    # The payload has the current shape: older stored shapes were upcast on read.
    message.schema_version = SCHEMA_VERSION.get(recorded.type, recorded.schema_version)
    return message
