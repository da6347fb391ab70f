"""Dropped connections on a real PostgreSQL: a LISTEN connection that is cut raises (a
follower reconnects instead of spinning on it), the append pool replaces every dead idle
connection as soon as one is found dead, and a database outage is told apart from a fault."""

from __future__ import annotations

import asyncio
import time

import psycopg
import pytest
import sqlalchemy as sa
import sqlalchemy.exc
from psycopg_pool import PoolTimeout

from harbour.eventstore.database import Database
from harbour.eventstore.notify import FeedListener
from harbour.eventstore.outage import is_database_outage
from harbour.runtime.database import open_database
from harbour.runtime.settings import libpq_url


def terminate(url: str, pids: list[int]) -> None:
    with psycopg.connect(libpq_url(url), autocommit=True) as admin:
        for pid in pids:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


def database_backends(url: str) -> list[int]:
    with psycopg.connect(libpq_url(url), autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return [int(pid) for (pid,) in rows]


async def test_a_cut_listen_connection_raises_at_once_every_time(
    database: Database, database_url: str
) -> None:
    async with FeedListener.for_database(database) as listener:
        assert await listener.wait(0.01) is False
        pid = listener._conn.info.backend_pid if listener._conn else 0
        await asyncio.to_thread(terminate, database_url, [pid])
        for _ in range(3):  # never a quiet False that a loop would spin on
            started = time.monotonic()
            with pytest.raises(psycopg.OperationalError) as lost:
                await listener.wait(2.0)
            assert time.monotonic() - started < 1.0
            assert is_database_outage(lost.value)


async def test_one_dead_connection_makes_the_pool_replace_every_dead_idle_one(
    database_url: str,
) -> None:
    database = await open_database(database_url, pool_size=4)
    try:
        for _ in range(2):  # every pooled connection (and the engine's) used once
            async with database.engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
        await database.pool.wait()
        assert database.pool.get_stats()["pool_available"] == 4
        await asyncio.to_thread(terminate, database_url, database_backends(database_url))

        with pytest.raises(psycopg.OperationalError) as dead:
            async with database.autocommit() as conn:
                await conn.execute("SELECT 1")
        assert is_database_outage(dead.value)
        assert database._sweep is not None
        await database._sweep  # the sweep the failure set off
        await database.pool.wait(timeout=10)

        # Every one of the next calls gets a live connection: without the sweep, each of the
        # three other stale connections would have failed one call.
        for _ in range(8):
            async with database.autocommit() as conn:
                await conn.execute("SELECT 1")
        async with database.engine.connect() as conn:  # the engine's stale one was closed too
            assert await conn.scalar(sa.text("SELECT 1")) == 1
    finally:
        await database.close()


def test_outages_are_told_apart_from_faults() -> None:
    admin_shutdown = psycopg.errors.AdminShutdown("terminating connection")
    lost = psycopg.OperationalError("consuming input failed: server closed the connection")
    wrapped = sqlalchemy.exc.OperationalError("SELECT 1", {}, admin_shutdown)
    invalidated = sqlalchemy.exc.InterfaceError(
        "SELECT 1", {}, psycopg.InterfaceError("closed"), connection_invalidated=True
    )
    for outage in (
        admin_shutdown,
        lost,
        psycopg.errors.CannotConnectNow("the database system is starting up"),
        psycopg.errors.TooManyConnections("too many clients"),
        PoolTimeout("couldn't get a connection after 10.00 sec"),
        sqlalchemy.exc.TimeoutError("QueuePool limit reached"),
        wrapped,
        invalidated,
    ):
        assert is_database_outage(outage), outage
    try:
        raise RuntimeError("while appending") from lost
    except RuntimeError as chained:
        assert is_database_outage(chained)
    for fault in (
        psycopg.errors.QueryCanceled("canceling statement due to statement timeout"),
        psycopg.errors.UniqueViolation("duplicate key"),
        psycopg.errors.LockNotAvailable("could not obtain lock"),
        sqlalchemy.exc.ProgrammingError("SELECT", {}, psycopg.errors.UndefinedTable("x")),
        ValueError("a bug"),
    ):
        assert not is_database_outage(fault), fault
