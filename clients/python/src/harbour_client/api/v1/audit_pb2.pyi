import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from harbour_client.api.v1 import common_pb2 as _common_pb2
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

class CreateCheckpointRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CreateCheckpointResponse(_message.Message):
    __slots__ = ("checkpoint_json", "merkle_root", "global_position", "streams", "key_id")
    CHECKPOINT_JSON_FIELD_NUMBER: _ClassVar[int]
    MERKLE_ROOT_FIELD_NUMBER: _ClassVar[int]
    GLOBAL_POSITION_FIELD_NUMBER: _ClassVar[int]
    STREAMS_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    checkpoint_json: str
    merkle_root: str
    global_position: int
    streams: int
    key_id: str
    def __init__(self, checkpoint_json: _Optional[str] = ..., merkle_root: _Optional[str] = ..., global_position: _Optional[int] = ..., streams: _Optional[int] = ..., key_id: _Optional[str] = ...) -> None: ...

class VerifyAgainstCheckpointRequest(_message.Message):
    __slots__ = ("checkpoint_json", "public_key_pem")
    CHECKPOINT_JSON_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_PEM_FIELD_NUMBER: _ClassVar[int]
    checkpoint_json: str
    public_key_pem: str
    def __init__(self, checkpoint_json: _Optional[str] = ..., public_key_pem: _Optional[str] = ...) -> None: ...

class AnchorBreak(_message.Message):
    __slots__ = ("stream_id", "version", "kind", "expected", "found")
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_FIELD_NUMBER: _ClassVar[int]
    FOUND_FIELD_NUMBER: _ClassVar[int]
    stream_id: str
    version: int
    kind: str
    expected: str
    found: str
    def __init__(self, stream_id: _Optional[str] = ..., version: _Optional[int] = ..., kind: _Optional[str] = ..., expected: _Optional[str] = ..., found: _Optional[str] = ...) -> None: ...

class VerifyAgainstCheckpointResponse(_message.Message):
    __slots__ = ("intact", "breaks", "streams_checked", "key_id", "signer_trusted", "global_position")
    INTACT_FIELD_NUMBER: _ClassVar[int]
    BREAKS_FIELD_NUMBER: _ClassVar[int]
    STREAMS_CHECKED_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNER_TRUSTED_FIELD_NUMBER: _ClassVar[int]
    GLOBAL_POSITION_FIELD_NUMBER: _ClassVar[int]
    intact: bool
    breaks: _containers.RepeatedCompositeFieldContainer[AnchorBreak]
    streams_checked: int
    key_id: str
    signer_trusted: bool
    global_position: int
    def __init__(self, intact: _Optional[bool] = ..., breaks: _Optional[_Iterable[_Union[AnchorBreak, _Mapping]]] = ..., streams_checked: _Optional[int] = ..., key_id: _Optional[str] = ..., signer_trusted: _Optional[bool] = ..., global_position: _Optional[int] = ...) -> None: ...

class ReplayStateRequest(_message.Message):
    __slots__ = ("stream_id", "as_of", "up_to_position")
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    UP_TO_POSITION_FIELD_NUMBER: _ClassVar[int]
    stream_id: str
    as_of: _timestamp_pb2.Timestamp
    up_to_position: int
    def __init__(self, stream_id: _Optional[str] = ..., as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., up_to_position: _Optional[int] = ...) -> None: ...

class ReplayStateResponse(_message.Message):
    __slots__ = ("state_json", "kind", "version", "position", "events_replayed", "chain_intact", "breaks")
    STATE_JSON_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    EVENTS_REPLAYED_FIELD_NUMBER: _ClassVar[int]
    CHAIN_INTACT_FIELD_NUMBER: _ClassVar[int]
    BREAKS_FIELD_NUMBER: _ClassVar[int]
    state_json: str
    kind: str
    version: int
    position: int
    events_replayed: int
    chain_intact: bool
    breaks: _containers.RepeatedCompositeFieldContainer[ChainBreak]
    def __init__(self, state_json: _Optional[str] = ..., kind: _Optional[str] = ..., version: _Optional[int] = ..., position: _Optional[int] = ..., events_replayed: _Optional[int] = ..., chain_intact: _Optional[bool] = ..., breaks: _Optional[_Iterable[_Union[ChainBreak, _Mapping]]] = ...) -> None: ...

class RederiveDecisionsRequest(_message.Message):
    __slots__ = ("stream_id",)
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    stream_id: str
    def __init__(self, stream_id: _Optional[str] = ...) -> None: ...

class DecisionDiscrepancy(_message.Message):
    __slots__ = ("position", "stream_id", "version", "event_type", "reason")
    POSITION_FIELD_NUMBER: _ClassVar[int]
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    position: int
    stream_id: str
    version: int
    event_type: str
    reason: str
    def __init__(self, position: _Optional[int] = ..., stream_id: _Optional[str] = ..., version: _Optional[int] = ..., event_type: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RederiveDecisionsResponse(_message.Message):
    __slots__ = ("decisions_checked", "events_read", "discrepancies")
    DECISIONS_CHECKED_FIELD_NUMBER: _ClassVar[int]
    EVENTS_READ_FIELD_NUMBER: _ClassVar[int]
    DISCREPANCIES_FIELD_NUMBER: _ClassVar[int]
    decisions_checked: int
    events_read: int
    discrepancies: _containers.RepeatedCompositeFieldContainer[DecisionDiscrepancy]
    def __init__(self, decisions_checked: _Optional[int] = ..., events_read: _Optional[int] = ..., discrepancies: _Optional[_Iterable[_Union[DecisionDiscrepancy, _Mapping]]] = ...) -> None: ...
