"""Following the global feed: every final event once, in order, woken by NOTIFY.

Every follower in a process waits on the process's one shared LISTEN connection
(``Database.shared_feed``), and followers at the same checkpoint share one read of the next
page: a hundred subscribers caught up with the head cost one query per wake-up, not a hundred.
A follower holds at most one page of events in memory; it reads the next page only once the
previous one has been taken (a subscriber that stops reading stops its follower).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from harbour.eventstore.model import FeedCheckpoint, FeedPage, RecordedEvent
from harbour.eventstore.outage import is_database_outage
from harbour.eventstore.store import EventStore

PAGE = 500
# Readers are woken by NOTIFY; this poll only covers a lost wake-up or a held-back horizon.
POLL_SECONDS = 1.0
log = logging.getLogger("harbour.feed")

# Reads in flight, by store and checkpoint: a follower asking for the page another is already
# reading waits for that read instead of making its own.
_reading: dict[tuple[int, FeedCheckpoint], asyncio.Future[FeedPage]] = {}


async def follow(
    store: EventStore, after: FeedCheckpoint, *, max_events: int | None = None
) -> AsyncIterator[RecordedEvent]:
    """Events after ``after``; stops after ``max_events`` (None: until the caller stops).
    A database outage does not end it: it polls until the database answers again."""
    remaining = max_events
    # The waiter first, so no wake-up between a read and the wait is lost.
    waiter = store.database.shared_feed().waiter()
    while remaining is None or remaining > 0:
        try:
            page = await read_shared(store, after)
        except Exception as failure:
            if not is_database_outage(failure):
                raise
            log.warning("feed follower waits for the database: %s", failure)
            await waiter.wait(POLL_SECONDS)
            continue
        events = page.events if remaining is None else page.events[:remaining]
        for event in events:
            yield event
        after = events[-1].checkpoint if events else page.checkpoint
        if remaining is not None:
            remaining -= len(events)
        if not page.events:
            await waiter.wait(POLL_SECONDS)


async def read_shared(store: EventStore, after: FeedCheckpoint) -> FeedPage:
    """The page after ``after``, read once for every follower asking at the same time."""
    key = (id(store), after)
    reading = _reading.get(key)
    if reading is None:
        reading = asyncio.ensure_future(store.read_feed(after, limit=PAGE))
        _reading[key] = reading
        reading.add_done_callback(lambda _: _reading.pop(key, None))
    # shield: one follower leaving (its call cancelled) must not cancel the others' read.
    return await asyncio.shield(reading)
