"""The auditor's reads over the event store: checkpoints, rebuilt state, decisions re-derived.

The I/O around the pure modules of this package (``proofs``, ``replay``, ``rederive``): it
reads raw events and stream heads straight from the ``events`` table — never a snapshot, never
a read model — and hands them over. Shared by the ``harbour audit`` command and the
AuditService. ``verify_chains`` checks every hash chain at the speed of reading the table
(``chainscan`` holds the per-row work and its reasons).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from harbour.application.decoding import domain_event
from harbour.audit import chainscan
from harbour.audit.proofs import (
    AnchorBreak,
    Checkpoint,
    FoundHead,
    StreamHead,
    compare,
    sign_checkpoint,
)
from harbour.audit.rederive import ACCOUNT_PREFIX, Discrepancy, Recorded, Rederivation
from harbour.audit.replay import Rebuilt, rebuild, stream_kind
from harbour.collector import collector_paused_for
from harbour.eventstore.model import RecordedEvent
from harbour.eventstore.store import EventStore
from harbour.eventstore.verify import ChainBreak, ChainVerifier
from harbour.ledger import events as ev
from harbour.ledger.calendar import HKEX, calendar_stream
from harbour.ledger.codec import DecodeError
from harbour.ledger.policy import POLICY_STREAM
from harbour.ledger.prices import PRICE_STREAM_PREFIX, price_stream

# Every stream's head (its highest version and that event's hash), one row per stream.
HEADS_SQL = (
    "SELECT DISTINCT ON (stream_id) stream_id, version, hash FROM events "
    "ORDER BY stream_id, version DESC"
)
NEWEST_SQL = "SELECT coalesce(max(position), 0) FROM events"
# What the store holds now at each checkpointed head: the stream's last version (0: gone) and
# the hash at the checkpointed version (NULL: that version is gone). Both use the unique
# (stream_id, version) index, so this costs two index probes per checkpointed stream.
FOUND_SQL = """
SELECT w.stream_id,
       coalesce((SELECT max(e.version) FROM events e WHERE e.stream_id = w.stream_id), 0),
       (SELECT e.hash FROM events e WHERE e.stream_id = w.stream_id AND e.version = w.version)
  FROM unnest(CAST(:streams AS text[]), CAST(:versions AS integer[])) AS w(stream_id, version)
