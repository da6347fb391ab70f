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

A call's deadline bounds its reads: the runtime binds the instant a call must be answered by
(``statement_deadline``), and every engine transaction begun within the call starts with
``SET LOCAL statement_timeout`` to the time left. PostgreSQL then cancels a statement that
would outlive its caller (query_canceled, answered DEADLINE_EXCEEDED) instead of running it
for nobody. Background loops bind nothing and are unaffected.

Feed subscribers in one process share one LISTEN connection (``shared_feed``).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from harbour.eventstore.notify import SharedFeed

log = logging.getLogger("harbour.database")

# The current call's bound on its statements: (the event-loop time (loop.time()) its caller's
# deadline falls at, or None without one; the longest any one statement may run).
StatementBound = tuple[float | None, float]
_statement_bound: contextvars.ContextVar[StatementBound | None] = contextvars.ContextVar(
    "harbour_statement_bound", default=None
)


def bind_statement_deadline(
    seconds_left: float | None, cap: float
) -> contextvars.Token[StatementBound | None]:
    """The current call (task) must be answered within ``seconds_left`` (None: no deadline),
    and none of its statements may run longer than ``cap`` seconds."""
    now = asyncio.get_running_loop().time()
    return _statement_bound.set((None if seconds_left is None else now + seconds_left, cap))


def unbind_statement_deadline(token: contextvars.Token[StatementBound | None]) -> None:
    _statement_bound.reset(token)


def statement_timeout_ms() -> int | None:
    """The longest the next statement of the current call may run, in whole milliseconds (at
    least 1: 0 would mean no timeout at all), or None outside a call."""
    bound = _statement_bound.get()
    if bound is None:
        return None
    deadline, cap = bound
    seconds = cap
    if deadline is not None:
        seconds = min(cap, deadline - asyncio.get_running_loop().time())
    return max(1, int(seconds * 1000))


def _bound_by_deadline(conn: Any) -> None:
    # SQLAlchemy's "begin" event, inside the transaction it begins (a SET takes no snapshot,
    # so SET TRANSACTION ISOLATION LEVEL may still follow).
    timeout = statement_timeout_ms()
    if timeout is not None:
        conn.exec_driver_sql(f"SET LOCAL statement_timeout = {timeout}")


@dataclass
class Database:
    engine: AsyncEngine
    pool: AsyncConnectionPool[psycopg.AsyncConnection[Any]]
    conninfo: str = ""  # for dedicated connections (LISTEN)
    options: str = ""  # libpq options every session uses (role, timeouts)
    _sweep: asyncio.Task[None] | None = field(default=None, init=False, repr=False)
    _feed: SharedFeed | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        event.listen(self.engine.sync_engine, "begin", _bound_by_deadline)

    def shared_feed(self) -> SharedFeed:
        """The process's one LISTEN connection, shared by every feed subscriber."""
        if self._feed is None:
            from harbour.eventstore.notify import SharedFeed

            self._feed = SharedFeed.for_database(self)
        return self._feed

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
        if self._feed is not None:
            await self._feed.close()
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
