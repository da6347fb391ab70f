"""``harbour audit``: verify chains, replay a stream as of a moment, export for auditors.

``export --format jsonl --what events`` (the default) writes JSON lines, one stored event each
(data and metadata as stored, hash in hex), so an auditor can re-verify every chain offline
with ``harbour audit verify --file``.

The same history also exports as CSV or Parquet, for a spreadsheet or a data warehouse:

* ``--what events``: one row per event — position, stream_id, version, type, schema_version,
  data and metadata (canonical JSON text: sorted keys, no spaces), recorded_at, hash (hex);
* ``--what journals``: one row per journal line of every value-moving event — position,
  stream_id, version, type, recorded_at, line (1-based in its journal), ledger_account, asset,
  amount (the signed decimal string of the asset's scale, as in the event) and debit_minor /
  credit_minor (minor units, one of them zero). The ledger's sign convention
  (``harbour.ledger.postings``): a positive posting is a credit to the party the ledger account
  names, a negative one a debit; so per asset the credits equal the debits.

Amounts are never floats: strings in CSV and JSON, ``decimal128(38, 0)`` minor units (an ETH
amount has 18 decimals: up to 36 digits) and strings in Parquet; recorded_at is a UTC
microsecond timestamp in Parquet, ISO-8601 text elsewhere.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol, TextIO

from harbour.audit.auditor import ChainScan, verify_chains
from harbour.eventstore.model import RecordedEvent
from harbour.eventstore.snapshots import SnapshotFault
from harbour.eventstore.verify import ChainBreak, ChainVerifier, verify_stream
from harbour.ledger.events import VALUE_MOVING_EVENT_TYPES
from harbour.ledger.postings import from_json, to_json
from harbour.runtime.database import login_url
from harbour.runtime.server import open_runtime
from harbour.runtime.settings import Settings


async def run(settings: Settings, args: argparse.Namespace) -> int:
    # Every chain is checked before the runtime opens: the scan forks processes, which is
    # only safe while this process runs one thread (the runtime's pool may start others).
    scan = verify_all_chains(settings) if args.action == "verify" and not args.stream else None
    runtime = await open_runtime(settings)
    try:
        store = runtime.store
        if args.action == "verify":
            verified: Verified = scan or await verify_stream(store, args.stream)
            status = report(verified)
            checked, faults = await store.check_snapshots(stream_id=args.stream)
            return status | report_snapshots(checked, faults)
        if args.action == "replay":  # --stream required: harbour.runtime.cli.check_arguments
            events = await store.read_stream(
                args.stream, up_to_position=args.position, recorded_until=args.as_of
            )
            for event in events:
                print(json.dumps(export_record(event), sort_keys=True))
            return 0
        return await export(
            runtime.store,
            Path(args.out),
            fmt=getattr(args, "format", "jsonl"),
            what=getattr(args, "what", "events"),
        )
    finally:
        await runtime.database.close()


EVENT_COLUMNS = (
    "position",
    "stream_id",
    "version",
    "type",
    "schema_version",
    "data",
    "metadata",
    "recorded_at",
    "hash",
)
JOURNAL_COLUMNS = (
    "position",
    "stream_id",
    "version",
    "type",
    "recorded_at",
    "line",
    "ledger_account",
    "asset",
    "amount",
    "debit_minor",
    "credit_minor",
)


async def export(store: object, out: Path, *, fmt: str = "jsonl", what: str = "events") -> int:
    """Every event (or every journal line) of the store, in position order, to ``out``."""
    from harbour.eventstore.store import EventStore

    assert isinstance(store, EventStore)
    count, rows, after = 0, 0, 0
    progress = Progress("exporting")
    with _sink(out, fmt, what) as sink:
        while page := await store.read_all(after_position=after):
            if what == "journals":
                found = [line for event in page for line in journal_lines(event)]
            elif fmt == "jsonl":
                found = [export_record(event) for event in page]
            else:
                found = [event_row(event) for event in page]
            sink.write(found)
            count, rows = count + len(page), rows + len(found)
            after = page[-1].position
            progress(count)
    progress.done(count)
    if what == "events":
        print(f"exported {count} events to {out} ({fmt})")
    else:
        print(f"exported {rows} journal lines of {count} events to {out} ({fmt})")
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


def event_row(event: RecordedEvent) -> dict[str, object]:
    """One event as a flat row (CSV, Parquet): data and metadata as canonical JSON text."""
    return {
        "position": event.position,
        "stream_id": event.stream_id,
        "version": event.version,
        "type": event.type,
        "schema_version": event.schema_version,
        "data": _canonical_json(event.stored_data),
        "metadata": _canonical_json(event.metadata),
        "recorded_at": event.recorded_at,
        "hash": event.hash.hex(),
    }


def journal_lines(event: RecordedEvent) -> list[dict[str, object]]:
    """The journal lines of a value-moving event (none for any other event).

    Read from the event's (upcast) data with the ledger's own parser, which refuses a journal
    that does not balance: an export never carries a line the ledger would not accept."""
    if event.type not in VALUE_MOVING_EVENT_TYPES or "journal" not in event.data:
        return []
    journal = from_json(event.data["journal"])
    lines = []
    for number, (posting, text) in enumerate(zip(journal, to_json(journal), strict=True), 1):
        lines.append(
            {
                "position": event.position,
                "stream_id": event.stream_id,
                "version": event.version,
                "type": event.type,
                "recorded_at": event.recorded_at,
                "line": number,
                "ledger_account": posting.ledger_account,
                "asset": posting.asset,
                "amount": text["amount"],
                "debit_minor": max(-posting.amount, 0),
                "credit_minor": max(posting.amount, 0),
            }
        )
    return lines


def _canonical_json(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class _Sink:
    """Where export rows go, one page at a time; a context manager that closes the file."""

    def write(self, rows: Sequence[dict[str, object]]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> _Sink:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _sink(out: Path, fmt: str, what: str) -> _Sink:
    columns = EVENT_COLUMNS if what == "events" else JOURNAL_COLUMNS
    if fmt == "jsonl":
        return _JsonLines(out)
    if fmt == "csv":
        return _Csv(out, columns)
    if fmt == "parquet":
        return _Parquet(out, what)
    raise ValueError(f"unknown export format {fmt!r}")


class _JsonLines(_Sink):
    def __init__(self, out: Path) -> None:
        self._file = out.open("w", encoding="utf-8")

    def write(self, rows: Sequence[dict[str, object]]) -> None:
        for row in rows:
            self._file.write(json.dumps(row, sort_keys=True, default=_json_value) + "\n")

    def close(self) -> None:
        self._file.close()


def _json_value(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not exportable: {type(value).__name__}")


class _Csv(_Sink):
    def __init__(self, out: Path, columns: Sequence[str]) -> None:
        self._file = out.open("w", encoding="utf-8", newline="")
        self._writer = csv.DictWriter(self._file, fieldnames=list(columns))
        self._writer.writeheader()

    def write(self, rows: Sequence[dict[str, object]]) -> None:
        self._writer.writerows(
            {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}
            for row in rows
        )

    def close(self) -> None:
        self._file.close()


class _Parquet(_Sink):
    """One row group per page read; amounts as decimal128 minor units and strings."""

    def __init__(self, out: Path, what: str) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self._pa = pa
        self._schema = _parquet_schema(pa, what)
        self._writer = pq.ParquetWriter(str(out), self._schema)

    def write(self, rows: Sequence[dict[str, object]]) -> None:
        if not rows:
            return
        columns = {name: _column(rows, name) for name in self._schema.names}
        self._writer.write_table(self._pa.Table.from_pydict(columns, schema=self._schema))

    def close(self) -> None:
        self._writer.close()


def _column(rows: Iterable[dict[str, object]], name: str) -> list[object]:
    if name in ("debit_minor", "credit_minor"):
        return [_decimal_minor(row[name]) for row in rows]
    return [row[name] for row in rows]


def _decimal_minor(value: object) -> Decimal:
    """Minor units for a decimal128 column: exact, whatever their size (never a float)."""
    if type(value) is not int:
        raise TypeError(f"minor units must be int, got {type(value).__name__}")
    return Decimal(value)


def _parquet_schema(pa: Any, what: str) -> Any:
    stamp = pa.timestamp("us", tz="UTC")
    if what == "events":
        return pa.schema(
            [
                ("position", pa.int64()),
                ("stream_id", pa.string()),
                ("version", pa.int32()),
                ("type", pa.string()),
                ("schema_version", pa.int16()),
                ("data", pa.string()),
                ("metadata", pa.string()),
                ("recorded_at", stamp),
                ("hash", pa.string()),
            ]
        )
    minor = pa.decimal128(38, 0)
    return pa.schema(
        [
            ("position", pa.int64()),
            ("stream_id", pa.string()),
            ("version", pa.int32()),
            ("type", pa.string()),
            ("recorded_at", stamp),
            ("line", pa.int32()),
            ("ledger_account", pa.string()),
            ("asset", pa.string()),
            ("amount", pa.string()),
            ("debit_minor", minor),
            ("credit_minor", minor),
        ]
    )


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


class Verified(Protocol):
    """What a chain check found: ``ChainVerifier`` (one stream, an export) or ``ChainScan``
    (the whole store)."""

    @property
    def breaks(self) -> list[ChainBreak]: ...
    @property
    def events_checked(self) -> int: ...
    @property
    def streams_checked(self) -> int: ...
    @property
    def intact(self) -> bool: ...


def verify_all_chains(settings: Settings) -> ChainScan:
    """Every hash chain of the store (harbour.audit.auditor.verify_chains), as the command's
    database role, with a progress line on stderr."""
    assert settings.database_url is not None  # harbour.runtime.cli.database_url sets it
    progress = ProgressBar("verifying")
    scan = verify_chains(
        login_url(settings.database_url, settings.role_of(None)), progress=progress
    )
    progress.done(scan.events_checked)
    return scan


def report(verifier: Verified) -> int:
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


class ProgressBar(Progress):
    """``Progress`` with a bar of the share done, for work whose size is known in advance.

    Only a terminal sees it move; anywhere else (a pipe, a log, CI) the work prints its one
    final line, so a long verify leaves no trail of rewritten lines in a captured log."""

    BAR_WIDTH = 24

    def __init__(
        self,
        doing: str,
        *,
        out: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
        every: float = 0.25,
        live: bool | None = None,
    ) -> None:
        super().__init__(doing, out=out, clock=clock, every=every)
        self._live = (out or sys.stderr).isatty() if live is None else live
        self._total = 0

    def __call__(self, count: int, total: int = 0) -> None:
        self._total = total
        if self._live:
            super().__call__(count)

    def _show(self, count: int, now: float, *, end: str) -> None:
        out = self._out or sys.stderr
        if end or not self._total:
            if self._live:
                print("\r\x1b[K", end="", file=out)  # the bar line is longer than this one
            super()._show(count, now, end=end)
            return
        share = min(1.0, count / self._total)
        filled = round(share * self.BAR_WIDTH)
        elapsed = now - self._started
        rate = f"{count / elapsed:,.0f} events/s" if elapsed > 0 else "- events/s"
        bar = "#" * filled + "." * (self.BAR_WIDTH - filled)
        line = f"{self._doing} [{bar}] {share:4.0%} {count:,} of {self._total:,} events ({rate})"
        print(f"\r{line}\x1b[K", end="", file=out, flush=True)
