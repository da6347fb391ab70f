"""Where one database stops scaling: `make bench-scaling` (python -m bench.scaling), issue #13.

Every service is stateless and runs as many replicas as wanted (tests/e2e/test_two_replicas.py);
two things are not, and this measures both in one run on one embedded PostgreSQL (see
docs/scaling.md for what they mean and the plan for each):

* **The one exposure stream.** Every DrawLoan appends to ``broker-exposure`` as well as to the
  borrower's account, in one statement with an expected version on both. DrawLoan and
  DepositCash (the account's stream only) through the services' own handlers in process, from
  1, 4 and 16 concurrent borrowers on distinct accounts, then 16 spread over 2 and over 4
  replicas (command runners of their own, each with its own cache and group-commit queue, as
  lending pods have: draws of different replicas race on the stream's version). Each run
  reports the group-commit statements and their mean batch (``harbour_group_commit_batch_size``)
  and the appends lost on the exposure stream's version.
* **The single projector.** Three loads with no projector running, TASKS writers each: the
  command path of one process (deposits, draws and repayments through the handlers, and a
  price feed); DepositCash decided in process and appended straight to the store, one event
  an append (what a fleet of replicas sends); and deposits on 10 accounts an append
  (``append_batch``, the shape of a bulk run). Then one ``ProjectionRunner.catch_up_together``
  over every read model (``all_projections()``, the projector's list and page size) applies
  everything from position zero: its rate next to each load's says how much write traffic one
  projector absorbs. Last, the loads again while `harbour project` follows them live as its own
  process, then the batches with two of them (replicas lock the checkpoint rows and take
  turns): appended vs applied, the largest lag and the time to drain it.

Seeding: HARBOUR_BENCH_SCALING_BORROWERS borrowers (default 256), each decided by the pure
deciders and written in one append (bench.lending.Seeder). Each timed run lasts
HARBOUR_BENCH_SCALING_SECONDS (default 4; the loads of part 2 twice that) after a warm-up.
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

import psycopg

from bench.accounts import free_port, start
from bench.common import Report, Row, Target, embedded_server, environment, fresh_database
from bench.lending import (
    PRICES,
    ManualClock,
    Seeder,
    client_name,
    market,
    market_tick,
    progress,
    seed,
)
from harbour.accounts.domain import Context as DepositContext
from harbour.accounts.domain import DepositCash
from harbour.accounts.domain import decide as decide_deposit
from harbour.accounts.handlers import AccountHandlers
from harbour.application.market import market as policy_and_prices
from harbour.application.outcome import new_event
from harbour.application.runner import CommandRunner
from harbour.collateral.domain import RecordPrice
from harbour.collateral.handlers import CollateralHandlers
from harbour.eventstore.database import Database
from harbour.eventstore.errors import BatchNotApplied, ConcurrencyConflict
from harbour.eventstore.model import AppendResult, CommandWrite, StreamWrite
from harbour.eventstore.notify import FeedNotifier
from harbour.eventstore.projections import ProjectionRunner
from harbour.eventstore.store import EventStore, request_fingerprint
from harbour.ledger.errors import DomainError
from harbour.ledger.exposure import EXPOSURE_STREAM
from harbour.ledger.ids import account_stream
from harbour.ledger.money import Money
from harbour.lending.domain import DrawLoan, RepayLoan
from harbour.lending.handlers import LendingHandlers
from harbour.metrics import GROUP_COMMIT_BATCH
from harbour.runtime.database import open_database
from harbour.runtime.projections import all_projections
from harbour.runtime.settings import Settings

BORROWERS = int(os.environ.get("HARBOUR_BENCH_SCALING_BORROWERS", "256"))
SECONDS = float(os.environ.get("HARBOUR_BENCH_SCALING_SECONDS", "4"))
MIX_SECONDS = 2 * SECONDS
WARMUP = 1.0
CONCURRENCY = (1, 4, 16)
REPLICAS = (2, 4)  # the widest run spread over this many replicas
TASKS = 16  # the widest run, the mix's writers and the raw appenders
CONTENDED = 64  # accounts the contention runs spread over (4 per task at 16)
BULK = 10  # deposits an append of the bulk load
PAGE_SIZE = 2000  # the projector's (ProjectionRunner's default)
FEED_PACE = 0.02  # seconds between two price ticks of the mix's feed (50 a second at most)
LAG_SAMPLE = 0.25  # seconds between two lag readings while a projector follows
DRAIN_LIMIT = 120.0  # the longest a live projector is given to catch up after the mix
# The mix of the command path: command -> share of picks (the price feed is its own task).
MIX = {"DepositCash": 0.5, "DrawLoan": 0.35, "RepayLoan": 0.15}
PRICE_TICKS = "price ticks"
META = {"actor": "bench-scaling", "service": "bench"}
# One key for every store, as every process of a deployment shares HARBOUR_SNAPSHOT_KEY: the
# seeded exposure snapshot is then believed by the services' stores.
SNAPSHOT_KEY = uuid.uuid4().hex.encode()

MIXED = "command path mix (deposits, draws, repayments, prices), no projector"
FLEET = "DepositCash decided in process, appended straight to the store (a fleet's worth)"
BULK_FLEET = f"DepositCash on {BULK} accounts an append (append_batch, as bulk runs write)"
CATCH_UP = "one projector catching up every read model (catch_up_together)"
# (the load's row, the projectors' row, the same load without a projector)
LIVE_MIX = (
    "command path mix while one projector process follows",
    "one projector process following the mix live (applied)",
    MIXED,
)
LIVE_FLEET = (
    "straight deposits while one projector process follows",
    "one projector process following the deposits live (applied)",
    FLEET,
)
LIVE_BULK = (
    f"{BULK}-account deposit batches while one projector process follows",
    f"one projector process following the {BULK}-account batches live (applied)",
    BULK_FLEET,
)
LIVE_TWO = (
    f"{BULK}-account deposit batches while two projector processes follow",
    f"two projector processes following the {BULK}-account batches live (applied)",
    BULK_FLEET,
)


def now() -> datetime:
    return datetime.now(UTC)


# ------------------------------------------------------------------------------ the stores


class ExposureContention(EventStore):
    """The event store, counting the appends that lost on ``broker-exposure``'s version: a
    group-commit batch refused for it, or a one-at-a-time append (each is a reload and a new
    decision)."""

    lost = 0

    async def append_batch(self, commands: Sequence[CommandWrite]) -> list[AppendResult]:
        try:
            return await super().append_batch(commands)
        except BatchNotApplied as refused:
            if EXPOSURE_STREAM in refused.stale:
                self.lost += 1
            raise

    async def append_together(self, writes: Sequence[StreamWrite], **kwargs: Any) -> AppendResult:
        try:
            return await super().append_together(writes, **kwargs)
        except ConcurrencyConflict as conflict:
            if conflict.stream_id == EXPOSURE_STREAM:
                self.lost += 1
            raise


@dataclass
class Stores:
    """Each service's store, logged in as its own role (as its pods would be)."""

    accounts: EventStore
    lending: ExposureContention
    collateral: EventStore
    databases: list[Database]

    @classmethod
    async def open(cls, url: str) -> Stores:
        settings = Settings()
        databases = [
            await open_database(url, role=settings.role_of(name), pool_size=TASKS + 4)
            for name in ("accounts", "lending", "collateral")
        ]
        return cls(
            EventStore(databases[0], **_as_a_service(databases[0])),
            ExposureContention(databases[1], **_as_a_service(databases[1])),
            EventStore(databases[2], **_as_a_service(databases[2])),
            databases,
        )

    async def close(self) -> None:
        for database in self.databases:
            await database.close()


