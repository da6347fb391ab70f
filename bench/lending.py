"""Lending benchmark: `make bench-lending` (python -m bench.lending).

Part 1, in process, on an embedded PostgreSQL:

* **Seeding** HARBOUR_BENCH_ACCOUNTS borrowers (default 100,000). Going through gRPC would take
  far longer than the figure it serves, so each borrower's history is *decided* in process by
  the services' own pure deciders (``accounts.domain.decide`` for onboarding and two collateral
  deposits, ``lending.domain.decide`` for ApproveFacility and DrawLoan, with the policy and
  prices read back from their streams) and written with ONE ``EventStore.append`` per account
  from 8 concurrent writers. The draws' ``BrokerExposureChanged`` events (the broker's running
  total, decided in the same pass) go to ``broker-exposure`` in batches of 1,000 with an
  expected version, and the stream gets the snapshot the service would have saved. Every
  event is recorded "yesterday" (the store's clock), so yesterday's accrual has principal.
  The seeding process acts as the database login role: one append mixes account and lending
  events, which no single service role may write.
* **Interest accrual for one day**, as the lending service's own role (``harbour_lending``).
  First the projector catches the ``loans`` read model up with the seeded book (timed on its
  own: the projector's job in production). Then the per-account path,
  ``LendingHandlers.accrue(client, through=yesterday)`` from 16 concurrent tasks, for the
  first HARBOUR_BENCH_ACCRUE_ACCOUNTS borrowers (default 5,000: its rate, not its total, is
  the figure; at 100,000 it took 10-13 minutes): each account reads its stream, loads policy,
  prices and the broker's exposure, decides and appends one InterestAccrued with its
  command-log row. Then the bulk run the scheduler makes (``harbour.lending.accrual``:
  keyset pages of 1,000 rows of the read model, one query and one ``append_batch`` each) over
  every borrower; those the per-account path already did have nothing due. Baseline in the
  same run and database: raw ``EventStore.append`` of one small event (with a request_id, so
  a command-log row too) to a new stream each, same role, same 16 tasks.
* **DrawLoan in process with every borrower in broker-exposure**: ``LendingHandlers.handle``
  from 16 tasks for a few seconds, after the accrual (the exposure state holds one group per
  borrower).

Part 2, over gRPC: `harbour serve collateral|accounts|lending` processes (the lending one
runs its risk monitor, as in production) on a fresh database; the policy, prices and
borrowers are set up over gRPC; then DrawLoan of HKD 10.00 in a closed loop: 1 caller, 16
callers on 64 accounts (4 each; three rounds, the median reported), 16 callers on 512
accounts, next to a grpc.aio echo server measured in the same run (the ceiling of the gRPC
layer: before the draws, between the rounds and after them; the mean). Every draw also
appends to the one ``broker-exposure`` stream in the same statement, so draws serialise on
it: compare 1 caller with 16. After the servers stop, the same draws run in process (1 task,
then 16) through a store that counts the appends lost on an expected version (each one a
reload and a new decision) and the draws that gave up after the runner's last attempt
(ABORTED over gRPC).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from bench.accounts import closed_loop, echo_row, free_port, percentile, start
from bench.common import (
    CREDIT_CHECKER,
    Report,
    Row,
    Target,
    embedded_server,
    environment,
    fresh_database,
    token_caller,
    token_env,
)
from harbour.accounts import domain as accounts_domain
from harbour.api.v1 import (
    accounts_pb2,
    accounts_pb2_grpc,
    collateral_pb2,
    collateral_pb2_grpc,
    lending_pb2,
    lending_pb2_grpc,
)
from harbour.api.v1.common_pb2 import Amount, Price
from harbour.application.market import market as policy_and_prices
from harbour.application.outcome import new_event
from harbour.application.runner import CommandRunner
from harbour.application.streams import ACCOUNTS as ACCOUNTS_KIND
from harbour.collateral.domain import ApprovePolicyChange, ProposePolicyChange, RecordPrice
from harbour.collateral.handlers import CollateralHandlers
from harbour.collector import collector_paused_for
from harbour.eventstore.errors import ConcurrencyConflict
from harbour.eventstore.model import AppendResult, NewEvent, StreamWrite
from harbour.eventstore.projections import ProjectionRunner
from harbour.eventstore.store import EventStore
from harbour.ledger import events as ev
from harbour.ledger.account import MarginAccount, evolve
from harbour.ledger.balances import EMPTY, Balances
from harbour.ledger.exposure import EXPOSURE_STREAM, BrokerExposure
from harbour.ledger.exposure import SNAPSHOT_VERSION as EXPOSURE_SNAPSHOT_VERSION
from harbour.ledger.exposure import to_snapshot as exposure_snapshot
from harbour.ledger.grades import CreditGrade
from harbour.ledger.ids import account_stream
from harbour.ledger.interest import BUSINESS_TZ, is_month_end
from harbour.ledger.money import Money
from harbour.ledger.valuation import holdings_of, value_accounts
from harbour.lending import domain as lending_domain
from harbour.lending.accrual import accrue_in_bulk
from harbour.lending.handlers import LendingHandlers
from harbour.lending.projections import Loans
from harbour.runtime.database import open_database
from harbour.runtime.settings import Settings
from harbour.testing import credit

ACCOUNTS = int(os.environ.get("HARBOUR_BENCH_ACCOUNTS", "100000"))
SEED_WRITERS = 8
TASKS = 16  # accrual tasks, raw-append tasks, in-process draw tasks
# Accrue this many of the seeded borrowers one by one, the per-account path (all of them took
# ~10 minutes at 100,000 on 2 cores; a sample gives the same rate), the rest in bulk.
ACCRUE = min(int(os.environ.get("HARBOUR_BENCH_ACCRUE_ACCOUNTS", 5000)), ACCOUNTS)
RAW_APPENDS = min(ACCOUNTS, 20_000)  # enough for a steady rate
# The risk screen a price move sets off, over this many borrowers (default: as many as the
# command runner caches, so the second pass is the warm one a running service makes).
SCREEN_ACCOUNTS = min(int(os.environ.get("HARBOUR_BENCH_SCREEN_ACCOUNTS", "20000")), ACCOUNTS)
EXPOSURE_BATCH = 1000
IN_PROCESS_DRAW_SECONDS = 4.0

CALLERS = 16
BORROWERS = 64
MORE_BORROWERS = 512
DURATION = 6.0
WARMUP = 1.0
# The 16-caller draws on 64 accounts (the target) run this many times, an echo after
# each but the last: the row is the median round, so one noisy burst on the shared machine
# neither makes nor breaks the target.
ROUNDS = 3

POLICY = {"haircut.0700.HK": "0.30", "broker.capital": "10000000000.00"}  # 50bn total limit
PRICES = {"BTC": Decimal("500000.00"), "0700.HK": Decimal("400.00")}
CREDIT_LIMIT = "1000000.00"
RATE = Decimal("0.068")
SEED_META = {"actor": "bench-seed", "service": "bench"}
ACCRUAL_META = {"actor": "interest-scheduler", "service": "lending"}
# One key for every store of the benchmark, as every process of a deployment shares
# HARBOUR_SNAPSHOT_KEY: the seeded broker-exposure snapshot is then believed by the lending
# store. With a key each, the snapshot was refused and 100,000 groups replayed (27 s), and
# the first draw after that snapshotted them inline: 16 draws in 4 s.
SNAPSHOT_KEY = uuid.uuid4().hex.encode()

FEED = token_caller("vendor-a:price-feed")
ALICE = token_caller("alice:policy-admin")
BOB = token_caller("bob:policy-admin")
RISK = token_caller("risk-desk:risk")
OPERATOR = token_caller("ops:operator")
PLATFORM = token_caller("desk:trading-platform")

RAW = "raw append, 1 event + command log (baseline)"
ACCRUAL = "interest accrual, 1 day per account, one by one (LendingHandlers.accrue)"
BULK_ACCRUAL = "interest accrual, 1 day per account, in bulk (harbour.lending.accrual)"
CATCH_UP = "loans read model caught up by the projector (before the accrual)"
SEEDING = "seeding (in-process deciders, 1 append per account)"
DRAW_ALL = "DrawLoan in process, every borrower in broker-exposure"
SCREEN = "risk screen after a price move, warm (LendingHandlers.needing_action)"
SCREEN_CORE = "value_accounts core, the same accounts (ceiling)"
ECHO = "grpc.aio echo (ceiling)"
DrawRun = tuple[int, list[float], dict[str, int]]  # draws, latencies (s), refusals by code


@dataclass
class ManualClock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def client_name(n: int) -> str:
    return f"B{n:07d}"


def draw_day() -> date:
    """Yesterday in Hong Kong, or the day before when yesterday ends a month (a month end
    capitalises, and a capitalisation moves broker-exposure: another benchmark)."""
    day = datetime.now(BUSINESS_TZ).date() - timedelta(days=1)
    return day - timedelta(days=1) if is_month_end(day) else day


def hk(day: date, hour: int) -> datetime:
    return datetime.combine(day, clock_time(hour), tzinfo=BUSINESS_TZ).astimezone(UTC)


# ------------------------------------------------------------------------------ part 1


async def market(store: EventStore, clock: ManualClock) -> None:
    """The policy (0700.HK eligible) and the prices, through the collateral handlers."""
    collateral = CollateralHandlers(CommandRunner(store), clock=clock)
    parameters = tuple(ev.PolicyParameter(k, v) for k, v in POLICY.items())
    for actor, command in (
        ("alice", ProposePolicyChange("P-bench", parameters, clock())),
        ("bob", ApprovePolicyChange("P-bench")),
    ):
        await collateral.change_policy(
            command,
            actor=actor,
            request_id=uuid.uuid4().hex,
            request={"command": type(command).__name__},
            metadata={"actor": actor},
        )
    for code, price in PRICES.items():
        await collateral.record_price(
            RecordPrice(code, price, clock(), "bench"),
            request_id=uuid.uuid4().hex,
            request={"asset": code},
            metadata={"actor": "bench-feed"},
        )


class Seeder:
    """Each borrower's history decided by the pure deciders; the broker's running total kept
    in a mutable map (``evolve_exposure`` copies the group map per event: quadratic here)."""

    def __init__(self, now: datetime, policy: Any, prices: Any) -> None:
        self.now, self.policy, self.prices = now, policy, prices
        self.total: Balances = EMPTY
        self.groups: dict[str, Balances] = {}
        self.exposure_events: list[ev.Event] = []
        self._accounts = accounts_domain.Context(now, policy.minimum_credit_grade)

    def borrower(self, n: int) -> tuple[str, list[ev.Event]]:
        client = client_name(n)
        state = MarginAccount.initial(client)
        written: list[ev.Event] = []

        def apply(events: Sequence[ev.Event]) -> None:
            nonlocal state
            for event in events:
                state = evolve(state, event)
            written.extend(events)

        apply(
            credit.onboarded(  # the grade and limit approved by a second principal
                accounts_domain.OnboardClient(
                    client_id=client,
                    securities_account_id=f"SMA-{client}",
                    credit_assessment_id=None,
                    credit_grade=CreditGrade.A,
                    credit_limit=Money.of("HKD", CREDIT_LIMIT),
                    agreement_version="MA-2026",
                    disclosure_version="VARD-1",
                    professional_investor=False,
                ),
                self._accounts,
            )
        )
        for code, quantity in (("0700.HK", "1000"), ("BTC", "1")):
            apply(
                accounts_domain.decide(
                    state,
                    accounts_domain.DepositCollateral(client, Money.of(code, quantity), "custody"),
                    self._accounts,
                )
            )
        exposure = BrokerExposure(self.total, MappingProxyType(self.groups))
        approve = lending_domain.ApproveFacility(
            client, f"F-{client}", Money.of("HKD", CREDIT_LIMIT), RATE
        )
        context = lending_domain.Context(
            self.now, self.policy, self.prices, exposure, f"seed-{client}-facility"
        )
        apply(lending_domain.decide(state, approve, context).account)
        amount = Money.of("HKD", f"{1000 + n % 2000}.{n % 100:02d}")  # 1,000-2,999.99
        context = lending_domain.Context(
            self.now, self.policy, self.prices, exposure, f"seed-{client}-draw"
        )
        decision = lending_domain.decide(state, lending_domain.DrawLoan(client, amount), context)
        apply(decision.account)
        for event in decision.exposure:
            assert isinstance(event, ev.BrokerExposureChanged)
            code, delta = event.change.asset.code, event.change.minor
            self.groups[event.group_id] = self.groups.get(event.group_id, EMPTY).add(code, delta)
            self.total = self.total.add(code, delta)
            self.exposure_events.append(event)
        return client, written

    def exposure(self) -> BrokerExposure:
        return BrokerExposure(self.total, MappingProxyType(dict(self.groups)))


async def seed(store: EventStore, seeder: Seeder, count: int) -> int:
    """Every borrower's events in one append each (8 writers), then broker-exposure."""
    queue: asyncio.Queue[tuple[str, list[NewEvent]] | None] = asyncio.Queue(maxsize=256)
    written = 0
    started = time.perf_counter()

    async def writer() -> None:
        nonlocal written
        while (item := await queue.get()) is not None:
            client, events = item
            await store.append(
                account_stream(client), events, expected_version=0, metadata=SEED_META
            )
            written += len(events)

    writers = [asyncio.create_task(writer()) for _ in range(SEED_WRITERS)]
    for n in range(count):
        client, events = seeder.borrower(n)
        await queue.put((client, [new_event(e) for e in events]))
        if (n + 1) % 10_000 == 0:
            rate = (n + 1) / (time.perf_counter() - started)
            progress(f"  seeded {n + 1:,} of {count:,} borrowers ({rate:,.0f}/s)")
    for _ in writers:
        await queue.put(None)
    await asyncio.gather(*writers)
    version = 0
    events = seeder.exposure_events
    for start_at in range(0, len(events), EXPOSURE_BATCH):
        batch = [new_event(e) for e in events[start_at : start_at + EXPOSURE_BATCH]]
        await store.append(EXPOSURE_STREAM, batch, expected_version=version, metadata=SEED_META)
        version += len(batch)
    written += version
    await store.save_snapshot(
        EXPOSURE_STREAM,
        version,
        exposure_snapshot(seeder.exposure()),
        EXPOSURE_SNAPSHOT_VERSION,
    )
    return written


