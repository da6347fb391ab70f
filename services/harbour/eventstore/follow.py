"""Following the global feed: every final event once, in order, woken by NOTIFY."""

from __future__ import annotations

from collections.abc import AsyncIterator

from harbour.eventstore.model import FeedCheckpoint, RecordedEvent
from harbour.eventstore.notify import FeedListener
from harbour.eventstore.store import EventStore

PAGE = 500
# Readers are woken by NOTIFY; this poll only covers a lost wake-up or a held-back horizon.
POLL_SECONDS = 1.0


async def follow(
    store: EventStore, after: FeedCheckpoint, *, max_events: int | None = None
) -> AsyncIterator[RecordedEvent]:
    """Events after ``after``; stops after ``max_events`` (None: until the caller stops)."""
    remaining = max_events
    # LISTEN before the first read, so no wake-up between a read and the wait is lost.
    async with FeedListener.for_database(store.database) as listener:
        while remaining is None or remaining > 0:
            page = await store.read_feed(after, limit=min(remaining or PAGE, PAGE))
            for event in page.events:
                yield event
            after = page.checkpoint
            if remaining is not None:
                remaining -= len(page.events)
            if not page.events:
                await listener.wait(POLL_SECONDS)
