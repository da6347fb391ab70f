"""Group commit for a hot stream: the commands that all move one stream (every advance and
repayment moves the broker's exposure) queue for it; one batch at a time is decided in memory,
in arrival order, each command on the state the previous one left, and appended in one
statement with a command-log row per command (``EventStore.append_batch``).

One command at a time costs the hot stream a database round trip per command; a batch costs
one per batch, so the queue drains as fast as it fills. The version checks stay exactly as
strict: the statement writes nothing unless every stream is where the batch decided on it. When
a command's own stream or one it read moved meanwhile, the batch catches up the streams that
moved, in one round trip for all its commands, and those commands decide again on the cache
(``CAUGHT_UP``); a batch refused for any
other reason (a repeated request id, a lost race, one command's unstorable events) sends its
commands down the one-at-a-time path (``ALONE``), which answers a repeat and fails only the
command at fault.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

from harbour.application.outcome import Outcome, new_event, nothing
from harbour.application.streams import StreamKind
from harbour.eventstore.errors import BatchNotApplied, InvalidAppend
from harbour.eventstore.model import AppendResult, CommandWrite, StreamWrite
from harbour.eventstore.store import EventStore
from harbour.eventstore.streams import Loaded
from harbour.ledger import events as ev
from harbour.ledger.errors import DomainError
from harbour.metrics import GROUP_COMMIT_BATCH

Events = Sequence[ev.Event]
# The decision on (the command's own stream's state, the hot stream's state): pure, no I/O —
# every read it rests on (prices, the policy) was made before it queued; it raises
# Unprepared when those reads do not cover the states it is given.
Decide = Callable[[Any, Any], tuple[Events, Events]]
MAX_BATCH = 64
REDECIDE_ROUNDS = 3


class Unprepared(Exception):
    """Raised by a decision whose reads do not cover the states it was given (an earlier
    command of its batch brought an asset it holds that it has no price for): it prepares
    again on the state as it is now."""


class Runner(Protocol):
    """What a group commit needs of the command runner (its caches and locks)."""

    store: EventStore

    def holding(self, streams: Sequence[str]) -> AbstractAsyncContextManager[None]: ...

    async def hot_state(
        self, kind: StreamKind[Any], stream: str, *, trust: bool
    ) -> Loaded[Any]: ...

    async def hot_written(
        self, kind: StreamKind[Any], stream: str, loaded: Loaded[Any]
    ) -> None: ...

    async def grown(
        self, kind: StreamKind[Any], stream: str, loaded: Loaded[Any], added: Sequence[ev.Event]
    ) -> None: ...

    async def refresh(self, streams: Iterable[str]) -> None: ...


class Verdict(Enum):
    DONE = "done"  # value: the Outcome
    REFUSED = "refused"  # value: the DomainError
    RETRY = "retry"  # it must read again (its reads do not cover the state) and queue again
    CAUGHT_UP = "caught_up"  # a stream it rested on moved and is caught up: decide again
    ALONE = "alone"  # apply it one at a time
    FAILED = "failed"  # value: the exception that stopped the batch (e.g. the database)


@dataclass
class Pending:
    kind: StreamKind[Any]
    stream: str
    loaded: Loaded[Any]
    decide: Decide
    respond: Callable[[Any], Mapping[str, Any] | None]
    request_id: str
    fingerprint: bytes
    metadata: Mapping[str, Any]
    # Streams the decision read at cached versions, for the append to check (CommandWrite.reads).
    reads: Mapping[str, int] = field(default_factory=dict)
    future: asyncio.Future[tuple[Verdict, Any]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    def settle(self, verdict: Verdict, value: Any = None) -> None:
        if not self.future.done():
            self.future.set_result((verdict, value))


@dataclass
class _Decided:
    item: Pending
    writes: list[StreamWrite]
    response: Mapping[str, Any] | None
    own_before: Loaded[Any]  # the state of its own stream the decision rested on
    own_events: Events


class GroupCommit:
    """The queue of one hot stream in one process."""

    def __init__(self, runner: Runner, kind: StreamKind[Any], stream: str) -> None:
        self._runner = runner
        self._kind = kind
        self._stream = stream
        self._queue: list[Pending] = []
        self._worker: asyncio.Task[None] | None = None

    async def submit(self, item: Pending) -> tuple[Verdict, Any]:
        self._queue.append(item)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._drain())
        return await item.future

    async def _drain(self) -> None:
        while self._queue:
            batch: list[Pending] = []
            try:
                # The same lock as the one-at-a-time path: the two never race in one process.
                # Taken first: whatever queues while it is awaited joins this batch.
                async with self._runner.holding([self._stream]):
                    batch = self._take()
                    await self._apply(batch)
            except BaseException as stopped:  # never leave a caller waiting
                for item in batch:
                    item.settle(Verdict.FAILED, stopped)
                if not isinstance(stopped, Exception):
                    raise

    def _take(self) -> list[Pending]:
        batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
        return batch

    async def _apply(self, batch: list[Pending]) -> None:
        hot = await self._runner.hot_state(self._kind, self._stream, trust=True)
        for _ in range(REDECIDE_ROUNDS):
            decided, answered, after = self._decide(batch, hot)
            try:
                results = await self._runner.store.append_batch(
                    [
                        CommandWrite(
                            d.writes,
                            d.item.request_id,
                            d.item.fingerprint,
                            d.item.metadata,
                            d.response,
                            d.item.reads,
                        )
                        for d in decided
                    ]
                )
            except InvalidAppend:
                break  # one command's events are unstorable: alone, only it fails
            except BatchNotApplied as refused:
                if not refused.stale:
                    break
                # Caught up once for the batch, so the commands sent round decide again on
                # the cache without a read each (their appends check the streams they write).
                await self._runner.refresh(refused.stale - {self._stream})
                for d in decided:
                    # Its own stream moved, or a stream it read (a price): it decides again.
                    if d.item.stream in refused.stale or refused.stale & d.item.reads.keys():
                        d.item.settle(Verdict.CAUGHT_UP)
                if self._stream in refused.stale:
                    hot = await self._runner.hot_state(self._kind, self._stream, trust=False)
                batch = [item for item in batch if not item.future.done()]
                continue
            if decided:
                GROUP_COMMIT_BATCH.labels(self._stream).observe(len(decided))
            await self._applied(decided, results, after)
            # Answered only now: a refused retry looks for its first answer in the command
            # log, and a command that must read again must see this batch's writes.
            for item, verdict, value in answered:
                item.settle(verdict, value)
            return
        for item in batch:
            item.settle(Verdict.ALONE)

    def _decide(
        self, batch: list[Pending], hot: Loaded[Any]
    ) -> tuple[list[_Decided], list[tuple[Pending, Verdict, Any]], Loaded[Any]]:
        """Each command in turn on the hot state the previous ones left — and on the state of
        its own stream they left, when an earlier command of the batch moved it too (two
        draws of one client). Returns the decisions to append, the answers to give once they
        are (refusals, decisions that change nothing, commands that must read again), and
        the hot state after them."""
        decided: list[_Decided] = []
        answered: list[tuple[Pending, Verdict, Any]] = []
        chained: dict[str, Loaded[Any]] = {}
        for item in batch:
            own_state = chained.get(item.stream, item.loaded)
            try:
                own, moved = item.decide(own_state.state, hot.state)
            except Unprepared:  # it reads again once this batch is written
                answered.append((item, Verdict.RETRY, None))
                continue
            except DomainError as refusal:
                answered.append((item, Verdict.REFUSED, refusal))
                continue
            if not own and not moved:
                answered.append((item, Verdict.DONE, nothing(item.stream, own_state, item.respond)))
                continue
            writes = []
            if own:
                writes.append(
                    StreamWrite(item.stream, [new_event(e) for e in own], own_state.version)
                )
                chained[item.stream] = item.kind.grow(own_state, own)
            if moved:
                writes.append(StreamWrite(self._stream, [new_event(e) for e in moved], hot.version))
                hot = self._kind.grow(hot, moved)
            response = item.respond(item.kind.fold(own_state.state, own))
            decided.append(_Decided(item, writes, response, own_state, own))
        return decided, answered, hot

    async def _applied(
        self, decided: list[_Decided], results: list[AppendResult], hot: Loaded[Any]
    ) -> None:
        await self._runner.hot_written(self._kind, self._stream, hot)
        for d, result in zip(decided, results, strict=True):
            await self._runner.grown(d.item.kind, d.item.stream, d.own_before, d.own_events)
            d.item.settle(Verdict.DONE, Outcome(result, d.response))