def _as_a_service(database: Database) -> dict[str, Any]:
    # A service's store wakes the feed's followers (the projector) after its appends.
    notifier = FeedNotifier(database)
    return {"clock": now, "snapshot_key": SNAPSHOT_KEY, "notifier": notifier}


@dataclass
class Replica:
    """What one replica of the accounts and lending services holds in memory: its command
    runners (state cache, stream locks, the exposure stream's group-commit queue)."""

    accounts: AccountHandlers
    lending: LendingHandlers

    @classmethod
    def of(cls, stores: Stores) -> Replica:
        return cls(
            AccountHandlers(stores.accounts, clock=now),
            LendingHandlers(CommandRunner(stores.lending), clock=now),
        )


# ------------------------------------------------------------------------------ commands

Command = Callable[[Replica, str], Awaitable[str]]  # -> "ok" or why it was not applied
Through = TypeVar("Through")  # what a command is sent through: a replica, or the bare store
Addressee = TypeVar("Addressee")  # what it is sent to: an account, or a group of accounts


async def deposit(replica: Replica, client: str) -> str:
    await replica.accounts.handle(
        DepositCash(client, Money.of("HKD", "100.00"), "bench"),
        request_id=uuid.uuid4().hex,
        request={"rpc": "DepositCash", "client_id": client, "amount": "100.00 HKD"},
        metadata=META,
    )
    return "ok"


