"""LISTEN/NOTIFY wake-ups for feed readers. They only wake readers: the feed query decides.

NOTIFY is never sent inside an append's transaction: PostgreSQL serialises the commits of
notifying transactions behind a global lock, which would cap appends at one commit at a time.
Instead each process coalesces its appends into at most one NOTIFY per ``interval`` sent on
its own autocommit connection after the fact. A lost wake-up costs one poll interval, never an
event: readers still poll on a timeout.
"""

from __future__ import annotations

import asyncio
import logging
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

    def poke(self) -> None:
        """Something was appended: make sure one NOTIFY follows soon."""
        if self._pending is None or self._pending.done():
            self._pending = asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        await asyncio.sleep(self._interval)
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
