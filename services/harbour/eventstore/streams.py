"""Loading a stream's state: the newest usable snapshot, then the events after it.

Generic over the state type, so the store stays domain-free: the caller brings ``initial``,
``evolve`` and a codec. A snapshot whose codec version differs from the current one is
ignored (it is a cache, never a source of truth), so changing the state's shape needs no
migration: the next load replays and a fresh snapshot replaces it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from harbour.eventstore.model import RecordedEvent
from harbour.eventstore.store import EventStore

S = TypeVar("S")


class StateCodec(Protocol[S]):
    schema_version: int

    def to_json(self, state: S) -> Mapping[str, Any]: ...

    def from_json(self, data: Mapping[str, Any]) -> S: ...


@dataclass(frozen=True)
class Loaded(Generic[S]):
    state: S
    version: int  # pass as expected_version to the next append
    replayed: int  # events applied on top of the snapshot (0 = snapshot was current)


async def load_stream(
    store: EventStore,
    stream_id: str,
    *,
    initial: S,
    evolve: Callable[[S, RecordedEvent], S],
    codec: StateCodec[S] | None = None,
    up_to_position: int | None = None,
) -> Loaded[S]:
    """The state of ``stream_id`` now, or as of a global position (snapshots skipped then)."""
    snapshot = None
    if codec is not None and up_to_position is None:
        snapshot = await store.load_snapshot(stream_id)
    version, state = _start(initial, codec, snapshot)
    events = await store.read_stream(
        stream_id, after_version=version, up_to_position=up_to_position
    )
    return _folded(state, version, events, evolve)


@dataclass(frozen=True)
class Wanted(Generic[S]):
    """One stream to load with :func:`load_streams`, and how its state is made."""

    stream_id: str
    initial: S
    evolve: Callable[[S, RecordedEvent], S]
    codec: StateCodec[S] | None = None


async def load_streams(store: EventStore, wanted: Sequence[Wanted[Any]]) -> dict[str, Loaded[Any]]:
    """The states of many streams now, as :func:`load_stream` loads each, in two round trips
    in all (their snapshots, then the events after them) rather than two per stream: a risk
    screen of every borrower holding an asset reads them all at once."""
    with_codec = [w.stream_id for w in wanted if w.codec is not None]
    snapshots = await store.load_snapshots(with_codec) if with_codec else {}
    start = {
        each.stream_id: _start(each.initial, each.codec, snapshots.get(each.stream_id))
        for each in wanted
    }
    newer = await store.read_streams({stream: version for stream, (version, _) in start.items()})
    return {
        each.stream_id: _folded(
            start[each.stream_id][1], start[each.stream_id][0], newer[each.stream_id], each.evolve
        )
        for each in wanted
    }


def _start(
    initial: S, codec: StateCodec[S] | None, snapshot: tuple[int, int, Mapping[str, Any]] | None
) -> tuple[int, S]:
    """Where a stream's replay starts: its snapshot, when it has one of the codec's version."""
    if codec is None or snapshot is None or snapshot[1] != codec.schema_version:
        return 0, initial
    return snapshot[0], codec.from_json(snapshot[2])


def _folded(
    state: S, version: int, events: Sequence[RecordedEvent], evolve: Callable[[S, RecordedEvent], S]
) -> Loaded[S]:
    """``state`` at ``version`` with ``events`` (those after it) folded in."""
    for event in events:
        state = evolve(state, event)
    return Loaded(state, events[-1].version if events else version, len(events))


async def snapshot_if_due(
    store: EventStore,
    stream_id: str,
    loaded: Loaded[S],
    codec: StateCodec[S],
    *,
    every: int,
) -> bool:
    """Save a snapshot when ``every`` or more events were replayed to get here."""
    if loaded.replayed < every:
        return False
    await store.save_snapshot(
        stream_id, loaded.version, codec.to_json(loaded.state), codec.schema_version
    )
    return True
