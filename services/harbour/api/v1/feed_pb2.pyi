from harbour.api.v1 import events_pb2 as _events_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StreamKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STREAM_KIND_UNSPECIFIED: _ClassVar[StreamKind]
    STREAM_KIND_ACCOUNT: _ClassVar[StreamKind]
    STREAM_KIND_PRICE: _ClassVar[StreamKind]
    STREAM_KIND_POLICY: _ClassVar[StreamKind]
    STREAM_KIND_BROKER: _ClassVar[StreamKind]
    STREAM_KIND_CALENDAR: _ClassVar[StreamKind]
    STREAM_KIND_STRESS: _ClassVar[StreamKind]
    STREAM_KIND_RECONCILIATION: _ClassVar[StreamKind]
STREAM_KIND_UNSPECIFIED: StreamKind
STREAM_KIND_ACCOUNT: StreamKind
STREAM_KIND_PRICE: StreamKind
STREAM_KIND_POLICY: StreamKind
STREAM_KIND_BROKER: StreamKind
STREAM_KIND_CALENDAR: StreamKind
STREAM_KIND_STRESS: StreamKind
STREAM_KIND_RECONCILIATION: StreamKind

class FeedServiceSubscribeRequest(_message.Message):
    __slots__ = ("client_ids", "stream_kinds", "event_types", "after_position", "max_events", "idle_seconds")
    CLIENT_IDS_FIELD_NUMBER: _ClassVar[int]
    STREAM_KINDS_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPES_FIELD_NUMBER: _ClassVar[int]
    AFTER_POSITION_FIELD_NUMBER: _ClassVar[int]
    MAX_EVENTS_FIELD_NUMBER: _ClassVar[int]
    IDLE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    client_ids: _containers.RepeatedScalarFieldContainer[str]
    stream_kinds: _containers.RepeatedScalarFieldContainer[StreamKind]
    event_types: _containers.RepeatedScalarFieldContainer[str]
    after_position: int
    max_events: int
    idle_seconds: int
    def __init__(self, client_ids: _Optional[_Iterable[str]] = ..., stream_kinds: _Optional[_Iterable[_Union[StreamKind, str]]] = ..., event_types: _Optional[_Iterable[str]] = ..., after_position: _Optional[int] = ..., max_events: _Optional[int] = ..., idle_seconds: _Optional[int] = ...) -> None: ...
