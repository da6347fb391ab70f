"""Event-store benchmark: `make bench-store` (python -m bench.store).

Every figure is measured in the same run, on the same embedded PostgreSQL, next to its ceiling
(raw psycopg doing the same writes or reads with none of the store's guarantees) and its peer
(the `eventsourcing` library's PostgreSQL recorder).
"""

from __future__ import annotations

import asyncio
import io
import json
import threading
import time
import uuid
from datetime import UTC, datetime

import psycopg
from sqlalchemy.engine import make_url

from bench.common import Report, Row, Target, embedded_server, environment, fresh_database
from harbour.eventstore.model import START, NewEvent
from harbour.eventstore.projections import ProjectionRunner, StreamHeads
from harbour.eventstore.store import EventStore
from harbour.runtime.database import open_database
from harbour.runtime.settings import libpq_url, sync_url

WRITERS = 16
SINGLE_EVENTS = 8_000
SINGLE_EVENTS_ONE_WRITER = 1_500
BATCH = 100
BATCH_EVENTS = WRITERS * 12 * BATCH
PEER_EVENTS = 4_000
FEED_EVENTS = 200_000
DATA = {"amount": "125.50", "asset": "HKD", "client_id": "C000123", "reference": "bench"}

RAW_1 = "raw INSERT, 1 event/tx (ceiling)"
RAW_100 = "raw INSERT, 100 events/tx (ceiling)"
HARBOUR_1 = "harbour append, 1 event/command, 1 writer"
HARBOUR_16 = "harbour append, 1 event/command"
HARBOUR_100 = "harbour append, 100 events/command"
PEER_1 = "eventsourcing, 1 event/tx (peer, 1 thread)"
PEER_16 = "eventsourcing, 1 event/tx (peer)"
COPY = "raw COPY read (ceiling)"
FEED = "harbour feed read"
REBUILD = "harbour projection rebuild (stream_heads)"

RAW_INSERT = (
    "INSERT INTO events (stream_id, version, type, schema_version, data, metadata, "
    "recorded_at, hash) VALUES (%s, %s, 'CashDeposited', 1, %s, %s, %s, %s)"
)


def now() -> datetime:
    return datetime.now(UTC)


async def harbour_appends(url: str, writers: int, total: int, batch: int) -> float:
    database = await open_database(url, pool_size=writers + 2)
    store = EventStore(database, clock=now)
    commands = total // writers // batch
    run = uuid.uuid4().hex[:6]

    async def writer(n: int) -> None:
        for k in range(commands):
            await store.append(
                f"account-{run}-{n}-{k}",
                [NewEvent("CashDeposited", DATA)] * batch,
                expected_version=0,
                request_id=f"{run}-{n}-{k}",
                metadata={"actor": "bench"},
            )

    started = time.perf_counter()
    await asyncio.gather(*(writer(n) for n in range(writers)))
    elapsed = time.perf_counter() - started
    await database.close()
    return elapsed


async def raw_inserts(url: str, writers: int, total: int, batch: int) -> float:
    conninfo = libpq_url(url)
    conns = [
        await psycopg.AsyncConnection.connect(conninfo, autocommit=True) for _ in range(writers)
    ]
    commands = total // writers // batch
    data, meta, hash_ = json.dumps(DATA), '{"actor": "bench"}', b"\x00" * 32
    run = uuid.uuid4().hex[:6]

    async def writer(n: int, conn: psycopg.AsyncConnection[object]) -> None:
        for k in range(commands):
            values = [(f"raw-{run}-{n}-{k}", v + 1, data, meta, now(), hash_) for v in range(batch)]
            if batch == 1:
                await conn.execute(RAW_INSERT, values[0])
                continue
            async with conn.transaction(), conn.cursor() as cursor:
                await cursor.executemany(RAW_INSERT, values)

    started = time.perf_counter()
    await asyncio.gather(*(writer(n, c) for n, c in enumerate(conns)))
    elapsed = time.perf_counter() - started
    for conn in conns:
        await conn.close()
    return elapsed


