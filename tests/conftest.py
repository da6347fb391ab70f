"""Shared fixtures: one PostgreSQL server per session, a fresh migrated database per test."""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from harbour.eventstore.database import Database
from harbour.eventstore.store import EventStore
from harbour.runtime.database import migrate, open_database
from harbour.runtime.settings import url_with_database
from tests.pg import new_data_root, remove_data_root, test_postgres

TEMPLATE = "harbour_template"
_counter = itertools.count(1)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """The admin URL of this session's PostgreSQL server."""
    runtime_dir = Path(tempfile.mkdtemp(prefix="harbour-xdg-"))
    runtime_dir.chmod(0o700)
    os.environ["XDG_RUNTIME_DIR"] = str(runtime_dir)
    # On a RAM disk when there is one, never under pytest's basetemp (tests/pg.py says why).
    data_root = new_data_root()
    try:
        with test_postgres(data_root) as (url, source):
            print(f"\n[harbour tests] PostgreSQL from {source}, data in {data_root}")
            yield url
    finally:
        remove_data_root(data_root)
        shutil.rmtree(runtime_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def template_url(pg_server: str) -> str:
    """A database migrated to head once; every test database is a copy of it."""
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE}"')
        conn.execute(f'CREATE DATABASE "{TEMPLATE}"')
    url = url_with_database(pg_server, TEMPLATE)
    migrate(url)
    return url


def new_database(pg_server: str, template: str | None = TEMPLATE) -> str:
    name = f"t{os.getpid()}_{next(_counter)}"
    source = f' TEMPLATE "{template}" STRATEGY FILE_COPY' if template else ""
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"{source}')
    return url_with_database(pg_server, name)


def drop_database(pg_server: str, url: str) -> None:
    name = url.rsplit("/", 1)[-1].split("?", 1)[0]
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def database_url(pg_server: str, template_url: str) -> Iterator[str]:
    """A fresh database at the latest migration, dropped after the test."""
    url = new_database(pg_server)
    yield url
    drop_database(pg_server, url)


@pytest.fixture
def empty_database_url(pg_server: str) -> Iterator[str]:
    """A fresh database with no schema at all (for migration tests)."""
    url = new_database(pg_server, template=None)
    yield url
    drop_database(pg_server, url)


def utc_clock() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    database = await open_database(database_url, pool_size=20)
    yield database
    await database.close()


@pytest.fixture
def engine(database: Database) -> AsyncEngine:
    return database.engine


@pytest.fixture
async def store(database: Database) -> EventStore:
    return EventStore(database, clock=utc_clock)
