"""Audit replay benchmark: `python -m bench.audit`.

Recomputes every hash chain over 100,000 events (what `harbour audit verify` does) next to
a raw COPY of the same rows (the ceiling: reading without verifying anything).
"""

from __future__ import annotations

import asyncio
import io
import time
from datetime import UTC, datetime

import psycopg

from bench.audit_state import state_rows
from bench.common import Report, Row, Target, embedded_server, environment, fresh_database
from harbour.eventstore.model import NewEvent
from harbour.eventstore.store import EventStore
from harbour.eventstore.verify import verify_store
from harbour.runtime.database import open_database
from harbour.runtime.settings import libpq_url

EVENTS = 100_000
DATA = {"amount": "125.50", "asset": "HKD", "client_id": "C000123", "reference": "bench"}


def now() -> datetime:
    return datetime.now(UTC)


async def load(url: str) -> None:
    database = await open_database(url, pool_size=4)
    store = EventStore(database, clock=now)
    for k in range(EVENTS // 500):
        await store.append(
            f"audit-{k}", [NewEvent("CashDeposited", DATA)] * 500, expected_version=0
        )
    await database.close()


async def verify(url: str) -> tuple[int, float, bool]:
    database = await open_database(url, pool_size=2)
    started = time.perf_counter()
    verifier = await verify_store(EventStore(database, clock=now))
    elapsed = time.perf_counter() - started
    await database.close()
    return verifier.events_checked, elapsed, verifier.intact


def copy_read(url: str) -> float:
    sink = io.BytesIO()
    started = time.perf_counter()
    with (
        psycopg.connect(libpq_url(url)) as conn,
        conn.cursor() as cursor,
        cursor.copy("COPY (SELECT * FROM events ORDER BY position) TO STDOUT") as copy,
    ):
        for block in copy:
            sink.write(block)
    return time.perf_counter() - started


def main() -> None:
    with embedded_server() as admin:
        url = fresh_database(admin, "bench_audit")
        asyncio.run(load(url))
        report = Report("Audit replay", environment=environment(admin))
        report.rows.append(Row("raw COPY read (ceiling)", 1, EVENTS, copy_read(url)))
        checked, seconds, intact = asyncio.run(verify(url))
        report.rows.append(
            Row(
                "audit verify (every hash chain)",
                1,
                checked,
                seconds,
                baseline="raw COPY read (ceiling)",
                note="intact" if intact else "BROKEN",
            )
        )
        # State rebuilt from raw events and decisions re-derived (harbour.audit).
        report.rows += asyncio.run(state_rows(fresh_database(admin, "bench_audit_state")))
        report.targets = [Target("chains intact", float(intact), 1.0, "")]
    print(report.markdown())
    report.save("audit")


if __name__ == "__main__":
    main()
