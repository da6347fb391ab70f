"""The two ways the store reaches PostgreSQL.

* ``engine`` — SQLAlchemy Core (async): transactional work such as projections and queries.
* ``pool`` — a psycopg pool of autocommit connections for the one-statement hot paths
  (append, command lookup). Measured here: SQLAlchemy's checkout/checkin adds two round trips
  per call (isolation-level reset, rollback on return), which halves append throughput.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.ext.asyncio import AsyncEngine


@dataclass
class Database:
    engine: AsyncEngine
    pool: AsyncConnectionPool[psycopg.AsyncConnection[Any]]
    conninfo: str = ""  # for dedicated connections (LISTEN)
    options: str = ""  # libpq options every session uses (role, timeouts)

    def autocommit(self) -> AbstractAsyncContextManager[psycopg.AsyncConnection[Any]]:
        # The pool's own context manager, unwrapped: this sits on every append.
        return self.pool.connection()

    async def close(self) -> None:
        await self.pool.close()
        await self.engine.dispose()
