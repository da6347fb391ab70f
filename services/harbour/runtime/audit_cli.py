"""``harbour audit``: verify chains, replay a stream as of a moment, export for auditors.

An export is JSON lines, one stored event each (data and metadata as stored, hash in hex),
so an auditor can re-verify every chain offline with ``harbour audit verify --file``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TextIO

from harbour.eventstore.model import RecordedEvent
from harbour.eventstore.snapshots import SnapshotFault
from harbour.eventstore.verify import ChainVerifier, verify_store, verify_stream
from harbour.runtime.server import open_runtime
from harbour.runtime.settings import Settings


async def run(settings: Settings, args: argparse.Namespace) -> int:
    runtime = await open_runtime(settings)
    try:
        store = runtime.store
        if args.action == "verify":
            if args.stream:
                verifier = await verify_stream(store, args.stream)
            else:
                progress = Progress("verifying")
                verifier = await verify_store(store, progress=progress)
                progress.done(verifier.events_checked)
            status = report(verifier)
            checked, faults = await store.check_snapshots(stream_id=args.stream)
            return status | report_snapshots(checked, faults)
        if args.action == "replay":  # --stream required: harbour.runtime.cli.check_arguments
            events = await store.read_stream(
                args.stream, up_to_position=args.position, recorded_until=args.as_of
            )
            for event in events:
                print(json.dumps(export_record(event), sort_keys=True))
            return 0
        return await _export(runtime.store, Path(args.out))
    finally:
        await runtime.database.close()


async def _export(store: object, out: Path) -> int:
    from harbour.eventstore.store import EventStore

    assert isinstance(store, EventStore)
    count, after = 0, 0
    progress = Progress("exporting")
    with out.open("w", encoding="utf-8") as sink:
        while page := await store.read_all(after_position=after):
            for event in page:
                sink.write(json.dumps(export_record(event), sort_keys=True) + "\n")
            count += len(page)
            after = page[-1].position
            progress(count)
    progress.done(count)
    print(f"exported {count} events to {out}")
    return 0


def export_record(event: RecordedEvent) -> dict[str, object]:
    return {
        "position": event.position,
        "stream_id": event.stream_id,
        "version": event.version,
        "type": event.type,
        "schema_version": event.schema_version,
        "data": event.stored_data,
        "metadata": event.metadata,
        "recorded_at": event.recorded_at.isoformat(),
        "hash": event.hash.hex(),
    }


def verify_export(path: Path) -> int:
    verifier = ChainVerifier()
    with path.open(encoding="utf-8") as source:
        for line in source:
            record = json.loads(line)
            verifier.check(
                RecordedEvent(
                    position=record["position"],
                    stream_id=record["stream_id"],
                    version=record["version"],
                    type=record["type"],
                    schema_version=record["schema_version"],
                    data_json=json.dumps(record["data"]),
                    metadata_json=json.dumps(record["metadata"]),
                    recorded_at=datetime.fromisoformat(record["recorded_at"]),
                    txid=0,
                    hash=bytes.fromhex(record["hash"]),
                )
            )
    return report(verifier)


def report(verifier: ChainVerifier) -> int:
    for chain_break in verifier.breaks:
        print(
            f"BREAK at position {chain_break.position} ({chain_break.stream_id} "
            f"v{chain_break.version}): {chain_break.reason}"
        )
    state = "intact" if verifier.intact else f"{len(verifier.breaks)} break(s)"
    print(
        f"{verifier.events_checked} events in {verifier.streams_checked} streams checked: {state}"
    )
    return 0 if verifier.intact else 1


def report_snapshots(checked: int, faults: list[SnapshotFault]) -> int:
    """Every snapshot a service must not believe, with its stream and version: forged, bound
    to another history, or signed with another key (it is ignored on load, but someone or
    something wrote it)."""
    for fault in faults:
        print(f"BAD SNAPSHOT {fault.stream_id} v{fault.version}: {fault.reason}")
    state = "all sound" if not faults else f"{len(faults)} bad"
    print(f"{checked} snapshots checked: {state}")
    return 1 if faults else 0


class Progress:
    """Long work's progress: one line on stderr that rewrites itself (carriage return) with
    the events done and the rate, at most every ``every`` seconds, and ends with a newline so
    that the summary after it starts on a clean line."""

    def __init__(
        self,
        doing: str,
        *,
        out: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
        every: float = 0.25,
    ) -> None:
        self._doing, self._out, self._clock, self._every = doing, out, clock, every
        self._started = clock()
        self._shown_at: float | None = None

    def __call__(self, count: int) -> None:
        now = self._clock()
        if self._shown_at is None or now - self._shown_at >= self._every:
            self._shown_at = now
            self._show(count, now, end="")

    def done(self, count: int) -> None:
        self._show(count, self._clock(), end="\n")

    def _show(self, count: int, now: float, *, end: str) -> None:
        elapsed = now - self._started
        rate = f"{count / elapsed:,.0f} events/s" if elapsed > 0 else "- events/s"
        line = f"{self._doing} {count:,} events in {elapsed:.1f}s ({rate})"
        print(f"\r{line}", end=end, file=self._out or sys.stderr, flush=True)
