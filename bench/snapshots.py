"""Snapshot benchmark: `make bench-snapshots` (python -m bench.snapshots).

The broker's exposure with HARBOUR_BENCH_SNAPSHOT_GROUPS groups (default 100,000: a 3 MB
document) snapshotted by the command runner the way a draw makes it due
(``CommandRunner._maybe_snapshot`` after the draw's append), on an embedded PostgreSQL:

* **inline** — ``broker-exposure`` as a stream kind that saves its snapshot before the command
  returns (how every kind did before ``snapshot_in_background``): the draw, and every draw
  queued on the stream's lock, waits for the encoding, the signature and the insert;
* **in the background** — the kind as it is: the command returns at once, a task saves it with
  the encoding and signing in a worker thread.

A ticker task wakes every millisecond meanwhile; its longest gap is how long the event loop,
and so every other call of the process, stood still. Rows: snapshots a second (one each); the
note has the command's wait, the time until the snapshot was stored and the longest stall.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import replace
from datetime import UTC, datetime

from pyrsistent import pmap

from bench.common import Report, Row, Target, embedded_server, environment, fresh_database
from harbour.application.outcome import new_event
from harbour.application.runner import CommandRunner
from harbour.application.streams import EXPOSURE
from harbour.eventstore.store import EventStore
from harbour.eventstore.streams import Loaded
from harbour.ledger import events as ev
from harbour.ledger.balances import Balances
from harbour.ledger.exposure import EXPOSURE_STREAM, BrokerExposure
from harbour.ledger.money import Money
from harbour.runtime.database import open_database

GROUPS = int(os.environ.get("HARBOUR_BENCH_SNAPSHOT_GROUPS", "100000"))
INLINE = "exposure snapshot saved inline (the command waits)"
BACKGROUND = "exposure snapshot saved in the background (snapshot_in_background)"


def exposure(groups: int) -> BrokerExposure:
    by_group = {f"B{n:07d}": Balances.of({"HKD": 100_000 + n}) for n in range(groups)}
    return BrokerExposure(Balances.of({"HKD": 100_000 * groups}), pmap(by_group))


async def snapshot_once(
    runner: CommandRunner, background: bool, state: BrokerExposure, turn: int
) -> tuple[Row, float]:
    """One snapshot made due, and how long the command waited for it (ms)."""
    kind = replace(EXPOSURE, snapshot_in_background=background)
    gaps: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticking = asyncio.create_task(ticker())
    await asyncio.sleep(0.05)
    started = time.perf_counter()
    # Due: 10,000 events replayed since the last snapshot, the stream at version 1.
    due = Loaded(state, 1, kind.snapshot_every or 1)
    await runner._maybe_snapshot(kind, EXPOSURE_STREAM, due)
    waited = time.perf_counter() - started
    await runner.snapshots_saved()
    stored = time.perf_counter() - started
    done.set()
    await ticking
    row = Row(
        f"{BACKGROUND if background else INLINE}, run {turn}",
        1,
        1,
        stored,
        note=f"snapshots/s; the command waited {waited * 1000:,.0f} ms; stored after "
        f"{stored:.2f} s; longest event-loop stall {max(gaps) * 1000:,.0f} ms",
    )
    return row, waited * 1000


async def run(url: str, report: Report) -> float:
    """The rows; returns the longest a command waited for a background snapshot (ms)."""
    database = await open_database(url, pool_size=4)
    try:
        store = EventStore(database, clock=lambda: datetime.now(UTC))
        first = ev.BrokerExposureChanged("C", "G", Money.of("HKD", "1.00"), "advance", "r")
        await store.append(EXPOSURE_STREAM, [new_event(first)], expected_version=0)
        state = exposure(GROUPS)
        waits = []
        for turn, background in enumerate((False, True, False, True), start=1):
            # Alternated: the machine is shared.
            row, waited = await snapshot_once(CommandRunner(store), background, state, turn)
            report.rows.append(row)
            if background:
                waits.append(waited)
        return max(waits)
    finally:
        await database.close()


def main() -> None:
    with embedded_server() as admin:
        title = f"Snapshots: broker-exposure at {GROUPS:,} groups"
        report = Report(title, environment=environment(admin))
        waited = asyncio.run(run(fresh_database(admin, "bench_snapshots"), report))
    report.targets.append(
        Target(
            "a draw's wait for a background snapshot (1 ms at most; negated)", -waited, -1.0, "ms"
        )
    )
    report.publish("snapshots")


if __name__ == "__main__":
    main()
