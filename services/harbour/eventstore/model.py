"""Value types of the event store: what is appended, what is read back, where a reader is."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

import msgspec


@dataclass(frozen=True)
class NewEvent:
    """An event to append. ``schema_version`` is the shape of ``data`` (see upcasting)."""

    type: str
    data: dict[str, Any]
    schema_version: int = 1


@dataclass(frozen=True)
class StreamWrite:
    """One stream's part of an append that spans several streams."""

    stream_id: str
    events: Sequence[NewEvent]
    expected_version: int


@dataclass(frozen=True)
class CommandWrite:
    """One command's part of a batch (:meth:`EventStore.append_batch`): its streams' events
    and its command-log row, which names the first write's stream."""

    writes: Sequence[StreamWrite]
    request_id: str | None  # None: an append that is not logged (no idempotency key)
    fingerprint: bytes
    metadata: Mapping[str, Any]
    response: Mapping[str, Any] | None = None
    # Streams the decision read but does not write, at the versions it read them (the policy,
    # the prices): the append applies only if each is still there, as it does for the
    # expected version of a stream it writes. The proof a cached read was current.
    reads: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class AppendResult:
    """Where an append landed. ``replayed`` is true for an idempotent repeat."""

    stream_id: str
    version: int
    first_position: int
    last_position: int
    replayed: bool = False
    response: dict[str, Any] | None = None


@dataclass(frozen=True, order=True)
class FeedCheckpoint:
    """A reader's place in the global feed, ordered by (txid, position) like the feed."""

    txid: int = 0
    position: int = 0

    def __str__(self) -> str:
        return f"{self.txid}/{self.position}"

    @classmethod
    def parse(cls, text: str) -> FeedCheckpoint:
        txid, _, position = text.partition("/")
        return cls(int(txid), int(position or 0))


START = FeedCheckpoint()


class _Envelope(msgspec.Struct):
    """The part of an event's canonical bytes a reader splits off: its data and metadata as
    the raw JSON they were hashed as (msgspec scans them; nothing is built)."""

    data: msgspec.Raw
    metadata: msgspec.Raw


_split = msgspec.json.Decoder(_Envelope).decode
# An event's data and metadata as Python values: the same values json.loads gives (integers of
# any size, the last of a repeated key), ~4x faster — parsing was a fifth of a cold load's
# decoding. It refuses NaN and Infinity, which no stored event holds (the chain trigger's
# JSON cast refuses them when it is written). Its DecodeError is a ValueError, as json's is.
_parse = msgspec.json.decode


def split_content(content: bytes) -> tuple[str, str]:
    """The data and metadata JSON of an event's canonical bytes. Bytes that are not an
    event's envelope (the database refuses to store them; only a superuser with its triggers
    off could) give empty texts: reading such an event's data fails where it is decoded, as
    any poison does, and its chain check reports it."""
    try:
        envelope = _split(content)
        return bytes(envelope.data).decode(), bytes(envelope.metadata).decode()
    except (msgspec.DecodeError, UnicodeDecodeError):
        return "", ""


@dataclass(frozen=True)
class RecordedEvent:
    """An event as stored. JSON is parsed lazily: many readers never look at the data.

    ``content`` is the event's canonical bytes as stored and hashed (empty for an event that
    did not come from the store, e.g. one read back from an export); ``data_json`` and
    ``metadata_json`` are split from it."""

    position: int
    stream_id: str
    version: int
    type: str
    schema_version: int
    data_json: str
    metadata_json: str
    recorded_at: datetime
    txid: int
    hash: bytes
    _upcast: Any = field(default=None, repr=False, compare=False)
    content: bytes = field(default=b"", repr=False, compare=False)

    @cached_property
    def data(self) -> dict[str, Any]:
        raw: dict[str, Any] = _parse(self.data_json)
        return raw if self._upcast is None else self._upcast(self.type, self.schema_version, raw)

    @cached_property
    def stored_data(self) -> dict[str, Any]:
        """The data exactly as recorded (before upcasting): what the hash chain covers."""
        raw: dict[str, Any] = _parse(self.data_json)
        return raw

    @cached_property
    def metadata(self) -> dict[str, Any]:
        raw: dict[str, Any] = _parse(self.metadata_json)
        return raw

    @property
    def upcaster(self) -> Any:
        """The upcasting chain this event was read with (None: read as stored), so code that
        reads more of the history alongside it reads it the same way."""
        return self._upcast

    @property
    def checkpoint(self) -> FeedCheckpoint:
        return FeedCheckpoint(self.txid, self.position)

    @classmethod
    def from_row(cls, row: Sequence[Any], upcast: Any = None) -> RecordedEvent:
        """Build from a stored row without the frozen ``__init__``: the instance dict set in
        one call instead of eleven ``object.__setattr__`` calls (a third of the cost of
        reading the feed). The result is as frozen and as equal as a normal instance."""
        position, stream_id, version, type_, schema_version, content, at, txid, hash_ = row
        if type(content) is not bytes:
            content = bytes(content)
        data, meta = split_content(content)
        event = object.__new__(cls)
        object.__setattr__(
            event,
            "__dict__",
            {
                "position": position,
                "stream_id": stream_id,
                "version": version,
                "type": type_,
                "schema_version": schema_version,
                "data_json": data,
                "metadata_json": meta,
                "recorded_at": at,
                "txid": int(txid),
                "hash": hash_ if type(hash_) is bytes else bytes(hash_),  # bytes() is not free
                "_upcast": upcast,
                "content": content,
            },
        )
        return event


@dataclass(frozen=True)
class FeedPage:
    events: list[RecordedEvent]
    checkpoint: FeedCheckpoint  # resume after this
    horizon: int  # every txid below this was final when the page was read


@dataclass(frozen=True)
class CommandRecord:
    """The command log's memory of a request_id (for idempotent replies)."""

    request_id: str
    fingerprint: bytes
    stream_id: str
    version: int
    first_position: int
    last_position: int
    response: dict[str, Any] | None
