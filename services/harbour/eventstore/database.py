"""The two ways the store reaches PostgreSQL.

* ``engine`` — SQLAlchemy Core (async): transactional work such as projections and queries.
* ``pool`` — a psycopg pool of autocommit connections for the one-statement hot paths
  (append, command lookup). Measured here: SQLAlchemy's checkout/checkin adds two round trips
  per call (isolation-level reset, rollback on return), which halves append throughput.

After PostgreSQL restarts, every idle connection in both is dead, and each would fail one
more call. So as soon as any connection is found dead (an ``autocommit`` call, a LISTEN
connection), ``check_idle_connections`` tests the pool's idle connections (``pool.check``)
and closes the engine's (``dispose``): once the server is back, calls get fresh connections.
No ping per checkout: that would be a round trip on every call.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger("harbour.database")


@dataclass
class Database:
    engine: AsyncEngine
    pool: AsyncConnectionPool[psycopg.AsyncConnection[Any]]
    conninfo: str = ""  # for dedicated connections (LISTEN)
    options: str = ""  # libpq options every session uses (role, timeouts)
    _sweep: asyncio.Task[None] | None = field(default=None, init=False, repr=False)

    def autocommit(self) -> _Checkout:
        # A thin wrapper of the pool's own context manager: this sits on every append.
        return _Checkout(self)

    def check_idle_connections(self) -> None:
        """A connection was found dead: the server restarted or went away, so every idle
        connection is suspect. Test the pool's (replacing the dead) and close the engine's
        (it opens new ones on demand), one sweep at a time, in the background."""
        if self._sweep is None or self._sweep.done():
            self._sweep = asyncio.get_running_loop().create_task(self._check_pools())

    async def _check_pools(self) -> None:
        try:
            await self.pool.check()
            await self.engine.dispose()  # idle connections only: checked-out ones finish
        except Exception as exc:  # both reconnect on their own; this only speeds it up
            log.warning("idle connections not checked: %s", exc)

    async def close(self) -> None:
        if self._sweep is not None:
            self._sweep.cancel()
        await self.pool.close()
        await self.engine.dispose()


class _Checkout:
    """``async with database.autocommit() as conn``: the pool's checkout, and on a connection
    failure a check of the pool's idle connections."""

    __slots__ = ("_database", "_inner")

    def __init__(self, database: Database) -> None:
        self._database = database
        self._inner = database.pool.connection()

    async def __aenter__(self) -> psycopg.AsyncConnection[Any]:
        try:
            return await self._inner.__aenter__()
        except PoolTimeout:  # no connection free in time: a busy pool, not a dead one
            raise
        except psycopg.OperationalError:
            self._database.check_idle_connections()
            raise

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool | None:
        if isinstance(exc, psycopg.OperationalError):
            self._database.check_idle_connections()
        return await self._inner.__aexit__(kind, exc, traceback)
