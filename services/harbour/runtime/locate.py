"""Where a `harbour` command finds its database, and the one line it says when it cannot.

HARBOUR_DATABASE_URL when set; otherwise the PostgreSQL that `harbour up` (`make up`) runs in
HARBOUR_DATA_DIR, found from the port and socket directory PostgreSQL wrote into its
``postmaster.pid``. Nothing here starts or initialises a server: a command pointed at an empty
directory says how to reach the real database instead of making itself an empty one.
"""

from __future__ import annotations

from pathlib import Path

from harbour.runtime.embedded import running_server_url
from harbour.runtime.settings import Settings, libpq_url, sync_url

CONNECT_TIMEOUT_SECONDS = 5
HOW_TO_POINT = "set HARBOUR_DATABASE_URL=postgresql://USER@HOST:PORT/harbour or run make up"


class NoDatabase(Exception):
    """No database to work on; the message says in one line how to point the CLI at one."""


def locate_database(data_dir: Path, database: str) -> str:
    """The URL of ``database`` on the server `harbour up` runs in ``data_dir``.

    Raises :class:`NoDatabase` when none runs there, naming the default data directory's
    server when that one runs (the usual slip: another HARBOUR_DATA_DIR than `make up`'s).
    """
    pgdata = data_dir / "pgdata"
    found = running_server_url(pgdata, database)
    if found is not None:
        return found
    default = Settings().data_dir
    if data_dir != default:
        elsewhere = running_server_url(default / "pgdata", database)
        if elsewhere is not None:
            raise NoDatabase(
                f"no PostgreSQL runs in {pgdata} (HARBOUR_DATA_DIR), but `make up` runs one in "
                f"{default / 'pgdata'}: unset HARBOUR_DATA_DIR or set "
                f"HARBOUR_DATABASE_URL={elsewhere}"
            )
    raise NoDatabase(f"no PostgreSQL runs in {pgdata}: {HOW_TO_POINT}")


def check_database(url: str, *, migrated: bool) -> None:
    """Connect once (a few seconds at most) so that a wrong URL is one clear line, not a pool
    retrying for half a minute; with ``migrated``, also require the ledger's schema (without
    it, the services' roles do not exist either)."""
    import psycopg

    shown = displayed(url)
    try:
        with psycopg.connect(libpq_url(url), connect_timeout=CONNECT_TIMEOUT_SECONDS) as conn:
            row = conn.execute("SELECT to_regclass('events') IS NOT NULL").fetchone()
    except psycopg.Error as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise NoDatabase(f"cannot connect to {shown} ({reason}): {HOW_TO_POINT}") from None
    if migrated and not (row and row[0]):
        raise NoDatabase(
            f"{shown} holds no ledger schema: run harbour migrate against it "
            "(HARBOUR_DATABASE_URL), or use the database make up runs"
        )


def displayed(url: str) -> str:
    """The URL as it may be printed: without its password."""
    from sqlalchemy.engine import make_url

    rendered = make_url(sync_url(url)).render_as_string(hide_password=True)
    return libpq_url(rendered)
