"""LISTEN/NOTIFY wake-ups for feed readers. They only wake readers: the feed query decides.

PostgreSQL serialises the commits of notifying transactions behind a global lock, so a NOTIFY
in every append would cap appends at one commit at a time. Each process therefore coalesces
its appends into at most about one NOTIFY per ``interval``, and that NOTIFY rides in the
statement of a later append (``FeedNotifier.claim``): one commit carries both, instead of a
commit of its own. Only when no append comes along within ``interval`` is it sent on its own
autocommit connection. A lost wake-up costs one poll interval, never an event: readers still
poll on a timeout.

Two kinds of listener. A background loop (projector, risk monitor) holds its own
``FeedListener``, whose ``wait`` raises once the connection is lost, so its supervisor restarts
it. Feed subscribers (every service's ``Subscribe``) share the process's one ``SharedFeed``: a
single LISTEN connection whose wake-ups are fanned out to every waiting subscriber, and which
reconnects by itself with backoff — meanwhile subscribers simply poll. Hundreds of open
subscriptions therefore hold one PostgreSQL connection, not one each.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import math
from collections.abc import Callable
from typing import Any

import psycopg

from harbour.eventstore.database import Database

CHANNEL = "harbour_feed"
log = logging.getLogger("harbour.feed")


class FeedNotifier:
    def __init__(self, database: Database, *, interval: float = 0.005) -> None:
        self._database = database
        self._interval = interval
        self._pending: asyncio.Task[None] | None = None
        self._since: float | None = None  # loop time of the first append not yet notified

    def claim(self) -> bool:
        """Whether the append about to run should send the NOTIFY in its own statement: an
        append has waited half an interval for its wake-up. The caller pokes again if its
        statement fails (its NOTIFY then never went)."""
        if self._since is None or self._now() - self._since < self._interval / 2:
            return False
        self._since = None
        return True

    def poke(self) -> None:
        """Something was appended: make sure one NOTIFY follows soon."""
        if self._since is None:
            self._since = self._now()
        if self._pending is None or self._pending.done():
            self._pending = asyncio.get_running_loop().create_task(self._notify())

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    async def _notify(self) -> None:
        while self._since is not None:
            await asyncio.sleep(max(0.0, self._since + self._interval - self._now()))
            if self._since is None:
                return  # an append's statement carried it
            self._since = None
            try:
                async with self._database.autocommit() as conn:
                    await conn.execute("SELECT pg_notify(%s, '')", (CHANNEL,))
            except psycopg.Error as exc:  # readers fall back to polling; the append stands
                log.warning("feed wake-up not sent: %s", exc)

    async def drain(self) -> None:
        if self._pending is not None:
            await self._pending


class FeedListener:
    """A dedicated connection LISTENing on the feed channel.

    ``pace`` (seconds) spaces a follower's rounds: a wake-up sooner than that after the
    previous round waits out the rest. Idle, the first event is read at once; under load a
    round reads the events of many commits in one page instead of paying a round per commit.
    """

    def __init__(
        self,
        conninfo: str,
        *,
        pace: float = 0.0,
        on_lost: Callable[[], None] | None = None,
        **kwargs: Any,
    ) -> None:
        self._conninfo = conninfo
        self._pace = pace
        self._on_lost = on_lost  # told when the connection fails: the server may have gone
        self._kwargs = kwargs
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._round_began = 0.0

    @classmethod
    def for_database(cls, database: Database, *, pace: float = 0.0) -> FeedListener:
        return cls(
            database.conninfo,
            pace=pace,
            on_lost=database.check_idle_connections,
            options=database.options,
        )

    async def __aenter__(self) -> FeedListener:
        try:
            self._conn = await psycopg.AsyncConnection.connect(
                self._conninfo, autocommit=True, **self._kwargs
            )
            await self._conn.execute(f"LISTEN {CHANNEL}")
        except psycopg.OperationalError:
            self._lost()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._conn is not None:
            await self._conn.close()

    async def wait(self, seconds: float) -> bool:
        """True when woken by a NOTIFY, False after ``seconds`` of quiet. Raises
        psycopg.OperationalError once the connection is lost (a PostgreSQL restart, a dropped
        connection): a follower must reconnect, not poll a dead connection in a tight loop."""
        assert self._conn is not None, "use FeedListener as an async context manager"
        if self._conn.broken or self._conn.closed:
            self._lost()
            raise psycopg.OperationalError("the feed's LISTEN connection is lost")
        woken = False
        try:
            async for _ in self._conn.notifies(timeout=seconds, stop_after=1):
                woken = True
        except psycopg.OperationalError:
            self._lost()
            raise
        loop = asyncio.get_running_loop()
        early = self._round_began + self._pace - loop.time()
        if woken and early > 0:
            await asyncio.sleep(early)
        self._round_began = loop.time()
        return woken

    def _lost(self) -> None:
        if self._on_lost is not None:
            self._on_lost()


class SharedFeed:
    """One LISTEN connection for a whole process, its wake-ups fanned out to subscribers.

    Started by the first ``waiter()``; reconnects by itself (capped exponential backoff) until
    ``close()``. Every (re)connection wakes every waiter once: a NOTIFY sent while nothing
    listened is lost, so each subscriber reads the feed again rather than trusting it.
    """

    # A quiet connection is tested this often, so a half-dead one is replaced.
    CHECK_SECONDS = 30.0

    def __init__(
        self,
        conninfo: str,
        *,
        on_lost: Callable[[], None] | None = None,
        first_retry: float = 0.2,
        max_retry: float = 5.0,
        **kwargs: Any,
    ) -> None:
        self._conninfo = conninfo
        self._on_lost = on_lost
        self._first_retry, self._max_retry = first_retry, max_retry
        self._kwargs = kwargs
        self._generation = 0  # wake-ups so far
        self._woken: asyncio.Event | None = None  # set (and replaced) at every wake-up
        self._task: asyncio.Task[None] | None = None
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._listened = False  # the last connection got as far as LISTEN
        self.connections = 0  # LISTEN connections opened so far (the first, then reconnects)

    @classmethod
    def for_database(cls, database: Database) -> SharedFeed:
        return cls(
            database.conninfo, on_lost=database.check_idle_connections, options=database.options
        )

    @property
    def connected(self) -> bool:
        return self._conn is not None and not self._conn.closed

    @property
    def backend_pid(self) -> int | None:
        """The LISTEN connection's server process (for operators and tests), if connected."""
        return self._conn.info.backend_pid if self._conn is not None else None

    def waiter(self) -> FeedWaiter:
        """A subscriber's handle; create it before the subscriber's first read of the feed."""
        if self._task is None or self._task.done():
            # A fresh context: the listener outlives the call that happened to start it.
            self._task = asyncio.get_running_loop().create_task(
                self._listen(), name="harbour-shared-feed", context=contextvars.Context()
            )
        return FeedWaiter(self, self._generation)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    @property
    def generation(self) -> int:
        return self._generation

    def woken(self) -> asyncio.Event:
        if self._woken is None:
            self._woken = asyncio.Event()
        return self._woken

    def _wake(self) -> None:
        self._generation += 1
        if self._woken is not None:
            self._woken.set()
            self._woken = None

    async def _listen(self) -> None:
        failures = 0
        while True:
            try:
                await self._listen_once()
            except (psycopg.Error, OSError) as exc:
                log.warning("shared feed LISTEN connection lost: %s", exc)
            failures = 0 if self._listened else failures + 1
            if self._on_lost is not None:
                self._on_lost()
            await asyncio.sleep(min(self._max_retry, self._first_retry * 2 ** max(0, failures)))

    async def _listen_once(self) -> None:
        self._listened = False
        conn = await psycopg.AsyncConnection.connect(
            self._conninfo, autocommit=True, **self._kwargs
        )
        try:
            await conn.execute(f"LISTEN {CHANNEL}")
            self._conn, self._listened = conn, True
            self.connections += 1
            self._wake()
            while True:
                async for _ in conn.notifies(timeout=self.CHECK_SECONDS):
                    self._wake()
                await conn.execute("SELECT 1")  # quiet: is the connection still there?
        finally:
            self._conn = None
            await conn.close()


class FeedWaiter:
    """One subscriber's view of the shared feed: waits for the next wake-up after its own
    last look, so a NOTIFY between its read and its wait is never lost.

    Quiet polls are aligned on a grid of ``seconds`` for every waiter of the process, so the
    subscribers that are caught up poll at the same instants (and their identical reads can be
    made once)."""

    def __init__(self, feed: SharedFeed, seen: int) -> None:
        self._feed = feed
        self._seen = seen

    async def wait(self, seconds: float) -> bool:
        """True when woken since the last call, False after a quiet poll interval. Never raises
        for a lost connection: the shared feed reconnects, and polling covers the gap."""
        feed = self._feed
        if feed.generation == self._seen:
            loop = asyncio.get_running_loop()
            now = loop.time()
            until = math.floor(now / seconds + 1) * seconds
            try:
                async with asyncio.timeout_at(until):
                    await feed.woken().wait()
            except TimeoutError:
                pass
        woken = feed.generation != self._seen
        self._seen = feed.generation
        return woken