async def spread(
    items: Sequence[Any], tasks: int, work: Callable[[Any], Awaitable[int]], label: str
) -> tuple[int, float]:
    """Run ``work`` over ``items`` from ``tasks`` concurrent tasks; (sum of results, seconds)."""
    iterator: Iterator[Any] = iter(items)
    done = total = 0
    started = time.perf_counter()
    step = max(len(items) // 10, 1)

    async def task() -> None:
        nonlocal done, total
        for item in iterator:
            result = await work(item)  # not `total += await ...`: that loses updates
            total += result
            done += 1
            if done % step == 0:
                rate = done / (time.perf_counter() - started)
                progress(f"  {label}: {done:,} of {len(items):,} ({rate:,.0f}/s)")

    await asyncio.gather(*(task() for _ in range(tasks)))
    return total, time.perf_counter() - started


class CountingStore(EventStore):
    """The event store, counting the appends that lost on an expected version."""

    conflicts = 0

    async def append_together(self, writes: Sequence[StreamWrite], **kwargs: Any) -> AppendResult:
        try:
            return await super().append_together(writes, **kwargs)
        except ConcurrencyConflict:
            self.conflicts += 1
            raise


async def market_tick(store: EventStore, clock: Callable[[], datetime]) -> None:
    """Fresh prices (unchanged values) through the collateral handlers: draws need them."""
    collateral = CollateralHandlers(CommandRunner(store), clock=clock)
    for code, price in PRICES.items():
        outcome = await collateral.record_price(
            RecordPrice(code, price, clock(), "bench"),
            request_id=uuid.uuid4().hex,
            request={"asset": code},
            metadata={"actor": "bench-feed"},
        )
        assert outcome.response and outcome.response["accepted"], outcome.response


async def draw_in_process(
    store: CountingStore,
    handlers: LendingHandlers,
    clients: Sequence[str],
    tasks: int,
    seconds: float,
) -> tuple[int, int, int, float]:
    """DrawLoan of HKD 10.00 through ``LendingHandlers.handle`` from ``tasks`` tasks, each on
    accounts of its own, for ``seconds``; returns (draws, version conflicts, draws given up
    after the runner's last attempt (ABORTED over gRPC), seconds)."""
    amount = Money.of("HKD", "10.00")
    store.conflicts = 0
    draws = gave_up = 0
    started = time.perf_counter()
    deadline = started + seconds

    async def task(n: int) -> None:
        nonlocal draws, gave_up
        own = clients[n::tasks]
        turn = 0
        while time.perf_counter() < deadline:
            client = own[turn % len(own)]
            turn += 1
            try:
                await handlers.handle(
                    lending_domain.DrawLoan(client, amount),
                    request_id=uuid.uuid4().hex,
                    request={"rpc": "DrawLoan", "client_id": client, "amount": "10.00 HKD"},
                    metadata={"actor": "bench", "service": "lending"},
                )
            except ConcurrencyConflict:
                gave_up += 1  # lost every attempt on the version check: a caller would retry
                continue
            draws += 1

    await asyncio.gather(*(task(n) for n in range(tasks)))
    return draws, store.conflicts, gave_up, time.perf_counter() - started


def conflict_note(draws: int, conflicts: int, gave_up: int) -> str:
    note = (
        f"{conflicts:,} version conflicts ({conflicts / max(draws, 1):.2f} per draw, each a "
        "reload and a new decision)"
    )
    if gave_up:
        note += f"; {gave_up} draws gave up after the runner's last attempt (ABORTED)"
    return note


async def part_one(url: str, report: Report) -> None:
    day = draw_day()
    clock = ManualClock(hk(day, 10))
    seed_db = await open_database(url, role=None, pool_size=SEED_WRITERS + 2)
    database = await open_database(url, role=Settings().role_of("lending"), pool_size=TASKS + 4)
    try:
        # ---- seeding, as the login role (one append holds account and lending events)
        progress(f"part 1: seeding {ACCOUNTS:,} borrowers, draws recorded on {day} (HK)")
        seed_store = EventStore(seed_db, clock=clock, snapshot_key=SNAPSHOT_KEY)
        await market(seed_store, clock)
        runner = CommandRunner(seed_store)
        policy, prices = await policy_and_prices(runner, clock(), PRICES)
        started = time.perf_counter()
        events = await seed(seed_store, Seeder(clock(), policy, prices), ACCOUNTS)
        seconds = time.perf_counter() - started
        progress(f"  seeding took {seconds:.1f} s ({events:,} events)")
        report.rows.append(
            Row(SEEDING, SEED_WRITERS, events, seconds, note=f"{ACCOUNTS:,} borrowers, events/s")
        )

        # ---- the next day, as the lending service's own role
        clock.now = hk(day + timedelta(days=1), 10)
        store = CountingStore(database, clock=clock, snapshot_key=SNAPSHOT_KEY)
        run = uuid.uuid4().hex[:6]

        async def raw(n: int) -> int:
            # One small event to a new stream, with a request_id (a command-log row, as the
            # accrual writes); a type the lending role owns, since the role is the same.
            await store.append(
                f"bench-raw-{run}-{n}",
                [NewEvent("InterestAccrued", {"n": n})],
                expected_version=0,
                request_id=f"raw-{run}-{n}",
                metadata=ACCRUAL_META,
            )
            return 1

        progress(f"part 1: raw appends ({RAW_APPENDS:,}, {TASKS} tasks)")
        count, seconds = await spread(range(RAW_APPENDS), TASKS, raw, "raw appends")
        report.rows.append(Row(RAW, TASKS, count, seconds, note="events/s"))

        handlers = LendingHandlers(CommandRunner(store), clock=clock)
        clients = [client_name(n) for n in range(ACCOUNTS)]
        # The bulk run reads the loans read model: the projector catches it up first.
        projector = ProjectionRunner(seed_store, clock=clock, page_size=5000)
        progress(f"part 1: the projector catches loans up ({events:,} events)")
        started = time.perf_counter()
        await projector.catch_up(Loans())
        seconds = time.perf_counter() - started
        progress(f"  loans caught up in {seconds:.1f} s")
        report.rows.append(Row(CATCH_UP, 1, events, seconds, note="events/s, Loans() alone"))

        async def accrue(client: str) -> int:
            written = await handlers.accrue(
                client, day, request_id=f"accrue-{day}:{client}", metadata=ACCRUAL_META
            )
            return sum(isinstance(e, ev.InterestAccrued) for e in written)

        # One account first, alone: it loads the policy, the prices and the broker-exposure
        # snapshot (a group per borrower) into the runner's cache, as a running service has
        # them. Cold, 16 tasks would each decode that snapshot at once.
        progress(f"part 1: accruing {day} for {ACCRUE:,} of {ACCOUNTS:,} borrowers")
        started = time.perf_counter()
        first = await accrue(clients[0])
        cold = time.perf_counter() - started
        progress(f"  first account (cold caches) took {cold:.2f} s")
        accrued, seconds = await spread(clients[1:ACCRUE], TASKS, accrue, "accrued")
        accrued += first
        progress(f"  accrual took {seconds:.1f} s ({accrued:,} InterestAccrued)")
        report.rows.append(
            Row(
                ACCRUAL,
                TASKS,
                accrued - first,
                seconds,
                baseline=RAW,
                note=f"InterestAccrued events/s: {accrued:,} for {ACCRUE:,} of {ACCOUNTS:,} "
                f"borrowers in {seconds + cold:.1f} s ({(ACCRUE - 1) / seconds:,.0f} accounts/s "
                f"after the first, which took {cold:.2f} s with cold caches); "
                "LendingHandlers.accrue in process",
            )
        )
        await bulk_accrual(handlers, projector, day, report)

        progress(f"part 1: DrawLoan in process, {ACCOUNTS:,} groups in broker-exposure")
        await market_tick(seed_store, clock)
        # A running lending service holds the exposure: load it before the clock starts (the
        # one cold load is reported on its own, not spread over a few seconds of draws).
        started = time.perf_counter()
        await handlers.exposure()
        warm = time.perf_counter() - started
        progress(f"  broker-exposure loaded in {warm:.2f} s")
        draws, conflicts, gave_up, seconds = await draw_in_process(
            store, handlers, clients[: TASKS * 4], TASKS, IN_PROCESS_DRAW_SECONDS
        )
        report.rows.append(
            Row(
                DRAW_ALL,
                TASKS,
                draws,
                seconds,
                baseline=f"DrawLoan in process, {TASKS} tasks, {BORROWERS} accounts",
                note=f"commands/s; {ACCOUNTS:,} groups in the exposure state (loaded first, "
                f"cold, in {warm:.2f} s); " + conflict_note(draws, conflicts, gave_up),
            )
        )
        # As a lending service just started: nothing cached, then warm.
        fresh = LendingHandlers(CommandRunner(store), clock=clock)
        await risk_screen(fresh, clients[:SCREEN_ACCOUNTS], clock(), report)
    finally:
        await database.close()
        await seed_db.close()


async def bulk_accrual(
    handlers: LendingHandlers, projector: ProjectionRunner, day: date, report: Report
) -> None:
    """The scheduler's run over every borrower, after the read model has caught up with the
    per-account sample (those have nothing due; they are read and passed over)."""
    await projector.catch_up(Loans())
    progress(f"part 1: accruing {day} in bulk for {ACCOUNTS:,} borrowers")
    started = time.perf_counter()
    run = await accrue_in_bulk(handlers, day, request_prefix=f"accrue-{day}", metadata=ACCRUAL_META)
    seconds = time.perf_counter() - started
    accrued = run.bulk + run.one_by_one
    progress(
        f"  bulk accrual took {seconds:.1f} s: {run.bulk:,} in {run.batches} batches, "
        f"{run.one_by_one:,} one by one, {run.days_accrued:,} InterestAccrued"
    )
    assert run.days_accrued == ACCOUNTS - ACCRUE, run  # each account once, the sample none
    report.rows.append(
        Row(
            BULK_ACCRUAL,
            1,
            accrued,
            seconds,
            baseline=RAW,
            note=f"accounts/s: {accrued:,} accrued ({run.one_by_one:,} of them one by one), "
            f"{run.accounts:,} read in {run.batches} batches of up to 1,000; "
            f"{accrued / seconds / report.row(ACCRUAL).rate:.1f}x "
            "the per-account path",
        )
    )
    report.targets.append(
        Target("interest accrual in bulk (issue #13)", accrued / seconds, 10_000, "accounts/s")
    )


async def risk_screen(
    handlers: LendingHandlers, clients: Sequence[str], now: datetime, report: Report
) -> None:
    """What the risk monitor does when a price moves: screen every borrower holding the asset
    (each account read and its CheckRisk decided in memory), next to the valuation core on
    the same accounts' holdings: the screen's floor."""
    progress(f"part 1: risk screen of {len(clients):,} borrowers after a price move, cold, warm")
    started = time.perf_counter()
    await handlers.needing_action(clients)
    cold = time.perf_counter() - started
    started = time.perf_counter()
    acting = await handlers.needing_action(clients)
    warm = time.perf_counter() - started
    states = await handlers.runner.load_many([(ACCOUNTS_KIND, account_stream(c)) for c in clients])
    policy, prices = await policy_and_prices(handlers.runner, now, PRICES)
    holdings = [holdings_of(state) for state in states]
    started = time.perf_counter()
    with collector_paused_for(holdings):
        value_accounts(holdings, prices, policy, now)
    core = time.perf_counter() - started
    progress(f"  screen took {cold:.1f} s cold, {warm:.1f} s warm; the core {core:.2f} s")
    report.rows.append(Row(SCREEN_CORE, 1, len(clients), core, note="accounts/s"))
    report.rows.append(
        Row(
            SCREEN,
            1,
            len(clients),
            warm,
            baseline=SCREEN_CORE,
            note=f"accounts/s; {len(acting)} would act; the first pass, nothing cached (a "
            f"service just started), took {cold:.1f} s ({len(clients) / cold:,.0f} accounts/s)",
        )
    )


# ------------------------------------------------------------------------------ part 2


def at(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def hkd(value: str) -> Amount:
    return Amount(asset="HKD", value=value)


class Stubs:
    def __init__(self, ports: dict[str, int]) -> None:
        self.channels = [
            grpc.aio.insecure_channel(f"127.0.0.1:{ports[name]}")
            for name in ("accounts", "collateral", "lending")
        ]
        self.accounts = accounts_pb2_grpc.AccountsServiceStub(self.channels[0])
        self.collateral = collateral_pb2_grpc.CollateralServiceStub(self.channels[1])
        self.lending = lending_pb2_grpc.LendingServiceStub(self.channels[2])

    async def close(self) -> None:
        for channel in self.channels:
            await channel.close()

    async def prices(self) -> None:
        for code, price in PRICES.items():
            reply = await self.collateral.RecordPrice(
                collateral_pb2.RecordPriceRequest(
                    request_id=uuid.uuid4().hex,
                    price=Price(base_asset=code, quote_asset="HKD", value=str(price)),
                    observed_at=at(datetime.now(UTC)),
                    source="vendor-a",
                ),
                metadata=FEED,
            )
            assert reply.accepted, reply.rejection_reason

    async def policy(self) -> None:
        proposal = uuid.uuid4().hex
        await self.collateral.ProposePolicyChange(
            collateral_pb2.ProposePolicyChangeRequest(
                request_id=uuid.uuid4().hex,
                proposal_id=proposal,
                parameters=[
                    collateral_pb2.PolicyParameter(name=k, value=v) for k, v in POLICY.items()
                ],
                effective_from=at(datetime.now(UTC)),
            ),
            metadata=ALICE,
        )
        await self.collateral.ApprovePolicyChange(
            collateral_pb2.ApprovePolicyChangeRequest(
                request_id=uuid.uuid4().hex, proposal_id=proposal
            ),
            metadata=BOB,
        )

    async def borrower(self, client: str) -> None:
        await self.accounts.OnboardClient(
            accounts_pb2.OnboardClientRequest(
                request_id=uuid.uuid4().hex,
                client_id=client,
                securities_margin_account_id=f"SMA-{client}",
                credit_grade="A",
                credit_limit=hkd(CREDIT_LIMIT),
                margin_agreement_version="MA-2026",
                risk_disclosure_version="VARD-1",
            ),
            metadata=OPERATOR,
        )
        await credit.approve_client_facts(self.accounts, client, metadata=CREDIT_CHECKER)
        for code, quantity in (("0700.HK", "1000"), ("BTC", "1")):
            await self.accounts.DepositCollateral(
                accounts_pb2.DepositCollateralRequest(
                    request_id=uuid.uuid4().hex,
                    client_id=client,
                    quantity=Amount(asset=code, value=quantity),
                    reference="custody",
                ),
                metadata=PLATFORM,
            )
        await self.lending.ApproveFacility(
            lending_pb2.ApproveFacilityRequest(
                request_id=uuid.uuid4().hex,
                client_id=client,
                facility_id=f"F-{client}",
                credit_limit=hkd(CREDIT_LIMIT),
                annual_rate=str(RATE),
            ),
            metadata=RISK,
        )

    async def draws(self, clients: Sequence[str], callers: int) -> DrawRun:
        """Closed-loop DrawLoan of HKD 10.00; each caller on accounts of its own."""
        turns = [0] * callers
        refused: dict[str, int] = {}

        async def call(n: int) -> None:
            own = clients[n::callers]
            client = own[turns[n] % len(own)]
            turns[n] += 1
            try:
                await self.lending.DrawLoan(
                    lending_pb2.DrawLoanRequest(
                        request_id=uuid.uuid4().hex, client_id=client, amount=hkd("10.00")
                    ),
                    metadata=PLATFORM,
                )
            except grpc.aio.AioRpcError as error:
                refused[error.code().name] = refused.get(error.code().name, 0) + 1

        await self.prices()
        await closed_loop(call, callers, WARMUP)
        refused.clear()
        count, latencies = await closed_loop(call, callers, DURATION)
        return count - sum(refused.values()), latencies, refused


async def over_grpc(ports: dict[str, int], report: Report, echo: Callable[[str], Row]) -> list[str]:
    """Policy, prices and borrowers over gRPC, then the draws; returns the borrowers.
    ``echo`` measures the echo ceiling once (given its row's name), between draw rounds."""
    stubs = Stubs(ports)
    try:
        run = uuid.uuid4().hex[:4]
        clients = [f"G{run}{n:04d}" for n in range(MORE_BORROWERS)]
        progress(f"part 2: policy, prices and {len(clients)} borrowers over gRPC")
        await stubs.policy()
        await stubs.prices()
        pending = iter(clients)

        async def setup() -> None:
            for client in pending:
                await stubs.borrower(client)

        await asyncio.gather(*(setup() for _ in range(CALLERS)))
        for callers, accounts in ((1, BORROWERS), (CALLERS, BORROWERS), (CALLERS, MORE_BORROWERS)):
            rounds = ROUNDS if (callers, accounts) == (CALLERS, BORROWERS) else 1
            runs = []
            for n in range(rounds):
                of = f", round {n + 1} of {rounds}" if rounds > 1 else ""
                progress(f"part 2: DrawLoan, {callers} caller(s) on {accounts} accounts{of}")
                runs.append(await stubs.draws(clients[:accounts], callers))
                if n < rounds - 1:
                    name = f"grpc.aio echo, between draw rounds {n + 1} and {n + 2}"
                    report.rows.append(await asyncio.to_thread(echo, name))
            count, latencies, refused = median_run(runs)
            note = (
                f"commands/s; p50 {percentile(latencies, 0.5):.1f} ms, "
                f"p99 {percentile(latencies, 0.99):.1f} ms"
            )
            if rounds > 1:
                each = ", ".join(f"{c / DURATION:,.0f}" for c, _, _ in runs)
                note += f"; the median of {rounds} rounds ({each} a second)"
            if refused:
                note += f"; refused {refused}"
            if callers == 1:
                p50 = percentile(latencies, 0.5)
                report.targets.append(Target("DrawLoan, 1 caller: 3 ms - p50", 3 - p50, 0, "ms"))
            report.rows.append(
                Row(
                    f"DrawLoan over gRPC, {callers} caller{'s' if callers > 1 else ''}, "
                    f"{accounts} accounts",
                    callers,
                    count,
                    DURATION,
                    baseline=ECHO,
                    note=note,
                )
            )
        return clients[:BORROWERS]
    finally:
        await stubs.close()


def median_run(runs: Sequence[DrawRun]) -> DrawRun:
    """The round of median throughput (the lower middle one of an even number)."""
    return sorted(runs, key=lambda run: run[0])[(len(runs) - 1) // 2]


async def draws_counted(url: str, clients: Sequence[str], report: Report) -> None:
    """The same draws in process, through a store that counts version conflicts."""

    def clock() -> datetime:
        return datetime.now(UTC)

    login = await open_database(url, role=None, pool_size=4)
    database = await open_database(url, role=Settings().role_of("lending"), pool_size=TASKS + 4)
    try:
        # The services' key: their snapshots of these accounts are believed, not replayed.
        store = CountingStore(database, clock=clock, snapshot_key=SNAPSHOT_KEY)
        handlers = LendingHandlers(CommandRunner(store), clock=clock)
        for tasks in (1, TASKS):
            await market_tick(EventStore(login, clock=clock), clock)
            progress(f"part 2: DrawLoan in process, {tasks} task(s), counting conflicts")
            draws, conflicts, gave_up, seconds = await draw_in_process(
                store, handlers, clients, tasks, IN_PROCESS_DRAW_SECONDS
            )
            one = f"DrawLoan in process, 1 task, {len(clients)} accounts"
            report.rows.append(
                Row(
                    one
                    if tasks == 1
                    else f"DrawLoan in process, {tasks} tasks, {len(clients)} accounts",
                    tasks,
                    draws,
                    seconds,
                    baseline="" if tasks == 1 else one,
                    note="commands/s; " + conflict_note(draws, conflicts, gave_up),
                )
            )
    finally:
        await database.close()
        await login.close()


def part_two(url: str, report: Report) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARBOUR_")}
    env.update(HARBOUR_DATABASE_URL=url, HARBOUR_LOG_LEVEL="WARNING")
    env.update(HARBOUR_SNAPSHOT_KEY=SNAPSHOT_KEY.decode())  # shared with draws_counted's store
    env.update(token_env())

    def echo(name: str) -> Row:
        return echo_row(name, free_port(), env)

    progress(f"part 2: grpc.aio echo, {CALLERS} callers, {DURATION} s")
    before = echo("grpc.aio echo, before the draws")
    ports = {name: free_port() for name in ("collateral", "accounts", "lending")}
    servers = []
    try:
        for name, port in ports.items():
            servers.append(
                start(
                    [sys.executable, "-m", "harbour.runtime.cli", "serve", name],
                    {**env, "HARBOUR_PORT": str(port)},
                    "listening",
                )
            )
        clients = asyncio.run(over_grpc(ports, report, echo))
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait()
    # The ceiling on a shared machine moves while the draws run: measured before, between
    # the rounds and after, and the draws compared with the mean of them all.
    progress("part 2: grpc.aio echo again")
    after = echo("grpc.aio echo, after the draws")
    between = [row for row in report.rows if row.scenario.startswith("grpc.aio echo")]
    report.rows[:] = [row for row in report.rows if row not in between]
    echoes = [before, *between, after]
    mean = sum(row.events for row in echoes) // len(echoes)
    note = f"calls/s; the mean of {len(echoes)}"
    report.rows[:0] = [*echoes, Row(ECHO, CALLERS, mean, DURATION, note=note)]
    drawn = report.row(f"DrawLoan over gRPC, {CALLERS} callers, {BORROWERS} accounts")
    ratio = drawn.rate / report.row(ECHO).rate
    report.targets.append(Target(f"DrawLoan, {CALLERS} callers / echo", ratio, 0.25, "x"))
    asyncio.run(draws_counted(url, clients, report))


def main() -> None:
    started = time.perf_counter()
    with embedded_server() as admin:
        report = Report("Lending", environment=environment(admin))
        part_two(fresh_database(admin, "bench_lending_grpc"), report)
        asyncio.run(part_one(fresh_database(admin, "bench_lending"), report))
    report.environment["accounts"] = ACCOUNTS
    report.environment["bench seconds"] = round(time.perf_counter() - started)
    report.publish("lending", with_rates=True)


if __name__ == "__main__":
    main()
