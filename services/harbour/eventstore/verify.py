"""Audit verification: check every hash chain, row by row, from the stored events.

An event read from the store carries its canonical bytes as stored (``content``): they must
hash onto the previous stored hash and end with what the row's columns say. An event from
elsewhere (an export read back) has its bytes rebuilt from its fields. Either way a row
altered by any means (even by a superuser with triggers disabled) breaks the chain at that
row, and a deleted or reordered row breaks the version sequence.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field

from harbour.eventstore.encoding import (
    GENESIS_HASH,
    canonical_json,
    chain_hash,
    event_content,
    event_tail,
)
from harbour.eventstore.model import RecordedEvent
from harbour.eventstore.store import EventStore


@dataclass(frozen=True)
class ChainBreak:
    position: int
    stream_id: str
    version: int
    reason: str


@dataclass
class ChainVerifier:
    """Feed events in any order across streams, in version order within each stream."""

    heads: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    breaks: list[ChainBreak] = field(default_factory=list)
    events_checked: int = 0

    def check(self, event: RecordedEvent) -> None:
        self.events_checked += 1
        version, previous = self.heads.get(event.stream_id, (0, GENESIS_HASH))
        if event.version != version + 1:
            self.breaks.append(
                ChainBreak(
                    event.position,
                    event.stream_id,
                    event.version,
                    f"version {event.version} follows version {version}: an event is missing",
                )
            )
        if chain_hash(previous, self._content(event)) != event.hash or (
            event.content and not event.content.endswith(_tail(event))
        ):
            self.breaks.append(
                ChainBreak(
                    event.position,
                    event.stream_id,
                    event.version,
                    "hash mismatch: the stored event differs from what was recorded",
                )
            )
        # Continue from the stored hash so one altered row is reported once, not for ever after.
        self.heads[event.stream_id] = (event.version, event.hash)

    @staticmethod
    def _content(event: RecordedEvent) -> bytes:
        """The bytes the hash must cover: as stored, or rebuilt from the event's fields."""
        if event.content:
            return event.content
        return event_content(
            stream_id=event.stream_id,
            version=event.version,
            event_type=event.type,
            schema_version=event.schema_version,
            data_json=canonical_json(event.stored_data),
            metadata_json=canonical_json(event.metadata),
            recorded_at=event.recorded_at,
        )

    def check_all(self, events: Iterable[RecordedEvent]) -> None:
        for event in events:
            self.check(event)

    async def check_stream(self, events: AsyncIterator[RecordedEvent]) -> None:
        async for event in events:
            self.check(event)

    @property
    def intact(self) -> bool:
        return not self.breaks

    @property
    def streams_checked(self) -> int:
        return len(self.heads)


def _tail(event: RecordedEvent) -> bytes:
    return event_tail(
        stream_id=event.stream_id,
        version=event.version,
        event_type=event.type,
        schema_version=event.schema_version,
        recorded_at=event.recorded_at,
    )


async def verify_stream(store: EventStore, stream_id: str) -> ChainVerifier:
    verifier = ChainVerifier()
    verifier.check_all(await store.read_stream(stream_id))
    return verifier


async def verify_store(
    store: EventStore,
    *,
    up_to_position: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> ChainVerifier:
    """Recompute every chain in position order (within a stream, position follows version)."""
    verifier = ChainVerifier()
    after = 0
    while page := await store.read_all(after_position=after, up_to_position=up_to_position):
        verifier.check_all(page)
        after = page[-1].position
        if progress is not None:
            progress(verifier.events_checked)
    return verifier