async def _lend(replica: Replica, command: DrawLoan | RepayLoan) -> str:
    try:
        await replica.lending.handle(
            command,
            request_id=uuid.uuid4().hex,
            request={"rpc": type(command).__name__, "client_id": command.client_id},
            metadata=META,
        )
    except ConcurrencyConflict:
        return "gave up after the runner's last attempt (ABORTED)"
    except DomainError as refusal:
        return f"refused: {type(refusal).__name__}"
    return "ok"


async def draw(replica: Replica, client: str) -> str:
    return await _lend(replica, DrawLoan(client, Money.of("HKD", "10.00")))


async def repay(replica: Replica, client: str) -> str:
    return await _lend(replica, RepayLoan(client, Money.of("HKD", "10.00")))


def mixed(rng: random.Random) -> Command:
    """A command of the mix, picked at random for each call."""
    commands: dict[str, Command] = {"DepositCash": deposit, "DrawLoan": draw, "RepayLoan": repay}
    kinds, weights = list(MIX), list(MIX.values())

    async def one(replica: Replica, client: str) -> str:
        return await commands[rng.choices(kinds, weights)[0]](replica, client)

    return one


async def closed_loop(
    command: Callable[[Through, Addressee], Awaitable[str]],
    replicas: Sequence[Through],
    clients: Sequence[Addressee],
    tasks: int,
    seconds: float,
) -> tuple[Counter[str], float]:
    """``tasks`` tasks, each sending ``command`` to accounts of its own back to back for
    ``seconds``, task n through replica n mod len(replicas); returns the outcomes counted and
    the seconds taken (the last commands finish after the deadline)."""
    outcomes: Counter[str] = Counter()
    started = time.perf_counter()
    deadline = started + seconds

    async def task(n: int) -> None:
        replica, own = replicas[n % len(replicas)], clients[n::tasks]
        turn = 0
        while time.perf_counter() < deadline:
            outcomes[await command(replica, own[turn % len(own)])] += 1
            turn += 1

    await asyncio.gather(*(task(n) for n in range(tasks)))
    return outcomes, time.perf_counter() - started


def batch_totals() -> tuple[float, float]:
    """(commands, statements) the group commit of ``broker-exposure`` has written so far in
    this process: the batch-size histogram's sum and count."""
    total = count = 0.0
    for metric in GROUP_COMMIT_BATCH.collect():
        for sample in metric.samples:
            if sample.labels.get("stream") != EXPOSURE_STREAM:
                continue
            if sample.name.endswith("_sum"):
                total += sample.value
            elif sample.name.endswith("_count"):
                count += sample.value
    return total, count


