"""Interest accrual in bulk (harbour.lending.accrual) against the per-account path.

A small book of borrowers drawn on Friday 30 January 2026 (HK), a quarter of them drawing
again on the 31st (a month end: capitalisation moves broker-exposure), accrued through
1 February — a three-day catch-up — on the 2nd.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from decimal import Decimal
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY

from harbour.accounts import domain as accounts
from harbour.accounts.handlers import AccountHandlers
from harbour.application.runner import CommandRunner
from harbour.application.streams import EXPOSURE
from harbour.collateral.domain import ApprovePolicyChange, ProposePolicyChange, RecordPrice
from harbour.collateral.handlers import CollateralHandlers
from harbour.eventstore.database import Database
from harbour.eventstore.model import CommandWrite
from harbour.eventstore.projections import ProjectionRunner
from harbour.eventstore.store import EventStore
from harbour.ledger import events as ev
from harbour.ledger.exposure import EXPOSURE_STREAM
from harbour.ledger.grades import CreditGrade
from harbour.ledger.ids import account_stream
from harbour.ledger.interest import BUSINESS_TZ
from harbour.ledger.money import Money
from harbour.lending import accrual
from harbour.lending import domain as lending
from harbour.lending.accrual import AccrualRun, accrue_in_bulk
from harbour.lending.handlers import LendingHandlers
from harbour.lending.monitor import SCHEDULER_METADATA
from harbour.lending.projections import Loans
from harbour.runtime.database import open_database
from harbour.runtime.projections import all_projections
from harbour.testing import credit
from tests.conftest import drop_database, new_database
from tests.e2e.callers import ManualClock
from tests.integration.poison import insert_poison

BORROWERS = 12
PAGE = 4  # accounts per page: several pages, a keyset across them
DRAWN_ON = date(2026, 1, 30)
THROUGH = date(2026, 2, 1)
DAYS = [DRAWN_ON + timedelta(days=n) for n in range(3)]  # 30 Jan, 31 Jan (month end), 1 Feb
PREFIX = f"accrue-{THROUGH}"
AFTER_SEEDING = datetime.combine(THROUGH + timedelta(days=1), clock_time(10), tzinfo=BUSINESS_TZ)
META = {"actor": "test"}


def hk(day: date, hour: int) -> datetime:
    return datetime.combine(day, clock_time(hour), tzinfo=BUSINESS_TZ).astimezone(UTC)


def client(n: int) -> str:
    return f"B{n:03d}"


class Book:
    """One seeded database: its store, handlers and clock (and its URL, for a forger)."""

    def __init__(self, database: Database, url: str = "") -> None:
        self.url = url
        self.clock = ManualClock(hk(DRAWN_ON, 9))
        self.store = EventStore(database, clock=self.clock)
        self.lending = LendingHandlers(CommandRunner(self.store), clock=self.clock)
        self.accounts = AccountHandlers(self.store, clock=self.clock)
        self.collateral = CollateralHandlers(CommandRunner(self.store), clock=self.clock)
        # Another replica of the lending service: its own cache and its own hold on the
        # exposure stream.
        self.replica = LendingHandlers(CommandRunner(self.store), clock=self.clock)

    async def prices(self) -> None:
        for code, price in (("BTC", "500000.00"), ("0700.HK", "400.00")):
            await self.collateral.record_price(
                RecordPrice(code, Decimal(price), self.clock(), "test"),
                request_id=f"price-{code}-{self.clock().isoformat()}",
                request={"asset": code, "at": self.clock().isoformat()},
                metadata=META,
            )

    async def seed(self) -> None:
        parameters = (ev.PolicyParameter("haircut.0700.HK", "0.30"),)
        for actor, command in (
            ("alice", ProposePolicyChange("P-1", parameters, self.clock())),
            ("bob", ApprovePolicyChange("P-1")),
        ):
            await self.collateral.change_policy(
                command,
                actor=actor,
                request_id=f"policy-{actor}",
                request={"c": type(command).__name__},
                metadata=META,
            )
        self.clock.now = hk(DRAWN_ON, 10)
        await self.prices()
        for n in range(BORROWERS):
            await self.onboard(client(n), n)
        # A quarter draw again on the month end: the bulk run cannot take their days from the
        # row (the principal changed during them) and leaves them to the per-account path.
        self.clock.now = hk(DRAWN_ON + timedelta(days=1), 12)
        await self.prices()
        for n in range(0, BORROWERS, 4):
            await self.draw(client(n), "500.00", "again")
        self.clock.now = AFTER_SEEDING

    async def onboard(self, c: str, n: int) -> None:
        commands: list[accounts.Command] = [
            accounts.OnboardClient(
                c, f"SMA-{c}", None, CreditGrade.A, Money.of("HKD", "1000000.00"), "MA", "RD", False
            ),
            accounts.DepositCollateral(c, Money.of("0700.HK", "1000"), "custody"),
            accounts.DepositCollateral(c, Money.of("BTC", "1"), "custody"),
        ]
        for k, command in enumerate(commands):
            await self.accounts.handle(
                command, request_id=f"{c}-{k}", request={"k": k}, metadata=META
            )
        await credit.approve_pending(self.accounts, c)  # the grade and limit onboarding proposed
        rate = Decimal("0.068") + Decimal(n) / 1000  # each its own rate
        await self.lending.handle(
            lending.ApproveFacility(c, f"F-{c}", Money.of("HKD", "1000000.00"), rate),
            request_id=f"{c}-facility",
            request={"k": "facility"},
            metadata=META,
        )
        await self.draw(c, f"{1000 + 137 * n}.{n:02d}", "first")

    async def draw(self, c: str, amount: str, key: str, *, replica: bool = False) -> None:
        await (self.replica if replica else self.lending).handle(
            lending.DrawLoan(c, Money.of("HKD", amount)),
            request_id=f"{c}-draw-{key}",
            request={"k": key, "amount": amount},
            metadata=META,
        )

    async def project(self) -> None:
        await ProjectionRunner(self.store, clock=self.clock).catch_up(Loans())

    async def per_account(
        self, through: date = THROUGH, clients: Sequence[str] = (), prefix: str = PREFIX
    ) -> int:
        """The per-account path, one client after another (what accrue_all did before)."""
        written = 0
        for c in clients or await self.lending.borrowers():
            events = await self.lending.accrue(
                c, through, request_id=f"{prefix}:{c}", metadata=SCHEDULER_METADATA
            )
            written += len(events)
        return written

    async def bulk(self) -> AccrualRun:
        return await accrue_in_bulk(
            self.lending, THROUGH, request_prefix=PREFIX, metadata=SCHEDULER_METADATA, chunk=PAGE
        )

    async def account_events(self) -> dict[str, list[tuple[int, str, dict[str, Any], str]]]:
        """Every account stream's interest events: (version, type, data, request id)."""
        found: dict[str, list[tuple[int, str, dict[str, Any], str]]] = {}
        for n in range(BORROWERS):
            stream = await self.store.read_stream(account_stream(client(n)))
            found[client(n)] = [
                (e.version, e.type, e.data, e.metadata["request_id"])
                for e in stream
                if e.type in ("InterestAccrued", "InterestCapitalised")
            ]
        return found

    async def capitalisations(self) -> Counter[tuple[str, str, str]]:
        """broker-exposure's capitalisations, as a multiset (their order is the writers')."""
        return Counter(
            (e.data["client_id"], json.dumps(e.data["change"], sort_keys=True), e.data["reference"])
            for e in await self.store.read_stream(EXPOSURE_STREAM)
            if e.data["reason"] == "capitalisation"
        )


