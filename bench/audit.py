"""Audit benchmark: `python -m bench.audit` (`make bench-audit`).

* `harbour audit verify` over 1,000,000 events (every hash chain), next to a raw COPY read of
  the same rows in the same run (the ceiling: reading without checking anything), and next
  to the row-by-row verifier it replaced (``ChainVerifier``, over the first 100,000 events);
* replay of one account with 10,000 events and re-derivation of 100,000 decisions
  (bench/audit_state.py).

The million events are the shapes a real book writes (deposits and collateral with their
journals, advances with their decision basis, daily interest), interleaved across 10,000
accounts as a day of business interleaves them, each with the metadata of its own command.
They are seeded with COPY by the owner with the triggers off (as bench/store.py does), each
hash computed by the store's own functions (``harbour.eventstore.encoding``): the database's
chain trigger would check each row again at a hundredth of the speed, and a test already holds
the trigger and those functions to the same bytes (tests/integration/test_integrity.py).
"""

from __future__ import annotations

import asyncio
import io
import os
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg

from bench.audit_state import accruals, advances, opening, state_rows
from bench.common import Report, Row, Target, embedded_server, environment, fresh_database
from harbour.application.outcome import new_event
from harbour.audit.auditor import verify_chains
from harbour.eventstore.encoding import canonical_json, chain_hash, event_content
from harbour.eventstore.store import EventStore
from harbour.eventstore.verify import verify_store
from harbour.ledger import events as ev
from harbour.runtime.database import login_url, open_database
from harbour.runtime.settings import libpq_url

ACCOUNTS = 10_000
EVENTS_PER_ACCOUNT = 100
EVENTS = ACCOUNTS * EVENTS_PER_ACCOUNT
ROW_BY_ROW_EVENTS = 100_000  # the old verifier is too slow for the million
TARGET_EVENTS_PER_S = 200_000
CLIENT = "C000000"  # every template's client; same width as the bench's ids
T0 = datetime(2026, 1, 5, 1, 30, tzinfo=UTC)
COPY_IN = (
    "COPY events (stream_id, version, type, schema_version, recorded_at, hash, content) FROM STDIN"
)
COPY_READ = "raw COPY read (ceiling)"
VERIFY = "harbour audit verify (every hash chain)"


def now() -> datetime:
    return datetime.now(UTC)


def templates() -> list[tuple[str, str]]:
    """(type, canonical data) of an account's life, for client CLIENT: its opening, then a
    cycle of what a borrower's stream mostly holds."""
    _, draws = advances(CLIENT, 2)
    life: list[ev.Event] = [*opening(CLIENT, "1000000.00"), *accruals(CLIENT, 1), draws[-1]]
    return [(e.type, canonical_json(e.data)) for e in map(new_event, life)]


def rows() -> Iterator[str]:
    """COPY text of EVENTS events: one event of every account per round, rounds in order."""
    shapes = templates()
    opening_count, cycle = 4, shapes[4:]
    heads: dict[str, bytes] = {}
    position = 0
    for version in range(1, EVENTS_PER_ACCOUNT + 1):
        if version <= opening_count:
            event_type, template = shapes[version - 1]
        else:
            event_type, template = cycle[version % len(cycle)]
        for account in range(ACCOUNTS):
            position += 1
            client = f"C{account:06d}"
            stream = f"account-{client}"
            data = template.replace(CLIENT, client)
            metadata = (
                f'{{"actor":"desk-{account % 50:02d}","correlation_id":"{position:032x}",'
                f'"request_id":"req-{position:012d}","service":"lending"}}'
            )
            # Every 16th instant falls on a whole second (the timestamp's short text form).
            at = T0 + timedelta(microseconds=position * 997 if position % 16 else 0)
            content = event_content(
                stream_id=stream,
                version=version,
                event_type=event_type,
                schema_version=1,
                data_json=data,
                metadata_json=metadata,
                recorded_at=at,
            )
            digest = chain_hash(heads.get(stream, b""), content)
            heads[stream] = digest
            yield (
                f"{stream}\t{version}\t{event_type}\t1\t"
                f"{at.isoformat()}\t\\\\x{digest.hex()}\t\\\\x{content.hex()}\n"
            )


def seed(url: str) -> float:
    started = time.perf_counter()
    # The owner's session with the triggers off: see the module docstring.
    with (
        psycopg.connect(
            libpq_url(url), autocommit=True, options="-c session_replication_role=replica"
        ) as conn,
        conn.cursor() as cursor,
    ):
        with cursor.copy(COPY_IN) as copy:
            batch: list[str] = []
            for line in rows():
                batch.append(line)
                if len(batch) == 10_000:
                    copy.write("".join(batch))
                    batch.clear()
            copy.write("".join(batch))
        cursor.execute("VACUUM ANALYZE events")
    return time.perf_counter() - started


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


def verify(url: str, parts: int | None = None) -> tuple[int, float, bool, int]:
    """What `harbour audit verify` runs for the chains, as the services' role."""
    started = time.perf_counter()
    scan = verify_chains(login_url(url, "harbour_service"), parts=parts)
    return scan.events_checked, time.perf_counter() - started, scan.intact, scan.parts


async def row_by_row(url: str) -> tuple[int, float, bool]:
    database = await open_database(url, pool_size=2)
    started = time.perf_counter()
    verifier = await verify_store(EventStore(database, clock=now), up_to_position=ROW_BY_ROW_EVENTS)
    elapsed = time.perf_counter() - started
    await database.close()
    return verifier.events_checked, elapsed, verifier.intact


def main() -> None:
    with embedded_server() as admin:
        url = fresh_database(admin, "bench_audit")
        seeded = seed(url)
        print(f"seeded {EVENTS:,} events in {seeded:.1f} s", file=sys.stderr)
        report = Report("Audit", environment=environment(admin))
        # Best of two of each (the machine is shared): the ceiling and the verifier alike.
        ceiling = min(copy_read(url) for _ in range(2))
        report.rows.append(Row(COPY_READ, 1, EVENTS, ceiling))
        runs = [verify(url) for _ in range(2)]
        checked, seconds, intact, parts = min(runs, key=lambda run: run[1])
        report.rows.append(
            Row(
                VERIFY,
                parts,
                checked,
                seconds,
                baseline=COPY_READ,
                note=f"{parts} processes; {'intact' if intact else 'BROKEN'}",
            )
        )
        one = verify(url, parts=1)
        report.rows.append(
            Row(
                "harbour audit verify, one process",
                1,
                one[0],
                one[1],
                baseline=COPY_READ,
                note="intact" if one[2] else "BROKEN",
            )
        )
        old = asyncio.run(row_by_row(url))
        report.rows.append(
            Row(
                "row-by-row verifier it replaced (ChainVerifier)",
                1,
                old[0],
                old[1],
                baseline=COPY_READ,
                note="intact" if old[2] else "BROKEN",
            )
        )
        # State rebuilt from raw events and decisions re-derived (harbour.audit).
        report.rows += asyncio.run(state_rows(fresh_database(admin, "bench_audit_state")))
        verify_rate = checked / seconds
        report.targets = [
            Target("chains intact", float(intact and one[2] and old[2]), 1.0, ""),
            Target("audit verify", verify_rate, TARGET_EVENTS_PER_S, "events/s"),
        ]
    print(report.markdown())
    report.save("audit")


if __name__ == "__main__":
    os.environ.setdefault("HARBOUR_LOG_LEVEL", "WARNING")
    main()
