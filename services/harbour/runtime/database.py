"""Engines: the async one the services use, the sync one migrations use."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from harbour.eventstore.database import Database
from harbour.runtime.settings import libpq_url, sync_url

# The checkout this module lives in, when it runs from one (an editable install, the tests).
PROJECT_ROOT = Path(__file__).resolve().parents[3]
# The copy of migrations/ a built wheel carries (setup.py); a checkout has none.
PACKAGED_MIGRATIONS = Path(__file__).resolve().parents[1] / "_migrations"
# What alembic.ini sets besides script_location and prepend_sys_path (an installed harbour is
# importable as it is), for a Config built without the file; tests/unit hold the two equal.
ALEMBIC_OPTIONS = {"file_template": "%%(rev)s_%%(slug)s", "path_separator": "os"}
# How long a call waits for a pooled connection before it answers UNAVAILABLE: long enough
# for a burst to queue, short enough that a caller hears of a database outage in time to
# retry (with the same request_id) rather than hitting its own deadline.
POOL_WAIT_SECONDS = 10.0


# Every session may not sit idle inside a transaction: that would hold the feed's horizon back.
SESSION_OPTIONS = "-c idle_in_transaction_session_timeout=30000"


def login_url(url: str, role: str | None) -> str:
    """``url`` logging in as ``role`` itself, not the URL's user (the owner who migrates).

    A service session *is* its role: it holds only that role's privileges and cannot
    ``SET ROLE`` to any other (migration 0009), so the database's event-ownership check
    cannot be stepped around. The owner's password is not passed on to the role: a role's
    password comes from libpq's password file (PGPASSFILE, ~/.pgpass) or the server trusts
    the connection (the embedded server's private socket). ``role`` None, or the URL's own
    user, keeps the URL as it is (HARBOUR_DB_ROLE=-: a managed database's own login).
    """
    if role is None:
        return libpq_url(url)
    parsed = make_url(sync_url(url))
    if parsed.username == role:
        return libpq_url(url)
    switched = parsed._replace(username=role, password=None)  # set() keeps a None field
    return libpq_url(switched.render_as_string(hide_password=False))


def create_engine(
    url: str,
    *,
    role: str | None = "harbour_service",
    pool_size: int = 20,
    wait_timeout: float = POOL_WAIT_SECONDS,
) -> AsyncEngine:
    return create_async_engine(
        sync_url(login_url(url, role)),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=wait_timeout,
        # No ping per checkout (a round trip each): after a PostgreSQL restart the first
        # disconnect error invalidates the whole pool, and the next checkouts reconnect.
        pool_pre_ping=False,
        connect_args={"options": SESSION_OPTIONS},
    )


async def open_database(
    url: str,
    *,
    role: str | None = "harbour_service",
    pool_size: int = 20,
    wait_timeout: float = POOL_WAIT_SECONDS,
) -> Database:
    """The engine and the autocommit pool of one process (see harbour.eventstore.database),
    logged in as ``role`` (:func:`login_url`); ``wait_timeout``: the longest a call waits for
    a connection (then UNAVAILABLE)."""
    conninfo = login_url(url, role)
    pool = AsyncConnectionPool(
        conninfo,
        min_size=min(4, pool_size),
        max_size=pool_size,
        kwargs={"autocommit": True, "options": SESSION_OPTIONS},
        timeout=wait_timeout,
        open=False,
    )
    await pool.open(wait=True, timeout=30)
    engine = create_engine(url, role=role, pool_size=pool_size, wait_timeout=wait_timeout)
    return Database(engine, pool, conninfo=conninfo, options=SESSION_OPTIONS)


def migrations_root() -> Path:
    """The Alembic script directory (env.py, versions/): the copy an installed wheel carries
    (``harbour/_migrations``), else migrations/ in the checkout this module runs from. Neither
    depends on the working directory."""
    for root in (PACKAGED_MIGRATIONS, PROJECT_ROOT / "migrations"):
        if (root / "env.py").is_file():
            return root
    raise RuntimeError(
        f"no migrations in {PACKAGED_MIGRATIONS} nor in {PROJECT_ROOT / 'migrations'}: "
        "install harbour-ledger from a wheel (it carries them) or run from a checkout"
    )


def alembic_config(url: str) -> Config:
    """The Alembic configuration of `harbour migrate`, built in code (no alembic.ini on disk):
    the script directory of :func:`migrations_root`, ``url`` to migrate, and Alembic's logging
    left to the process (env.py configures none)."""
    config = Config()
    config.set_main_option("script_location", str(migrations_root()))
    for option, value in ALEMBIC_OPTIONS.items():
        config.set_main_option(option, value)
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