async def _seed(url: str) -> None:
    database = await open_database(url, pool_size=4)
    try:
        book = Book(database)
        await book.seed()
        await book.project()
    finally:
        await database.close()


@pytest.fixture(scope="module")
def seeded(pg_server: str, template_url: str) -> Iterator[str]:
    """The book seeded once; each test gets its own copy of it (a template database)."""
    url = new_database(pg_server)
    asyncio.run(_seed(url))
    yield url.rsplit("/", 1)[-1].split("?", 1)[0]
    drop_database(pg_server, url)


@asynccontextmanager
async def copy_of(pg_server: str, seeded: str) -> AsyncIterator[Book]:
    url = new_database(pg_server, template=seeded)
    database = await open_database(url, pool_size=8)
    try:
        copied = Book(database, url)
        copied.clock.now = AFTER_SEEDING
        yield copied
    finally:
        await database.close()
        drop_database(pg_server, url)


@pytest.fixture
async def book(pg_server: str, seeded: str) -> AsyncIterator[Book]:
    async with copy_of(pg_server, seeded) as copied:
        yield copied


@pytest.fixture
async def other_book(pg_server: str, seeded: str) -> AsyncIterator[Book]:
    async with copy_of(pg_server, seeded) as copied:
        yield copied


def accrued_days(events: dict[str, list[tuple[int, str, dict[str, Any], str]]]) -> set[int]:
    """How many times each (client, day) was accrued, as a set of counts."""
    counts = Counter(
        (c, data["accrual_date"])
        for c, found in events.items()
        for _, kind, data, _ in found
        if kind == "InterestAccrued"
    )
    assert {day for _, day in counts} == {str(d) for d in DAYS}
    return set(counts.values())