def mean_batch(before: tuple[float, float], after: tuple[float, float]) -> float:
    """Commands per group-commit statement between two :func:`batch_totals` readings."""
    statements = after[1] - before[1]
    return (after[0] - before[0]) / statements if statements else 0.0


def outcome_note(outcomes: Counter[str]) -> str:
    failed = {k: v for k, v in outcomes.items() if k not in ("ok", PRICE_TICKS)}
    return f"; not applied: {dict(failed)}" if failed else ""


# ------------------------------------------------------------------------------ part 1


async def contention(stores: Stores, clients: Sequence[str], report: Report) -> None:
    """DepositCash and DrawLoan from 1, 4 and 16 concurrent borrowers, then 16 over 4
    replicas: the draws' curve flattens where the exposure stream serialises them."""
    replicas = [Replica.of(stores) for _ in range(max(REPLICAS))]
    runs = [(n, 1) for n in CONCURRENCY] + [(TASKS, n) for n in REPLICAS]
    for name, command in (("DepositCash", deposit), ("DrawLoan", draw)):
        for tasks, spread in runs:
            await market_tick(stores.collateral, now)  # a draw needs prices under 120 s old
            progress(f"part 1: {name}, {tasks} borrower(s) over {spread} replica(s)")
            await closed_loop(command, replicas[:spread], clients, tasks, WARMUP)
            stores.lending.lost = 0
            before = batch_totals()
            outcomes, seconds = await closed_loop(
                command, replicas[:spread], clients, tasks, SECONDS
            )
            report.rows.append(_contention_row(name, tasks, spread, outcomes, seconds, before))
            report.rows[-1].note += f" ({stores.lending.lost:,} lost on broker-exposure)"


def _scenario(name: str, tasks: int, spread: int) -> str:
    if spread > 1:
        return f"{name} in process, {tasks} borrowers over {spread} replicas"
    return f"{name} in process, {tasks} concurrent borrower{'s' if tasks > 1 else ''}"


def _contention_row(
    name: str,
    tasks: int,
    spread: int,
    outcomes: Counter[str],
    seconds: float,
    batches_before: tuple[float, float],
) -> Row:
    baseline = _scenario(name, 1, 1) if (tasks, spread) != (1, 1) else ""
    note = "commands/s" + outcome_note(outcomes)
    if name == "DrawLoan":
        after = batch_totals()
        note += (
            f"; group commit: {after[1] - batches_before[1]:,.0f} statements on broker-exposure, "
            f"{mean_batch(batches_before, after):.1f} draws each"
        )
    return Row(
        _scenario(name, tasks, spread),
        tasks,
        outcomes["ok"],
        seconds,
        baseline=baseline,
        note=note,
        peer=_scenario("DepositCash", tasks, spread) if name == "DrawLoan" else "",
    )


# ------------------------------------------------------------------------------ part 2

Timed = Callable[[], Awaitable[tuple[Counter[str], float]]]  # a load: outcomes, seconds


async def price_feed(stores: Stores, stop: asyncio.Event) -> int:
    """A price feed ticking BTC and 0700.HK in turn (a cent's wobble) until ``stop``."""
    collateral = CollateralHandlers(CommandRunner(stores.collateral), clock=now)
    codes, ticks = list(PRICES), 0
    while not stop.is_set():
        code = codes[ticks % len(codes)]
        price = PRICES[code] + Decimal(ticks % 7) / 100
        await collateral.record_price(
            RecordPrice(code, price, now(), "bench"),
            request_id=uuid.uuid4().hex,
            request={"asset": code, "price": str(price)},
            metadata=META,
        )
        ticks += 1
        await asyncio.sleep(FEED_PACE)
    return ticks


async def the_mix(
    stores: Stores, replica: Replica, clients: Sequence[str], seconds: float
) -> tuple[Counter[str], float]:
    """The command path of one process: TASKS writers sending the mix through the handlers,
    and a price feed."""
    stop = asyncio.Event()
    feed = asyncio.create_task(price_feed(stores, stop))
    try:
        outcomes, took = await closed_loop(
            mixed(random.Random(7)), [replica], clients, TASKS, seconds
        )
    finally:
        stop.set()
    outcomes[PRICE_TICKS] = await feed
    return outcomes, took


