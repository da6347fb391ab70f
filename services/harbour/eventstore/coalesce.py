"""Appends of concurrent commands share one statement when they arrive together.

A command's append is a database round trip and a commit of its own. Under load, commands on
different streams wait for each other's round trips anyway; the appender sends the first one
at once and, while a statement is in flight, gathers the ones that arrive meanwhile into the
next statement (``EventStore.append_batch``: every command its own command-log row and its
events their own metadata, all or nothing). Nothing waits for a batch to fill: one caller
alone pays exactly what it paid before, and sixteen pay a round trip and a commit for several.

Every outcome stays the one a command would have had alone: a batch the database did not
apply (a stream moved, a request id already logged, one command's unstorable events) is
applied again command by command by ``EventStore.append_together``, which answers a repeat,
raises the conflict of the one that lost, and fails only the command at fault.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from harbour.eventstore.errors import BatchNotApplied, InvalidAppend
from harbour.eventstore.model import AppendResult, CommandWrite
from harbour.eventstore.store import EventStore

log = logging.getLogger(__name__)

# Commands per statement: a statement's parameters grow with its events, and one batch that
# falls back to command-by-command costs that many round trips.
MAX_BATCH = 32


@dataclass
class _Waiting:
    command: CommandWrite
    answer: asyncio.Future[AppendResult]


class CoalescingAppender:
    """Appends commands, several to a statement when they arrive while one is in flight."""

    def __init__(self, store: EventStore, *, max_batch: int = MAX_BATCH) -> None:
        self._store = store
        self._max_batch = max_batch
        self._queue: list[_Waiting] = []
        self._sending: asyncio.Task[None] | None = None

    async def append(self, command: CommandWrite) -> AppendResult:
        """``command`` appended, alone or with others; its result or its own error."""
        answer: asyncio.Future[AppendResult] = asyncio.get_running_loop().create_future()
        self._queue.append(_Waiting(command, answer))
        if self._sending is None:
            # A task of its own: a caller that gives up (its deadline) must not cancel a
            # statement that carries other callers' commands.
            self._sending = asyncio.create_task(self._send_all())
        return await answer

    async def _send_all(self) -> None:
        batch: list[_Waiting] = []
        try:
            while self._queue:
                batch = self._next_batch()
                await self._send(batch)
        except BaseException:
            # Cancelled (the process stops): no caller may wait for an answer never coming.
            for waiting in [*batch, *self._queue]:
                waiting.answer.cancel()
            self._queue = []
            raise
        finally:
            self._sending = None

    def _next_batch(self) -> list[_Waiting]:
        """The oldest commands, at most one per stream: two commands decided on the same
        stream's state cannot share a statement (the second would be chained after the
        first, on a state it never saw); the later one waits for the next statement."""
        batch: list[_Waiting] = []
        taken: set[str] = set()
        rest: list[_Waiting] = []
        for waiting in self._queue:
            streams = {w.stream_id for w in waiting.command.writes}
            if len(batch) < self._max_batch and not streams & taken:
                batch.append(waiting)
                taken |= streams
            else:
                rest.append(waiting)
        self._queue = rest
        return batch

    async def _send(self, batch: Sequence[_Waiting]) -> None:
        if len(batch) > 1:
            try:
                results = await self._store.append_batch([w.command for w in batch])
            except (BatchNotApplied, InvalidAppend):
                pass  # applied again one by one below: each gets its own outcome
            except Exception as failure:  # the database itself: every command fails with it
                for waiting in batch:
                    _settle(waiting, failure=failure)
                return
            else:
                for waiting, result in zip(batch, results, strict=True):
                    _settle(waiting, result=result)
                return
        await asyncio.gather(*(self._alone(w) for w in batch))

    async def _alone(self, waiting: _Waiting) -> None:
        command = waiting.command
        try:
            result = await self._store.append_together(
                command.writes,
                request_id=command.request_id,
                fingerprint=command.fingerprint,
                metadata=command.metadata,
                response=command.response,
                reads=command.reads,
            )
        except Exception as failure:
            _settle(waiting, failure=failure)
        else:
            _settle(waiting, result=result)


def _settle(
    waiting: _Waiting, *, result: AppendResult | None = None, failure: BaseException | None = None
) -> None:
    if waiting.answer.done():  # its caller gave up: the outcome is in the store all the same
        return
    if failure is not None:
        waiting.answer.set_exception(failure)
    else:
        assert result is not None
        waiting.answer.set_result(result)
