"""Load -> decide -> append, for the margin-account stream.

A command carries a client ``request_id``. The command log answers a repeat before anything
is decided (the state may have moved on since, so deciding again could refuse a command
that was in fact applied). A concurrent writer to the same account makes the append lose on
``expected_version``; the handler reloads and decides again, so decisions per account are
serialisable without locks.
"""

from __future__ import annotations

import asyncio
import random
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from harbour.accounts.domain import Command, Context, decide
from harbour.eventstore.errors import ConcurrencyConflict, RequestIdReused
from harbour.eventstore.model import AppendResult, NewEvent, RecordedEvent
from harbour.eventstore.store import EventStore, request_fingerprint
from harbour.eventstore.streams import Loaded, load_stream, snapshot_if_due
from harbour.ledger import events as ev
from harbour.ledger.account import SNAPSHOT_VERSION, MarginAccount, evolve, from_snapshot
from harbour.ledger.account import to_snapshot as account_snapshot
from harbour.ledger.errors import DomainError
from harbour.ledger.ids import account_stream

Clock = Callable[[], datetime]
MAX_ATTEMPTS = 25


@dataclass(frozen=True)
class Outcome:
    result: AppendResult
    response: Mapping[str, Any] | None


class AccountSnapshots:
    """The event store's snapshot codec for margin accounts."""

    schema_version = SNAPSHOT_VERSION

    def to_json(self, state: MarginAccount) -> Mapping[str, Any]:
        return account_snapshot(state)

    def from_json(self, data: Mapping[str, Any]) -> MarginAccount:
        return from_snapshot(dict(data))


def domain_event(recorded: RecordedEvent) -> ev.Event:
    # Upcasters (in the store) have already brought the data to the current schema version.
    version = ev.SCHEMA_VERSION.get(recorded.type, recorded.schema_version)
    return ev.decode(recorded.type, version, recorded.data)


def evolve_recorded(state: MarginAccount, recorded: RecordedEvent) -> MarginAccount:
    return evolve(state, domain_event(recorded))


class AccountHandlers:
    def __init__(
        self,
        store: EventStore,
        *,
        clock: Clock,
        context: Callable[[datetime], Context] = Context,
        snapshot_every: int = 100,
    ) -> None:
        self._store = store
        self._clock = clock
        self._context = context
        self._snapshot_every = snapshot_every
        self._snapshots = AccountSnapshots()
        self._recent = RecentAccounts()

    async def load(
        self, client_id: str, *, up_to_position: int | None = None
    ) -> Loaded[MarginAccount]:
        stream = account_stream(client_id)
        if up_to_position is None and (cached := self._recent.get(stream)) is not None:
            # Only the events after the cached version: every committed write is still seen,
            # so a cache per replica is as correct as none — just cheaper.
            newer = await self._store.read_stream(stream, after_version=cached.version)
            state = cached.state
            for recorded in newer:
                state = evolve_recorded(state, recorded)
            version = newer[-1].version if newer else cached.version
            loaded = Loaded(state, version, cached.replayed + len(newer))
        else:
            loaded = await load_stream(
                self._store,
                stream,
                initial=MarginAccount.initial(client_id),
                evolve=evolve_recorded,
                codec=self._snapshots,
                up_to_position=up_to_position,
            )
        if up_to_position is None:
            self._recent.put(stream, loaded)
        return loaded

    async def handle(
        self,
        command: Command,
        *,
        request_id: str,
        request: Mapping[str, Any],
        metadata: Mapping[str, Any],
        respond: Callable[[MarginAccount], Mapping[str, Any] | None] = lambda _: None,
    ) -> Outcome:
        """Apply ``command`` once. ``request`` is what the caller sent (its fingerprint).

        The command log is consulted only when the decision refuses: a retry of a command that
        was applied may be refused by today's state, and must get its first answer instead.
        On the success path the append itself recognises a repeated request_id (its command
        log insert conflicts and the whole statement rolls back), saving a round trip.
        """
        fingerprint = request_fingerprint(request)
        for attempt in range(MAX_ATTEMPTS):
            loaded = await self.load(command.client_id)
            try:
                events = decide(loaded.state, command, self._context(self._clock()))
            except DomainError:
                replay = await self._replay(request_id, fingerprint)
                if replay is not None:
                    return replay
                raise
            after = loaded.state
            for event in events:
                after = evolve(after, event)
            response = respond(after)
            try:
                result = await self._store.append(
                    account_stream(command.client_id),
                    [NewEvent(*_reorder(ev.encode(event))) for event in events],
                    expected_version=loaded.version,
                    request_id=request_id,
                    fingerprint=fingerprint,
                    metadata=metadata,
                    response=response,
                )
            except ConcurrencyConflict:
                # Another command on this account won; back off a little and decide again.
                await asyncio.sleep(random.uniform(0, 0.002 * (attempt + 1)))
                continue
            if result.replayed:
                return Outcome(result, result.response)
            await self._maybe_snapshot(command.client_id, loaded, after, len(events))
            return Outcome(result, response)
        raise ConcurrencyConflict(account_stream(command.client_id), -1, None)

    async def _replay(self, request_id: str, fingerprint: bytes) -> Outcome | None:
        logged = await self._store.lookup_command(request_id)
        if logged is None:
            return None
        if logged.fingerprint != fingerprint:
            raise RequestIdReused(request_id)
        result = AppendResult(
            logged.stream_id,
            logged.version,
            logged.first_position,
            logged.last_position,
            True,
            logged.response,
        )
        return Outcome(result, logged.response)

    async def _maybe_snapshot(
        self, client_id: str, loaded: Loaded[MarginAccount], after: MarginAccount, added: int
    ) -> None:
        grown = Loaded(after, loaded.version + added, loaded.replayed + added)
        await snapshot_if_due(
            self._store,
            account_stream(client_id),
            grown,
            self._snapshots,
            every=self._snapshot_every,
        )


class RecentAccounts:
    """The most recently used accounts' states, least recently used evicted first."""

    def __init__(self, capacity: int = 20_000) -> None:
        self._capacity = capacity
        self._items: OrderedDict[str, Loaded[MarginAccount]] = OrderedDict()

    def get(self, stream: str) -> Loaded[MarginAccount] | None:
        loaded = self._items.get(stream)
        if loaded is not None:
            self._items.move_to_end(stream)
        return loaded

    def put(self, stream: str, loaded: Loaded[MarginAccount]) -> None:
        current = self._items.get(stream)
        if current is not None and current.version > loaded.version:
            return  # a concurrent command already cached a newer state
        self._items[stream] = loaded
        self._items.move_to_end(stream)
        while len(self._items) > self._capacity:
            self._items.popitem(last=False)


def _reorder(encoded: tuple[str, int, dict[str, Any]]) -> tuple[str, dict[str, Any], int]:
    event_type, schema_version, data = encoded
    return event_type, data, schema_version