def peer_appends(url: str, writers: int, total: int) -> float:
    from eventsourcing.persistence import StoredEvent
    from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

    parsed = make_url(sync_url(url))
    datastore = PostgresDatastore(
        dbname=parsed.database or "postgres",
        host=str(parsed.query.get("host") or parsed.host or "localhost"),
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        password=parsed.password or "",
        pool_size=writers,
    )
    recorder = PostgresApplicationRecorder(datastore, events_table_name="peer_events")
    recorder.create_table()
    state = json.dumps(DATA).encode()
    per_writer = total // writers

    def writer() -> None:
        for _ in range(per_writer):
            recorder.insert_events([StoredEvent(uuid.uuid4(), 1, "bench:CashDeposited", state)])

    threads = [threading.Thread(target=writer) for _ in range(writers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    datastore.close()
    return elapsed


async def load_feed(url: str, total: int) -> None:
    database = await open_database(url, pool_size=4)
    store = EventStore(database, clock=now)
    for k in range(total // 1000):
        batch = [NewEvent("CashDeposited", DATA)] * 1000
        await store.append(f"feed-{k}", batch, expected_version=0)
    await database.close()


async def read_feed(url: str) -> tuple[int, float]:
    database = await open_database(url, pool_size=2)
    store = EventStore(database, clock=now)
    checkpoint, count = START, 0
    started = time.perf_counter()
    while page := (await store.read_feed(checkpoint, limit=5000)).events:
        count += len(page)
        checkpoint = page[-1].checkpoint
    elapsed = time.perf_counter() - started
    await database.close()
    return count, elapsed


def copy_read(url: str) -> float:
    query = (
        "COPY (SELECT position, stream_id, version, type, schema_version, data, metadata, "
        "recorded_at, txid, hash FROM events ORDER BY txid, position) TO STDOUT"
    )
    sink = io.BytesIO()
    started = time.perf_counter()
    with (
        psycopg.connect(libpq_url(url)) as conn,
        conn.cursor() as cursor,
        cursor.copy(query) as copy,
    ):
        for block in copy:
            sink.write(block)
    return time.perf_counter() - started


async def rebuild(url: str) -> tuple[int, float]:
    database = await open_database(url, pool_size=2)
    runner = ProjectionRunner(EventStore(database, clock=now), clock=now, page_size=5000)
    started = time.perf_counter()
    count = await runner.rebuild(StreamHeads())
    elapsed = time.perf_counter() - started
    await database.close()
    return count, elapsed


def append_rows(url: str) -> list[Row]:
    return [
        Row(
            RAW_1, WRITERS, SINGLE_EVENTS, asyncio.run(raw_inserts(url, WRITERS, SINGLE_EVENTS, 1))
        ),
        Row(
            HARBOUR_1,
            1,
            SINGLE_EVENTS_ONE_WRITER,
            asyncio.run(harbour_appends(url, 1, SINGLE_EVENTS_ONE_WRITER, 1)),
            baseline=PEER_1,
        ),
        Row(
            HARBOUR_16,
            WRITERS,
            SINGLE_EVENTS,
            asyncio.run(harbour_appends(url, WRITERS, SINGLE_EVENTS, 1)),
            baseline=RAW_1,
        ),
        Row(PEER_1, 1, PEER_EVENTS // 4, peer_appends(url, 1, PEER_EVENTS // 4)),
        Row(PEER_16, WRITERS, PEER_EVENTS, peer_appends(url, WRITERS, PEER_EVENTS)),
        Row(
            RAW_100,
            WRITERS,
            BATCH_EVENTS,
            asyncio.run(raw_inserts(url, WRITERS, BATCH_EVENTS, BATCH)),
        ),
        Row(
            HARBOUR_100,
            WRITERS,
            BATCH_EVENTS,
            asyncio.run(harbour_appends(url, WRITERS, BATCH_EVENTS, BATCH)),
            baseline=RAW_100,
        ),
    ]


def feed_rows(url: str) -> list[Row]:
    asyncio.run(load_feed(url, FEED_EVENTS))
    rows = [Row(COPY, 1, FEED_EVENTS, copy_read(url))]
    count, seconds = asyncio.run(read_feed(url))
    rows.append(Row(FEED, 1, count, seconds, baseline=COPY))
    count, seconds = asyncio.run(rebuild(url))
    rows.append(Row(REBUILD, 1, count, seconds, baseline=COPY))
    return rows


def targets(report: Report) -> list[Target]:
    single = report.row(HARBOUR_16).rate
    return [
        Target("16-writer appends / peer", single / report.row(PEER_16).rate, 4.0, "x"),
        Target("16-writer appends / raw INSERT", single / report.row(RAW_1).rate, 0.5, "x"),
        Target("feed read", report.row(FEED).rate, 100_000, "events/s"),
        Target("projection rebuild", report.row(REBUILD).rate, 100_000, "events/s"),
    ]


def main() -> None:
    with embedded_server() as admin:
        report = Report("Event store", environment=environment(admin))
        print("appends ...", flush=True)
        report.rows.extend(append_rows(fresh_database(admin, "bench_store")))
        print("feed ...", flush=True)
        report.rows.extend(feed_rows(fresh_database(admin, "bench_feed")))
        report.targets = targets(report)
    print(report.markdown())
    report.save("store")


if __name__ == "__main__":
    main()
