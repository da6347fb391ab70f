"""Telling a database outage from any other failure.

An outage — PostgreSQL restarting or failing over, a dropped connection, no connection to be
had from a pool in time — is transient and says nothing about the request: a caller is told
UNAVAILABLE (retry with the same request_id), a background loop is restarted by its
supervisor. Any other error is a fault in the request or in the code and must not be retried
blindly. Both drivers are recognised: psycopg (the append pool, LISTEN connections) and
SQLAlchemy (the engine), whose errors wrap psycopg's.
"""

from __future__ import annotations

import psycopg
import sqlalchemy.exc
from psycopg_pool import PoolTimeout, TooManyRequests

# SQLSTATE classes of an unavailable server: 08 connection exception, 53 insufficient
# resources (too many connections, disk full), 57 operator intervention (shutdown, "the
# database system is starting up") — except a cancelled statement, which is the request's.
OUTAGE_SQLSTATE_CLASSES = frozenset({"08", "53", "57"})
NOT_AN_OUTAGE = frozenset({"57014"})  # query_canceled (a statement timeout or a cancel)
CAUSES_FOLLOWED = 5


def is_database_outage(exc: BaseException) -> bool:
    """Whether ``exc`` (or what it was raised from) means the database could not be reached."""
    current: BaseException | None = exc
    for _ in range(CAUSES_FOLLOWED):
        if current is None:
            return False
        if _is_outage(current):
            return True
        current = current.__cause__
    return False


def _is_outage(exc: BaseException) -> bool:
    if isinstance(exc, PoolTimeout | TooManyRequests | sqlalchemy.exc.TimeoutError):
        return True  # no connection to be had in time (the server is away, or swamped)
    if isinstance(exc, sqlalchemy.exc.DBAPIError):
        return bool(exc.connection_invalidated) or (
            isinstance(exc.orig, BaseException) and _is_outage(exc.orig)
        )
    if isinstance(exc, psycopg.OperationalError):
        sqlstate = exc.sqlstate
        if sqlstate is None:  # raised by the client: refused, lost, closed, timed out
            return True
        return sqlstate[:2] in OUTAGE_SQLSTATE_CLASSES and sqlstate not in NOT_AN_OUTAGE
    return False
