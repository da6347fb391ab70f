"""Per-stream locks of one process, alive only while a command holds or waits for them.

Two commands of one process on the same stream would both decide on the cached state, and
the second's append would lose on ``expected_version``: a wasted statement, a catch-up read,
a backoff and a second decision. Queued behind the first instead, the second decides on the
state the first left in the cache and appends once. Correctness never rests on these locks
(the append's version check serialises writers across processes); they only keep a process
from racing itself. Under ``make load`` a fifth of the accounts service's commands lost such
a race before (``harbour_command_retries_total{reason="version_conflict"}``).

A lock exists while some command holds it or waits for it, and is dropped with the last: the
table is bounded by the commands in flight, not by every stream ever touched.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence


class _Entry:
    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0  # commands holding or waiting for the lock


class StreamLocks:
    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}

    def holding(self, streams: Sequence[str]) -> Held:
        """Hold ``streams`` in the order given: callers pass them in one global order (sorted,
        ordinary streams before hot ones), so two commands never wait for each other."""
        return Held(self, streams)

    def __len__(self) -> int:
        """Locks held or waited for now (tests: the table does not grow with streams)."""
        return len(self._entries)

    async def _acquire(self, stream: str) -> None:
        entry = self._entries.get(stream)
        if entry is None:
            entry = self._entries[stream] = _Entry()
        entry.users += 1
        try:
            await entry.lock.acquire()
        except BaseException:  # cancelled while waiting: no longer a user
            self._left(stream, entry)
            raise

    def _release(self, stream: str) -> None:
        entry = self._entries[stream]
        entry.lock.release()
        self._left(stream, entry)

    def _left(self, stream: str, entry: _Entry) -> None:
        entry.users -= 1
        if entry.users == 0:
            del self._entries[stream]


class Held:
    """Holds locks in order. Not a contextlib helper on purpose: those assign to the passing
    exception's ``__traceback__``/``__context__``, which a frozen DomainError refuses."""

    __slots__ = ("_locks", "_streams", "_taken")

    def __init__(self, locks: StreamLocks, streams: Sequence[str]) -> None:
        self._locks = locks
        self._streams = list(dict.fromkeys(streams))  # a stream named twice is held once
        self._taken: list[str] = []

    async def __aenter__(self) -> None:
        try:
            for stream in self._streams:
                await self._locks._acquire(stream)
                self._taken.append(stream)
        except BaseException:  # cancelled waiting for a later one: the earlier ones go back
            await self.__aexit__()
            raise

    async def __aexit__(self, *exc: object) -> None:
        for stream in reversed(self._taken):
            self._locks._release(stream)
        self._taken.clear()
