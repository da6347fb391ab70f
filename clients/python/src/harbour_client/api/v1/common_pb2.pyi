import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Amount(_message.Message):
    __slots__ = ("asset", "value")
    ASSET_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    asset: str
    value: str
    def __init__(self, asset: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class Price(_message.Message):
    __slots__ = ("base_asset", "quote_asset", "value")
    BASE_ASSET_FIELD_NUMBER: _ClassVar[int]
    QUOTE_ASSET_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    base_asset: str
    quote_asset: str
    value: str
    def __init__(self, base_asset: _Optional[str] = ..., quote_asset: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class CommandResult(_message.Message):
    __slots__ = ("stream_id", "stream_version", "position", "replayed")
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    STREAM_VERSION_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    stream_id: str
    stream_version: int
    position: int
    replayed: bool
    def __init__(self, stream_id: _Optional[str] = ..., stream_version: _Optional[int] = ..., position: _Optional[int] = ..., replayed: _Optional[bool] = ...) -> None: ...

class PageRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class PageInfo(_message.Message):
    __slots__ = ("next_page_token",)
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    next_page_token: str
    def __init__(self, next_page_token: _Optional[str] = ...) -> None: ...

class RecordedEvent(_message.Message):
    __slots__ = ("position", "stream_id", "version", "type", "schema_version", "data_json", "metadata_json", "recorded_at", "hash")
    POSITION_FIELD_NUMBER: _ClassVar[int]
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_VERSION_FIELD_NUMBER: _ClassVar[int]
    DATA_JSON_FIELD_NUMBER: _ClassVar[int]
    METADATA_JSON_FIELD_NUMBER: _ClassVar[int]
    RECORDED_AT_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    position: int
    stream_id: str
    version: int
    type: str
    schema_version: int
    data_json: str
    metadata_json: str
    recorded_at: _timestamp_pb2.Timestamp
    hash: bytes
    def __init__(self, position: _Optional[int] = ..., stream_id: _Optional[str] = ..., version: _Optional[int] = ..., type: _Optional[str] = ..., schema_version: _Optional[int] = ..., data_json: _Optional[str] = ..., metadata_json: _Optional[str] = ..., recorded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., hash: _Optional[bytes] = ...) -> None: ...

class FeedCheckpoint(_message.Message):
    __slots__ = ("txid", "position")
    TXID_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    txid: str
    position: int
    def __init__(self, txid: _Optional[str] = ..., position: _Optional[int] = ...) -> None: ...