async def straight_deposits(
    stores: Stores, replica: Replica, clients: Sequence[str], seconds: float, each: int
) -> tuple[Counter[str], float]:
    """DepositCash decided by the accounts decider in process and appended straight to the
    store, TASKS writers on accounts of their own, no handler's CPU in the way. ``each`` = 1:
    one deposit and its command-log row an append, as the handler writes it (what a fleet of
    accounts replicas sends); ``each`` > 1: deposits on that many accounts in one statement
    (``append_batch``, a command-log row each), as bulk runs write (the interest accrual
    appends a page of 1,000 accounts in one)."""
    loaded = {client: await replica.accounts.load(client) for client in clients}
    versions = {client: state.version for client, state in loaded.items()}
    amount = Money.of("HKD", "1.00")

    def deposit_on(client: str) -> CommandWrite:
        command, context = DepositCash(client, amount, "bench"), DepositContext(now())
        events = [new_event(e) for e in decide_deposit(loaded[client].state, command, context)]
        write = StreamWrite(account_stream(client), events, versions[client])
        request = {"rpc": "DepositCash", "client_id": client, "amount": "1.00 HKD"}
        return CommandWrite([write], uuid.uuid4().hex, request_fingerprint(request), META)

    async def append(store: EventStore, accounts: Sequence[str]) -> str:
        commands = [deposit_on(client) for client in accounts]
        if len(commands) == 1:
            (write,) = commands[0].writes
            await store.append(
                write.stream_id,
                write.events,
                expected_version=write.expected_version,
                request_id=commands[0].request_id,
                metadata=META,
            )
        else:
            await store.append_batch(commands)
        for client in accounts:
            versions[client] += 1
        return "ok"

    # Disjoint groups of ``each`` accounts; a writer owns whole groups, so no two race.
    groups = [clients[n : n + each] for n in range(0, len(clients) - each + 1, each)]
    writers = min(TASKS, len(groups))
    return await closed_loop(append, [stores.accounts], groups, writers, seconds)


async def head(conn: psycopg.AsyncConnection[Any]) -> int:
    row = await (await conn.execute("SELECT coalesce(max(position), 0) FROM events")).fetchone()
    return int(row[0]) if row else 0


async def events_after(conn: psycopg.AsyncConnection[Any], position: int) -> int:
    query = "SELECT count(*) FROM events WHERE position > %s"
    row = await (await conn.execute(query, (position,))).fetchone()
    return int(row[0]) if row else 0


