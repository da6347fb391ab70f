"""What a command answers, and its domain events as the store takes them (shared by the runner
and its group commit)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from harbour.eventstore.model import AppendResult, NewEvent
from harbour.eventstore.streams import Loaded
from harbour.ledger import events as ev

S = TypeVar("S")


def new_event(event: ev.Event) -> NewEvent:
    event_type, schema_version, data = ev.encode(event)
    return NewEvent(event_type, data, schema_version)


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
