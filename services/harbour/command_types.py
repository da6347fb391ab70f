"""The vocabulary of command handling: stream kinds, outcomes, and the conversion between
domain events and stored ones (shared by the runner and its group commit)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from harbour.eventstore.model import AppendResult, NewEvent, RecordedEvent
from harbour.eventstore.streams import Loaded, StateCodec
from harbour.ledger import events as ev

S = TypeVar("S")


def domain_event(recorded: RecordedEvent) -> ev.Event:
    # Decoded once per recorded event (kept in its instance dict, beside its parsed data):
    # read models applying the same page (balances, accounts, ...) each decoded every event,
    # and decoding was most of a rebuild. A domain event is immutable, so sharing it is safe.
    known: ev.Event | None = recorded.__dict__.get(_DECODED)
    if known is not None:
        return known
    # Read through the store's upcasters, the data is already in the current shape; read
    # without them, it is in the shape it was stored in, and decode refuses an old one.
    version = recorded.schema_version
    if recorded.upcaster is not None:
        version = ev.SCHEMA_VERSION.get(recorded.type, version)
    event = ev.decode(recorded.type, version, recorded.data)
    recorded.__dict__[_DECODED] = event
    return event


_DECODED = "_domain_event"  # not a field: equality and repr of the recorded event ignore it


def new_event(event: ev.Event) -> NewEvent:
    event_type, schema_version, data = ev.encode(event)
    return NewEvent(event_type, data, schema_version)


@dataclass(frozen=True)
class StreamKind(Generic[S]):
    """What a kind of stream folds into: its empty state, ``evolve`` and a snapshot codec."""

    initial: Callable[[str], S]  # stream id -> the state of an empty stream
    evolve: Callable[[S, ev.Event], S]
    codec: StateCodec[S] | None = None
    snapshot_every: int | None = None  # events between snapshots; None: the runner's default
    # A hot stream that many commands write (the broker's exposure): a process lets one
    # command at a time decide on it, so its commands queue instead of losing optimistic
    # races over and over. Other processes can still race; the version check settles that.
    serialised: bool = False

    def evolve_recorded(self, state: S, recorded: RecordedEvent) -> S:
        return self.evolve(state, domain_event(recorded))

    def fold(self, state: S, events: Sequence[ev.Event]) -> S:
        for event in events:
            state = self.evolve(state, event)
        return state

    def grow(self, loaded: Loaded[S], added: Sequence[ev.Event]) -> Loaded[S]:
        """``loaded`` after ``added`` were appended to it (counted as replayed since its
        last snapshot, which is what decides the next one)."""
        return Loaded(
            self.fold(loaded.state, added),
            loaded.version + len(added),
            loaded.replayed + len(added),
        )


@dataclass(frozen=True)
class Outcome:
    result: AppendResult
    response: Mapping[str, Any] | None


def nothing(
    stream: str, loaded: Loaded[S], respond: Callable[[S], Mapping[str, Any] | None]
) -> Outcome:
    """A decision with no events (a risk check that finds nothing to change): nothing is
    appended or logged, so a retry simply decides again."""
    result = AppendResult(stream, loaded.version, 0, 0, False, None)
    return Outcome(result, respond(loaded.state))
