from harbour.api.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ReadStreamRequest(_message.Message):
    __slots__ = ("stream_id", "after_version", "page_size", "up_to_position")
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_VERSION_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    UP_TO_POSITION_FIELD_NUMBER: _ClassVar[int]
    stream_id: str
    after_version: int
    page_size: int
    up_to_position: int
    def __init__(self, stream_id: _Optional[str] = ..., after_version: _Optional[int] = ..., page_size: _Optional[int] = ..., up_to_position: _Optional[int] = ...) -> None: ...

class ReadStreamResponse(_message.Message):
    __slots__ = ("events", "stream_version")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    STREAM_VERSION_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[_common_pb2.RecordedEvent]
    stream_version: int
    def __init__(self, events: _Optional[_Iterable[_Union[_common_pb2.RecordedEvent, _Mapping]]] = ..., stream_version: _Optional[int] = ...) -> None: ...

class VerifyStreamRequest(_message.Message):
    __slots__ = ("stream_id",)
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    stream_id: str
    def __init__(self, stream_id: _Optional[str] = ...) -> None: ...

class ChainBreak(_message.Message):
    __slots__ = ("position", "stream_id", "version", "reason")
    POSITION_FIELD_NUMBER: _ClassVar[int]
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    position: int
    stream_id: str
    version: int
    reason: str
    def __init__(self, position: _Optional[int] = ..., stream_id: _Optional[str] = ..., version: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class VerifyStreamResponse(_message.Message):
    __slots__ = ("intact", "events_checked", "breaks")
    INTACT_FIELD_NUMBER: _ClassVar[int]
    EVENTS_CHECKED_FIELD_NUMBER: _ClassVar[int]
    BREAKS_FIELD_NUMBER: _ClassVar[int]
    intact: bool
    events_checked: int
    breaks: _containers.RepeatedCompositeFieldContainer[ChainBreak]
    def __init__(self, intact: _Optional[bool] = ..., events_checked: _Optional[int] = ..., breaks: _Optional[_Iterable[_Union[ChainBreak, _Mapping]]] = ...) -> None: ...

class VerifyAllRequest(_message.Message):
    __slots__ = ("up_to_position",)
    UP_TO_POSITION_FIELD_NUMBER: _ClassVar[int]
    up_to_position: int
    def __init__(self, up_to_position: _Optional[int] = ...) -> None: ...

class VerifyAllResponse(_message.Message):
    __slots__ = ("intact", "events_checked", "streams_checked", "breaks")
    INTACT_FIELD_NUMBER: _ClassVar[int]
    EVENTS_CHECKED_FIELD_NUMBER: _ClassVar[int]
    STREAMS_CHECKED_FIELD_NUMBER: _ClassVar[int]
    BREAKS_FIELD_NUMBER: _ClassVar[int]
    intact: bool
    events_checked: int
    streams_checked: int
    breaks: _containers.RepeatedCompositeFieldContainer[ChainBreak]
    def __init__(self, intact: _Optional[bool] = ..., events_checked: _Optional[int] = ..., streams_checked: _Optional[int] = ..., breaks: _Optional[_Iterable[_Union[ChainBreak, _Mapping]]] = ...) -> None: ...

class SubscribeRequest(_message.Message):
    __slots__ = ("after", "max_events")
    AFTER_FIELD_NUMBER: _ClassVar[int]
    MAX_EVENTS_FIELD_NUMBER: _ClassVar[int]
    after: _common_pb2.FeedCheckpoint
    max_events: int
    def __init__(self, after: _Optional[_Union[_common_pb2.FeedCheckpoint, _Mapping]] = ..., max_events: _Optional[int] = ...) -> None: ...

class SubscribeResponse(_message.Message):
    __slots__ = ("event", "checkpoint")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    event: _common_pb2.RecordedEvent
    checkpoint: _common_pb2.FeedCheckpoint
    def __init__(self, event: _Optional[_Union[_common_pb2.RecordedEvent, _Mapping]] = ..., checkpoint: _Optional[_Union[_common_pb2.FeedCheckpoint, _Mapping]] = ...) -> None: ...
