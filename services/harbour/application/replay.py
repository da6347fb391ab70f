"""A repeated command's first answer, from the command log.

The command log row (request_id, fingerprint, response) is written with the command's events;
a repeat with the same fingerprint gets that response and appends nothing, a repeat with a
different one is refused (the store raises). The runner asks only when a decision refuses: on
the success path the append itself recognises a repeated request_id.
"""

from __future__ import annotations

from harbour.application.outcome import Outcome
from harbour.eventstore.store import EventStore


async def first_answer(store: EventStore, request_id: str, fingerprint: bytes) -> Outcome | None:
    """The first answer to ``request_id``, if it was applied; refused if reused."""
    result = await store.replayed(request_id, fingerprint)
    return None if result is None else Outcome(result, result.response)