"""
FOUND_BATCH = 5_000
CALENDAR_STREAM = calendar_stream(HKEX)


# --------------------------------------------------------------------------------- checkpoints


async def stream_heads(store: EventStore) -> tuple[list[StreamHead], int]:
    """Every stream's head and the newest position, read in one snapshot (so they agree)."""
    async with store.engine.connect() as conn:
        await conn.execute(sa.text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
        rows = (await conn.execute(sa.text(HEADS_SQL))).all()
        newest = int((await conn.execute(sa.text(NEWEST_SQL))).scalar_one())
        await conn.rollback()
    heads = sorted(
        StreamHead(stream_id, int(version), bytes(digest)) for stream_id, version, digest in rows
    )
    return heads, newest


async def create_checkpoint(
    store: EventStore, key: Ed25519PrivateKey, *, now: datetime
) -> dict[str, Any]:
    """The signed checkpoint of every stream head as the store holds them now."""
    heads, newest = await stream_heads(store)
    return sign_checkpoint(heads, global_position=newest, created_at=now, key=key)


async def verify_against(store: EventStore, checkpoint: Checkpoint) -> list[AnchorBreak]:
    """Every checkpointed head the store no longer holds (see ``proofs.compare``)."""
    found: dict[str, FoundHead] = {}
    heads = checkpoint.heads
    async with store.engine.connect() as conn:
        for start in range(0, len(heads), FOUND_BATCH):
            batch = heads[start : start + FOUND_BATCH]
            rows = await conn.execute(
                sa.text(FOUND_SQL),
                {"streams": [h.stream_id for h in batch], "versions": [h.version for h in batch]},
            )
            for stream_id, version, digest in rows:
                found[stream_id] = FoundHead(
                    int(version), None if digest is None else bytes(digest)
                )
        newest = int((await conn.execute(sa.text(NEWEST_SQL))).scalar_one())
    return compare(checkpoint, found, newest)


# --------------------------------------------------------------------------------- chains

# Below this many events one process finishes before a second one would have started.
ONE_PROCESS_UP_TO = 50_000
# PostgreSQL's side of a COPY takes about as long as ours: more parts than cores only queue.
MAX_PARTS = 4
PROGRESS_EVERY_S = 0.2


@dataclass(frozen=True)
class ChainScan:
    """Every hash chain checked up to ``up_to_position``, in one snapshot of the store."""

    events_checked: int
    streams_checked: int
    breaks: list[ChainBreak]  # in position order, as ChainVerifier reports them
    up_to_position: int
    parts: int

    @property
    def intact(self) -> bool:
        return not self.breaks


def default_parts(events: int) -> int:
    """Processes to share the positions among: one per core, up to MAX_PARTS, one for a small
    store."""
    if events < ONE_PROCESS_UP_TO:
        return 1
    return max(1, min(MAX_PARTS, os.cpu_count() or 1))


def verify_chains(
    conninfo: str,
    *,
    up_to_position: int | None = None,
    parts: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    chunk_rows: int = chainscan.CHUNK_ROWS,
) -> ChainScan:
    """Every event up to ``up_to_position`` (default: all) checked against its stream's chain,
    as ``ChainVerifier`` checks them, by ``parts`` processes that each read a range of the
    streams (default: ``default_parts``), ``chunk_rows`` positions to a COPY row (smaller in
    tests, to cross chunks). ``progress(events checked, events at most)`` is called as the
    work goes. Blocking, and it forks: call it from a program's main thread
    (the ``harbour`` command, a benchmark), not from inside a server."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        # The parts import this transaction's snapshot, so it stays open, idle, until they
        # are done: longer than a service session may idle in a transaction (its role's
        # timeout). It holds no xid, so it holds back no feed horizon.
        conn.execute("SET idle_in_transaction_session_timeout = 0")
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        snapshot_row = conn.execute("SELECT pg_export_snapshot()").fetchone()
        newest_row = conn.execute("SELECT coalesce(max(position), 0) FROM events").fetchone()
        assert snapshot_row is not None and newest_row is not None
        snapshot, newest = str(snapshot_row[0]), int(newest_row[0])
        bound = newest if up_to_position is None else min(up_to_position, newest)
        count = parts or default_parts(bound)
        if count == 1:
            report = None if progress is None else (lambda done: progress(done, bound))
            results = [chainscan.scan_part(conninfo, snapshot, 0, bound, 0, report, chunk_rows)]
        else:
            results = _scan_in_processes(conninfo, snapshot, bound, count, progress, chunk_rows)
        conn.execute("COMMIT")
    breaks = sorted(
        (
            ChainBreak(position, stream, version, reason)
            for part in results
            for position, stream, version, reason in part.breaks
        ),
        key=lambda b: b.position,
    )
    return ChainScan(
        sum(part.events_checked for part in results),
        sum(part.streams_checked for part in results),
        breaks,
        bound,
        count,
    )


def _scan_in_processes(
    conninfo: str,
    snapshot: str,
    bound: int,
    parts: int,
    progress: Callable[[int, int], None] | None,
    chunk_rows: int,
) -> list[chainscan.PartResult]:
    # Forked, not spawned: a spawned process imports the whole command again (most of a
    # second); a fork shares what is loaded. The parts touch nothing of the parent but the
    # counters they write their progress to.
    context = multiprocessing.get_context("fork")
    counters = context.Array("q", parts, lock=False)
    with ProcessPoolExecutor(
        parts, mp_context=context, initializer=chainscan.share_counters, initargs=(counters,)
    ) as pool:
        # Equal ranges of positions: PostgreSQL reads each row once, for one part.
        edges = [bound * part // parts for part in range(parts + 1)]
        futures: list[Future[chainscan.PartResult]] = [
            pool.submit(
                chainscan.scan_share,
                conninfo,
                snapshot,
                edges[part],
                edges[part + 1],
                part,
                chunk_rows,
            )
            for part in range(parts)
        ]
        pending: set[Future[chainscan.PartResult]] = set(futures)
        while pending:
            _, pending = wait(pending, timeout=PROGRESS_EVERY_S, return_when=FIRST_EXCEPTION)
            if progress is not None:
                progress(sum(counters), bound)
            if any(f.done() and f.exception() is not None for f in futures):
                break
        return [future.result() for future in futures]


# --------------------------------------------------------------------------------- replay


@dataclass(frozen=True)
class ReplayedState:
    """A stream rebuilt from its raw events, with its chain checked on the way."""

    stream_id: str
    version: int  # the last version replayed (0: no events)
    position: int  # its global position
    last_hash: bytes
    events_replayed: int
    breaks: list[ChainBreak]
    rebuilt: Rebuilt
    as_of: datetime | None
    up_to_position: int | None

    @property
    def intact(self) -> bool:
        return not self.breaks

    def document(self) -> dict[str, Any]:
        return {
            "stream_id": self.stream_id,
            "kind": self.rebuilt.kind,
            "as_of": None if self.as_of is None else self.as_of.isoformat(),
            "up_to_position": self.up_to_position,
            "version": self.version,
            "position": self.position,
            "hash": self.last_hash.hex(),
            "events_replayed": self.events_replayed,
            "chain": {
                "intact": self.intact,
                "breaks": [
                    {"position": b.position, "version": b.version, "reason": b.reason}
                    for b in self.breaks
                ],
            },
            "state": self.rebuilt.document,
        }


async def replay_state(
    store: EventStore,
    stream_id: str,
    *,
    now: datetime,
    up_to_position: int | None = None,
    as_of: datetime | None = None,
) -> ReplayedState:
    """``stream_id`` as of an instant and/or a global position, rebuilt from raw events.

    Raises ``replay.NoStateForStream`` for a stream kind with no state, DecodeError for an
    event that is not in the vocabulary."""
    stream_kind(stream_id)  # refuse early, before reading
    recorded = await store.read_stream(
        stream_id, up_to_position=up_to_position, recorded_until=as_of
    )
    verifier = ChainVerifier()
    events: list[ev.Event] = []
    for one in recorded:
        verifier.check(one)
        events.append(domain_event(one))
    last = recorded[-1] if recorded else None
    rebuilt = rebuild(stream_id, events, instant=as_of or now)
    return ReplayedState(
        stream_id,
        last.version if last else 0,
        last.position if last else 0,
        last.hash if last else b"",
        len(recorded),
        list(verifier.breaks),
        rebuilt,
        as_of,
        up_to_position,
    )


# --------------------------------------------------------------------------------- rederive


@dataclass
class RederiveRun:
    rederivation: Rederivation = field(default_factory=Rederivation)

    @property
    def discrepancies(self) -> list[Discrepancy]:
        return self.rederivation.discrepancies

    def feed(self, events: Iterable[RecordedEvent]) -> None:
        for recorded in events:
            if not _relevant(recorded):
                continue
            try:
                event = domain_event(recorded)
            except DecodeError as bad:
                if recorded.stream_id.startswith(ACCOUNT_PREFIX) or (
                    recorded.stream_id == POLICY_STREAM
                ):
                    self.discrepancies.append(
                        Discrepancy(
                            recorded.position,
                            recorded.stream_id,
                            recorded.version,
                            recorded.type,
                            f"the event cannot be read: {bad}",
                        )
                    )
                continue
            self.rederivation.feed(
                Recorded(
                    recorded.position,
                    recorded.stream_id,
                    recorded.version,
                    recorded.recorded_at,
                    # One append writes one metadata (with its request id) at one instant.
                    f"{recorded.metadata_json}@{recorded.recorded_at.isoformat()}",
                    event,
                )
            )


def _relevant(recorded: RecordedEvent) -> bool:
    stream = recorded.stream_id
    if stream.startswith(PRICE_STREAM_PREFIX):
        return recorded.type == "PriceObserved"
    return stream.startswith(ACCOUNT_PREFIX) or stream in (POLICY_STREAM, CALENDAR_STREAM)


async def rederive(
    store: EventStore,
    *,
    stream_id: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> Rederivation:
    """Every recorded decision re-derived (of one account stream, or of the whole store)."""
    run = RederiveRun()
    if stream_id is not None:
        run.feed(await _stream_with_its_basis(store, stream_id))
        return run.rederivation
    after = 0
    while page := await store.read_all(after_position=after):
        # The page's decisions and the states they fold survive it: collections meanwhile
        # only rescanned them (harbour.collector; 3,223-3,379 -> 3,542-3,857 decisions/s over
        # bench/audit_state.py's 100,000, alternated in a /tmp harness).
        with collector_paused_for(page):
            run.feed(page)
        after = page[-1].position
        if progress is not None:
            progress(run.rederivation.events_read)
    return run.rederivation


async def _stream_with_its_basis(store: EventStore, stream_id: str) -> Sequence[RecordedEvent]:
    """One account's events with the policy, the calendar and the price streams its bases
    name, merged in position order (the order the facts were recorded in)."""
    own = await store.read_stream(stream_id)
    assets: set[str] = set()
    for recorded in own:
        if '"basis"' not in recorded.data_json:
            continue
        try:
            basis = getattr(domain_event(recorded), "basis", None)
        except DecodeError:
            continue
        if isinstance(basis, ev.DecisionBasis):
            assets.update(point.base_asset for point in basis.prices)
    others = [POLICY_STREAM, CALENDAR_STREAM, *(price_stream(code) for code in sorted(assets))]
    merged = list(own)
    for other in others:
        if other != stream_id:
            merged.extend(await store.read_stream(other))
    return sorted(merged, key=lambda recorded: recorded.position)