async def test_bulk_writes_what_the_per_account_path_writes(book: Book, other_book: Book) -> None:
    by_account = await other_book.per_account()
    run = await book.bulk()

    expected = await other_book.account_events()
    assert await book.account_events() == expected  # same events, same amounts, same ids
    assert await book.capitalisations() == await other_book.capitalisations()
    assert run.events == by_account == sum(len(found) for found in expected.values())
    # Every borrower: three days and the month end's capitalisation.
    assert all(
        [kind for _, kind, _, _ in found]
        == ["InterestAccrued", "InterestAccrued", "InterestCapitalised", "InterestAccrued"]
        for found in expected.values()
    )
    # The quarter that drew on the month end went one by one; the rest in bulk, by page.
    assert (run.bulk, run.one_by_one) == (BORROWERS - BORROWERS // 4, BORROWERS // 4)
    assert run.batches == -(-BORROWERS // PAGE) and not run.refused
    # The exposure the lending process holds after the month end (the capitalisations folded
    # in memory as each page landed) is the one its stream gives.
    held = await book.lending.runner.hot_state(EXPOSURE, EXPOSURE_STREAM, trust=True)
    stored = await CommandRunner(book.store).load(EXPOSURE, EXPOSURE_STREAM)
    assert (held.version, held.state) == (stored.version, stored.state)


async def test_a_rerun_and_a_concurrent_draw_accrue_each_day_once(book: Book) -> None:
    store = book.store
    raced: list[str] = []
    original = store.append_batch

    async def draw_meanwhile(commands: Sequence[CommandWrite]) -> Any:
        # A draw lands between the page's read and its append, on the page's first account.
        if not raced:
            raced.append(commands[0].writes[0].stream_id.removeprefix("account-"))
            await book.draw(raced[0], "10.00", "meanwhile", replica=True)
        return await original(commands)

    store.append_batch = draw_meanwhile  # type: ignore[method-assign]
    draws = [book.draw(client(n), "20.00", "concurrent") for n in range(1, BORROWERS, 3)]
    await book.prices()
    first, *_ = await asyncio.gather(book.bulk(), *draws)
    assert raced and first.one_by_one > BORROWERS // 4  # the raced one went one by one

    again = await book.bulk()  # the read model is behind the first run: nothing is due anyway
    await book.project()
    caught_up = await book.bulk()
    assert again.events == caught_up.events == 0
    assert accrued_days(await book.account_events()) == {1}


async def test_a_lagging_read_model_falls_back_and_accrues_nothing_twice(book: Book) -> None:
    # Half the book accrued its first day one by one (another run); the read model has not
    # seen it, so their rows are a version behind their streams.
    ahead = [client(n) for n in range(1, BORROWERS, 2)]
    await book.per_account(DRAWN_ON, ahead, prefix="accrue-earlier")
    run = await book.bulk()
    # The stale rows and the month-end drawers one by one; the rest in bulk.
    assert (run.one_by_one, run.bulk) == (len(ahead) + BORROWERS // 4, BORROWERS // 4)
    assert accrued_days(await book.account_events()) == {1}
    async with book.store.engine.connect() as conn:
        logged = await conn.scalar(
            sa.text("SELECT count(*) FROM command_log WHERE request_id LIKE :p"),
            {"p": f"{PREFIX}:%"},
        )
    assert logged == BORROWERS  # one command per account, whichever path wrote it


async def test_a_run_that_fails_leaves_no_page_read_running_and_the_next_run_finishes_it(
    book: Book, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each page is read while the one before is decided, in a task of its own: a run that
    # fails meanwhile (the database gone while a page was decided) must not leave it running.
    reads: list[asyncio.Task[Any]] = []
    never = asyncio.Event()
    real_page, real_decide = accrual._page, accrual._decide_page

    async def page(handlers: LendingHandlers, after: str, chunk: int) -> Any:
        reads.append(asyncio.current_task())  # type: ignore[arg-type]
        if len(reads) == 3:
            await never.wait()  # still reading when the run fails
        return await real_page(handlers, after, chunk)

    async def decide(*args: Any) -> Any:
        await asyncio.sleep(0)  # the next page's read starts
        if len(reads) == 3:
            raise psycopg.OperationalError("the server closed the connection")
        return await real_decide(*args)

    monkeypatch.setattr(accrual, "_page", page)
    monkeypatch.setattr(accrual, "_decide_page", decide)
    with pytest.raises(psycopg.OperationalError):
        await asyncio.wait_for(book.bulk(), timeout=60)
    await asyncio.sleep(0)  # a cancelled task finishes on the loop's next turn
    assert len(reads) == 3 and all(read.done() for read in reads)

    monkeypatch.setattr(accrual, "_page", real_page)
    monkeypatch.setattr(accrual, "_decide_page", real_decide)
    rerun = await book.bulk()
    assert not rerun.refused
    assert accrued_days(await book.account_events()) == {1}


async def test_a_borrower_that_cannot_be_accrued_is_named_and_every_other_is_accrued(
    book: Book,
) -> None:
    # A malformed event in one borrower's stream (a bug's or a forger's): its row is now behind
    # the stream, so the bulk run hands it to the per-account path, which cannot read it.
    broken = client(1)
    insert_poison(book.url, account_stream(broken))
    counted = "harbour_interest_accounts_not_accrued_total"
    before = REGISTRY.get_sample_value(counted) or 0.0

    run = await book.bulk()
    assert run.refused == [broken]
    assert (REGISTRY.get_sample_value(counted) or 0.0) - before == 1
    midnight = datetime.combine(THROUGH, clock_time(0), UTC).timestamp()
    assert (REGISTRY.get_sample_value("harbour_interest_accrued_through_seconds") or 0) >= midnight
    found = await book.account_events()
    assert found.pop(broken) == []
    # Every other borrower: its three days and the month end's capitalisation, once.
    assert all(
        [kind for _, kind, _, _ in events]
        == ["InterestAccrued", "InterestAccrued", "InterestCapitalised", "InterestAccrued"]
        for events in found.values()
    )
    assert run.days_accrued == 3 * (BORROWERS - 1)

    # The next run tries it again (and still cannot); nothing is accrued twice.
    again = await book.bulk()
    assert again.refused == [broken] and again.events == 0
    assert (REGISTRY.get_sample_value(counted) or 0.0) - before == 2


async def test_every_read_model_rebuilt_together_equals_its_live_catch_up(book: Book) -> None:
    # Live: small pages, so accounts and loans share folds across many pages; then a day of
    # interest in bulk, caught up too.
    live = ProjectionRunner(book.store, clock=book.clock, page_size=7)
    projections = all_projections()
    await live.catch_up_together(projections)
    await book.bulk()
    await live.catch_up_together(projections)
    tables = [t for p in projections for t in p.tables]
    before = {t.name: await _rows(book, t) for t in tables}
    assert before["loans"] and before["stream_heads"]

    read = await live.rebuild_all(all_projections())  # fresh instances: nothing in memory

    assert read == await _count(book, "SELECT count(*) FROM events")
    assert {t.name: await _rows(book, t) for t in tables} == before
    for projection in all_projections():  # and each equals a page-by-page replay
        assert await live.verify(projection) == [], projection.name


async def _rows(book: Book, table: sa.Table) -> list[tuple[Any, ...]]:
    async with book.store.engine.connect() as conn:
        result = await conn.execute(sa.select(table).order_by(*table.primary_key.columns))
        return [tuple(row) for row in result]


async def _count(book: Book, sql: str) -> int:
    async with book.store.engine.connect() as conn:
        return int(await conn.scalar(sa.text(sql)) or 0)