async def measured(url: str, load: Timed) -> tuple[Counter[str], int, float]:
    """Run ``load``; its outcomes, the events it appended and its seconds."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        start_at = await head(conn)
        outcomes, seconds = await load()
        return outcomes, await events_after(conn, start_at), seconds


async def projector_catch_up(url: str, report: Report) -> None:
    """Every read model caught up from position zero (the seeding, part 1 and both loads), one
    read of the feed per page, as the projector does."""
    database = await open_database(url, pool_size=4)
    store = EventStore(database, clock=now, snapshot_key=SNAPSHOT_KEY)
    runner = ProjectionRunner(store, clock=now, page_size=PAGE_SIZE)
    try:
        progress("part 2: one projector catches every read model up from position zero")
        started = time.perf_counter()
        applied = await runner.catch_up_together(all_projections())
        seconds = time.perf_counter() - started
    finally:
        await database.close()
    report.rows.append(
        Row(
            CATCH_UP,
            1,
            applied,
            seconds,
            baseline=MIXED,
            peer=FLEET,
            note=f"events/s; every event so far (seeding, part 1, both loads); "
            f"{len(all_projections())} read models, pages of {PAGE_SIZE:,} events, one "
            "transaction each",
        )
    )
    ratio = report.ratio(CATCH_UP, MIXED)
    report.targets.append(Target("one projector / one process's command path", ratio, 1, "x"))
    for load, what in ((FLEET, "1 event an append"), (BULK_FLEET, f"{BULK} accounts an append")):
        ratio = report.ratio(CATCH_UP, load)
        report.targets.append(Target(f"one projector / {TASKS} writers, {what}", ratio, 1, "x"))


async def caught_up(url: str) -> None:
    """Every read model at the head of the feed, in process (before a live run starts)."""
    database = await open_database(url, pool_size=4)
    store = EventStore(database, clock=now, snapshot_key=SNAPSHOT_KEY)
    try:
        await ProjectionRunner(store, clock=now).catch_up_together(all_projections())
    finally:
        await database.close()


LAG_SQL = (
    "WITH slowest AS (SELECT txid, position FROM projection_checkpoints "
    "WHERE name = ANY(%s) ORDER BY txid, position LIMIT 1) "
    "SELECT count(*) FROM events e, slowest s WHERE (e.txid, e.position) > (s.txid, s.position)"
)


async def lag(conn: psycopg.AsyncConnection[Any]) -> int:
    """Events past the checkpoint of the read model furthest behind."""
    names = [p.name for p in all_projections()]
    row = await (await conn.execute(LAG_SQL, (names,))).fetchone()
    return int(row[0]) if row else 0


@dataclass
class Followed:
    appended: int
    seconds: float
    outcomes: Counter[str]
    lag_at_end: int
    largest_lag: int
    drained_in: float  # seconds after the load until the lag was zero

    @property
    def applied_in_window(self) -> int:
        return self.appended - self.lag_at_end


def projector_process(url: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARBOUR_")}
    env.update(
        HARBOUR_DATABASE_URL=url,
        HARBOUR_LOG_LEVEL="WARNING",
        HARBOUR_DEV_MODE="1",  # development mode, asked for: loopback, no credentials
        HARBOUR_PORT=str(free_port()),  # its health port
        HARBOUR_METRICS_PORT="0",
    )
    command = [sys.executable, "-m", "harbour.runtime.cli", "project"]
    return start(command, env, "following the feed")


async def follow_live(url: str, projectors: int, load: Timed) -> Followed:
    """``load`` while ``projectors`` `harbour project` processes follow it; the lag sampled."""
    await caught_up(url)
    processes = [projector_process(url) for _ in range(projectors)]
    try:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            largest = 0
            running = asyncio.create_task(measured(url, load))
            while not running.done():
                largest = max(largest, await lag(conn))
                await asyncio.wait([running], timeout=LAG_SAMPLE)
            outcomes, appended, seconds = await running
            at_end = behind = await lag(conn)
            started = time.perf_counter()
            while behind and time.perf_counter() - started < DRAIN_LIMIT:
                await asyncio.sleep(0.05)
                behind = await lag(conn)
            drained = time.perf_counter() - started
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait()
    return Followed(appended, seconds, outcomes, at_end, max(largest, at_end), drained)


def load_note(outcomes: Counter[str], appended: int, unit: str = "commands") -> str:
    commands = sum(n for kind, n in outcomes.items() if kind != PRICE_TICKS)
    ticks = f" and {outcomes[PRICE_TICKS]:,} price ticks" if PRICE_TICKS in outcomes else ""
    return (
        f"events/s appended; {commands:,} {unit}{ticks} "
        f"({appended / max(sum(outcomes.values()), 1):.2f} events each)" + outcome_note(outcomes)
    )


def _unit(load: str) -> str:
    """What one call of ``load`` is: a command through the handlers, else an append."""
    return {MIXED: "commands", BULK_FLEET: f"appends of {BULK} deposits"}.get(load, "appends")


def live_rows(
    followed: Followed, projectors: int, load: str, applied: str, alone: str
) -> list[Row]:
    """The load's row (next to the same load with no projector: ``alone``) and the rate the
    projector(s) applied it at while it ran (next to the load)."""
    return [
        Row(
            load,
            TASKS,
            followed.appended,
            followed.seconds,
            baseline=alone,
            note=load_note(followed.outcomes, followed.appended, _unit(alone)),
        ),
        Row(
            applied,
            projectors,
            followed.applied_in_window,
            followed.seconds,
            baseline=load,
            peer=CATCH_UP,
            note=f"events/s applied while the load ran; lag largest {followed.largest_lag:,} "
            f"events, {followed.lag_at_end:,} when it stopped, drained in "
            f"{followed.drained_in:.1f} s",
        ),
    ]


async def part_two(url: str, stores: Stores, report: Report) -> None:
    replica = Replica.of(stores)
    clients = [client_name(n) for n in range(BORROWERS)]

    def mix() -> Awaitable[tuple[Counter[str], float]]:
        return the_mix(stores, replica, clients, MIX_SECONDS)

    def fleet() -> Awaitable[tuple[Counter[str], float]]:
        return straight_deposits(stores, replica, clients, MIX_SECONDS, 1)

    def bulk() -> Awaitable[tuple[Counter[str], float]]:
        return straight_deposits(stores, replica, clients, MIX_SECONDS, BULK)

    await market_tick(stores.collateral, now)
    progress(f"part 2: the command path's mix, {TASKS} writers, {MIX_SECONDS} s, no projector")
    await the_mix(stores, replica, clients, WARMUP)
    outcomes, appended, seconds = await measured(url, mix)
    report.rows.append(
        Row(MIXED, TASKS, appended, seconds, baseline=FLEET, note=load_note(outcomes, appended))
    )
    progress(f"part 2: deposits straight to the store, {TASKS} writers, no projector")
    outcomes, appended, seconds = await measured(url, fleet)
    note = load_note(outcomes, appended, _unit(FLEET))
    report.rows.append(Row(FLEET, TASKS, appended, seconds, note=note))
    progress(f"part 2: deposits on {BULK} accounts an append, {TASKS} writers, no projector")
    outcomes, appended, seconds = await measured(url, bulk)
    note = load_note(outcomes, appended, _unit(BULK_FLEET))
    report.rows.append(Row(BULK_FLEET, TASKS, appended, seconds, baseline=FLEET, note=note))
    await projector_catch_up(url, report)
    await market_tick(stores.collateral, now)
    runs = ((1, mix, LIVE_MIX), (1, fleet, LIVE_FLEET), (1, bulk, LIVE_BULK), (2, bulk, LIVE_TWO))
    for projectors, load, names in runs:
        progress(f"part 2: {names[0]}")
        followed = await follow_live(url, projectors, load)
        report.rows += live_rows(followed, projectors, *names)


# ------------------------------------------------------------------------------ the run


async def run(url: str, report: Report) -> None:
    login = await open_database(url, role=None, pool_size=10)
    stores = await Stores.open(url)
    try:
        seed_store = EventStore(login, clock=now, snapshot_key=SNAPSHOT_KEY)
        await market(seed_store, ManualClock(now()))
        policy, prices = await policy_and_prices(CommandRunner(seed_store), now(), PRICES)
        progress(f"seeding {BORROWERS:,} borrowers")
        await seed(seed_store, Seeder(now(), policy, prices), BORROWERS)
        contended = [client_name(n) for n in range(CONTENDED)]
        await contention(stores, contended, report)
        await part_two(url, stores, report)
    finally:
        await stores.close()
        await login.close()


def main() -> None:
    started = time.perf_counter()
    with embedded_server() as admin:
        title = "Scaling: the one exposure stream and the single projector"
        report = Report(title, environment=environment(admin))
        url = fresh_database(admin, "bench_scaling")
        asyncio.run(run(url, report))
    report.environment["borrowers"] = BORROWERS
    report.environment["bench seconds"] = round(time.perf_counter() - started)
    report.publish("scaling", with_rates=True)


if __name__ == "__main__":
    main()
