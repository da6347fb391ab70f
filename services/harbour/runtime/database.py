"""Engines: the async one the services use, the sync one migrations use."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from harbour.eventstore.database import Database
from harbour.runtime.settings import libpq_url, sync_url

PROJECT_ROOT = Path(__file__).resolve().parents[3]
# How long a call waits for a pooled connection before it answers UNAVAILABLE: long enough
# for a burst to queue, short enough that a caller hears of a database outage in time to
# retry (with the same request_id) rather than hitting its own deadline.
POOL_WAIT_SECONDS = 10.0


def _options(role: str | None) -> str:
    # Every session acts as the service role (INSERT/SELECT on events, nothing more) and may
    # not sit idle inside a transaction: that would hold the feed's horizon back.
    options = "-c idle_in_transaction_session_timeout=30000"
    if role:
        options += f" -c role={role}"
    return options


def create_engine(
    url: str,
    *,
    role: str | None = "harbour_service",
    pool_size: int = 20,
    wait_timeout: float = POOL_WAIT_SECONDS,
) -> AsyncEngine:
    return create_async_engine(
        sync_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=wait_timeout,
        # No ping per checkout (a round trip each): after a PostgreSQL restart the first
        # disconnect error invalidates the whole pool, and the next checkouts reconnect.
        pool_pre_ping=False,
        connect_args={"options": _options(role)},
    )


async def open_database(
    url: str,
    *,
    role: str | None = "harbour_service",
    pool_size: int = 20,
    wait_timeout: float = POOL_WAIT_SECONDS,
) -> Database:
    """The engine and the autocommit pool of one process (see harbour.eventstore.database);
    ``wait_timeout``: the longest a call waits for a connection (then UNAVAILABLE)."""
    pool = AsyncConnectionPool(
        libpq_url(url),
        min_size=min(4, pool_size),
        max_size=pool_size,
        kwargs={"autocommit": True, "options": _options(role)},
        timeout=wait_timeout,
        open=False,
    )
    await pool.open(wait=True, timeout=30)
    engine = create_engine(url, role=role, pool_size=pool_size, wait_timeout=wait_timeout)
    return Database(engine, pool, conninfo=libpq_url(url), options=_options(role))


def alembic_config(url: str) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.attributes["url"] = url
    config.attributes["configure_logging"] = False
    return config


def migrate(url: str, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (as the database owner, not the service role)."""
    command.upgrade(alembic_config(url), revision)


def current_revision(url: str) -> str | None:
    engine = sa.create_engine(sync_url(url), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()
