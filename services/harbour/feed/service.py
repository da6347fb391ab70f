"""FeedService: the global feed for other systems, typed, filtered, resumable, scoped by role.

A subscription reads the feed page by page in (txid, position) order below the horizon — the
same gap-free reads, shared by every subscriber at the same checkpoint, and the process's one
LISTEN connection to wake them (``harbour.eventstore.follow``) — and keeps the events its
filter admits, judged on the stream id and type before anything is decoded. It holds one page
at most: the interceptor writes each message before the next is made, and cuts a caller that
stops reading with the checkpoint of the last event it was sent (``harbour.runtime.limits``).

A stream ends after ``max_events`` or ``idle_seconds`` without an event, and its trailing
metadata names the position it read up to: a narrow filter resumes past the events it
skipped instead of scanning them again.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator
from typing import Any

import grpc

from harbour.api.v1 import events_pb2, feed_pb2, feed_pb2_grpc
from harbour.application.caller import require_role
from harbour.eventstore.follow import read_shared
from harbour.eventstore.model import START, FeedCheckpoint, FeedPage, RecordedEvent
from harbour.eventstore.outage import is_database_outage
from harbour.eventstore.store import EventStore
from harbour.feed.payloads import feed_event
from harbour.feed.scope import FEED_ROLES, FeedFilter, StreamKind, requested_filter, scoped
from harbour.ledger.errors import InvalidArgument

log = logging.getLogger("harbour.feed")
Context = grpc.aio.ServicerContext[Any, Any]

MAX_EVENTS = 10_000  # one call; resume from the trailer (or the last position) for more
DEFAULT_IDLE_SECONDS, MAX_IDLE_SECONDS = 30, 300
POLL_SECONDS = 1.0  # a lost wake-up costs at most this; NOTIFY wakes readers sooner
RESUME_TRAILER = "x-harbour-resume-after-position"
CACHED_MESSAGES = 4096  # subscribers at the same place share one conversion of an event

# The wire's StreamKind values, by name: STREAM_KIND_ACCOUNT -> StreamKind.ACCOUNT.
WIRE_KINDS: dict[int, StreamKind] = {
    feed_pb2.StreamKind.Value(f"STREAM_KIND_{kind.name}"): kind for kind in StreamKind
}


class FeedService(feed_pb2_grpc.FeedServiceServicer):
    def __init__(self, store: EventStore) -> None:
        self._store = store
        self._messages: OrderedDict[int, events_pb2.FeedEvent] = OrderedDict()

    async def Subscribe(
        self, request: feed_pb2.FeedServiceSubscribeRequest, context: Context
    ) -> AsyncIterator[events_pb2.FeedEvent]:
        roles = require_role(*FEED_ROLES).roles
        wanted = requested_filter(
            request.client_ids, _kinds(request.stream_kinds), request.event_types
        )
        rule = scoped(roles, wanted)
        limit = _bounded(request.max_events, "max_events", MAX_EVENTS, MAX_EVENTS)
        idle = _bounded(
            request.idle_seconds, "idle_seconds", DEFAULT_IDLE_SECONDS, MAX_IDLE_SECONDS
        )
        after = await self._checkpoint_after(request.after_position)
        reached = after
        async for event in self._admitted(rule, after, limit, idle):
            if isinstance(event, FeedCheckpoint):
                reached = event
                continue
            reached = event.checkpoint
            yield self._message(event)
        context.set_trailing_metadata(((RESUME_TRAILER, str(reached.position)),))

    async def _checkpoint_after(self, position: int) -> FeedCheckpoint:
        """The feed checkpoint just after the event at ``position`` (its txid and position):
        resuming there returns exactly the events the feed orders after it."""
        if position < 0:
            raise InvalidArgument.for_field("after_position", "must not be negative")
        if position == 0:
            return START
        found = await self._store.read_all(
            after_position=position - 1, up_to_position=position, limit=1
        )
        if not found:
            raise InvalidArgument.for_field(
                "after_position", f"{position} is not the position of an event in the ledger"
            )
        return found[0].checkpoint

    async def _admitted(
        self, rule: FeedFilter, after: FeedCheckpoint, limit: int, idle: float
    ) -> AsyncIterator[RecordedEvent | FeedCheckpoint]:
        """The events ``rule`` admits after ``after``, at most ``limit``, until ``idle``
        seconds pass without one; last, the checkpoint read up to (past skipped events)."""
        loop = asyncio.get_running_loop()
        waiter = self._store.database.shared_feed().waiter()  # before the first read
        sent, last_sent = 0, loop.time()
        while sent < limit:
            page = await self._page(after, waiter)
            for event in page.events if page is not None else ():
                after = event.checkpoint
                if rule.admits(event.stream_id, event.type):
                    yield event
                    sent, last_sent = sent + 1, loop.time()
                    if sent >= limit:
                        return
            quiet = loop.time() - last_sent
            if quiet >= idle:
                break
            if page is None or not page.events:  # at the head: wait for a wake-up
                await waiter.wait(min(POLL_SECONDS, idle - quiet))
        yield after

    async def _page(self, after: FeedCheckpoint, waiter: Any) -> FeedPage | None:
        """The next page, or None while the database is out (the subscriber waits it out)."""
        try:
            return await read_shared(self._store, after)
        except Exception as failure:
            if not is_database_outage(failure):
                raise
            log.warning("feed subscriber waits for the database: %s", failure)
            return None

    def _message(self, event: RecordedEvent) -> events_pb2.FeedEvent:
        """The event's message, converted once for every subscriber reading it (they read
        the same pages); never modified after, so sharing it between writes is safe."""
        message = self._messages.get(event.position)
        if message is None:
            message = self._messages[event.position] = feed_event(event)
            if len(self._messages) > CACHED_MESSAGES:
                self._messages.popitem(last=False)
        return message


def _kinds(values: Any) -> list[StreamKind]:
    kinds = []
    for index, value in enumerate(values):
        kind = WIRE_KINDS.get(value)
        if kind is None:
            raise InvalidArgument.for_field(f"stream_kinds[{index}]", "is not a stream kind")
        kinds.append(kind)
    return kinds


def _bounded(value: int, field: str, default: int, maximum: int) -> int:
    if value < 0:
        raise InvalidArgument.for_field(field, "must not be negative")
    return min(value or default, maximum)


def register(server: grpc.aio.Server, store: EventStore) -> tuple[str, ...]:
    # Generated servicer helpers are untyped (grpcio-tools emits no stubs for them).
    feed_pb2_grpc.add_FeedServiceServicer_to_server(  # type: ignore[no-untyped-call]
        FeedService(store), server
    )
    return (feed_pb2.DESCRIPTOR.services_by_name["FeedService"].full_name,)
