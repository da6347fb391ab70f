"""Reconciliation against a real PostgreSQL: the ledger as of a statement's instant (the read
model corrected across the cut), clean runs for each source, planted breaks found with their
causes, the run recorded and replayed, and the CLI's exit status."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from harbour.accounts import domain as d
from harbour.accounts.handlers import AccountHandlers
from harbour.accounts.projections import Balances
from harbour.accounts.reconciliation import (
    ReconcileStatement,
    ReconciliationRunExists,
    Reconciliations,
    ledger_holdings,
)
from harbour.application.decoding import domain_event
from harbour.application.streams import reconciliation_stream
from harbour.eventstore.database import Database
from harbour.eventstore.projections import ProjectionRunner
from harbour.eventstore.store import EventStore
from harbour.ledger import events as ev
from harbour.ledger.grades import CreditGrade
from harbour.ledger.money import Money
from harbour.runtime import reconcile_cli
from harbour.runtime.database import open_database
from harbour.runtime.settings import Settings
from tests.conftest import drop_database, new_database
from tests.e2e.callers import ManualClock

# In the past, so the CLI's "now" (the system clock) is after every seeded event.
START = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)

BANK = b"client_id,currency,balance\nC1,HKD,1000.00\nC1,USD,250.50\nC2,HKD,20\nC3,HKD,0\n"
CUSTODIAN = b"client_id,asset,balance\nC1,BTC,0.5\nC1,USDT,100.000001\nC2,ETH,1.25\n"
SECURITIES = b"client_id,security,quantity\nC1,0700.HK,200\nC2,0005.HK,1000\n"


@dataclass
class Book:
    url: str
    store: EventStore
    handlers: AccountHandlers
    clock: ManualClock
    reconciliations: Reconciliations
    seeded_at: datetime  # every seeded movement was recorded by then


async def seed(url: str, database: Database) -> Book:
    clock = ManualClock(START)
    store = EventStore(database, clock=clock)
    handlers = AccountHandlers(store, clock=clock)
    n = 0

    async def run(command: d.Command) -> None:
        nonlocal n
        n += 1
        clock.advance(timedelta(seconds=1))
        await handlers.handle(command, request_id=f"seed-{n}", request={"n": n}, metadata={})

    for client in ("C1", "C2", "C3"):
        await run(
            d.OnboardClient(
                client, "SMA", "CA", CreditGrade.A, Money.of("HKD", "1000.00"), "MA", "RD", False
            )
        )
    for client, code, amount in (
        ("C1", "HKD", "1000.00"),
        ("C1", "USD", "250.50"),
        ("C1", "USDT", "100.000001"),
        ("C2", "HKD", "20.00"),
    ):
        await run(d.DepositCash(client, Money.of(code, amount), "in"))
    for client, code, amount in (
        ("C1", "BTC", "0.5"),
        ("C1", "0700.HK", "200"),
        ("C2", "ETH", "1.25"),
        ("C2", "0005.HK", "1000"),
    ):
        await run(d.DepositCollateral(client, Money.of(code, amount), "in"))
    # The read model has applied everything so far; what follows it has not.
    await ProjectionRunner(store, clock=clock).catch_up(Balances())
    seeded_at = clock.now
    reconciliations = Reconciliations(handlers.runner, clock=clock)
    return Book(url, store, handlers, clock, reconciliations, seeded_at)


@pytest.fixture(scope="module")
async def book(pg_server: str, template_url: str) -> AsyncIterator[Book]:
    """One small book for the module; every run reads it as of ``seeded_at`` (a test may move
    the ledger on after that)."""
    url = new_database(pg_server)
    database = await open_database(url, pool_size=5)
    try:
        yield await seed(url, database)
    finally:
        await database.close()
        drop_database(pg_server, url)


async def reconcile(
    book: Book, source: str, statement: bytes, run_id: str
) -> tuple[bool, ev.ReconciliationRun]:
    outcome, run = await book.reconciliations.run(
        ReconcileStatement(run_id, source, statement, f"{source}.csv", book.seeded_at),
        actor="ann",
        request_id=f"req-{run_id}",
        request={"run_id": run_id, "statement": statement.hex()},
        metadata={"actor": "ann"},
    )
    return outcome.result.replayed, run


async def holdings_at(book: Book, at: datetime) -> dict[tuple[str, str], int]:
    async with book.store.engine.connect() as conn:
        await conn.execute(sa.text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
        return dict((await ledger_holdings(conn, at)).held)


async def test_the_ledger_side_is_the_ledger_as_of_the_statements_instant(book: Book) -> None:
    late = Money.of("HKD", "5.00")
    book.clock.advance(timedelta(minutes=1))
    await book.handlers.handle(
        d.DepositCash("C1", late, "late"), request_id="late", request={}, metadata={}
    )
    # Recorded by now but not in the read model: added.
    assert (await holdings_at(book, book.clock.now))[("C1", "HKD")] == 100_500
    # Before the late deposit: exactly the seeded book.
    at_seeding = await holdings_at(book, book.seeded_at)
    assert at_seeding[("C1", "HKD")] == 100_000
    assert at_seeding[("C2", "ETH")] == 125 * 10**16
    # Before the last seeded movements (in the read model, recorded after): taken out.
    early = await holdings_at(book, book.seeded_at - timedelta(seconds=2))
    assert ("C2", "0005.HK") not in early and ("C2", "ETH") not in early
    assert early[("C1", "0700.HK")] == 200
    # A clean run as of the seeding, though the ledger has moved since.
    replayed, run = await reconcile(book, "bank", BANK, "bank-then")
    assert (replayed, run.breaks) == (False, ())


async def test_a_clean_run_for_each_source_is_recorded_and_replays(book: Book) -> None:
    for source, statement, compared in (
        ("bank", BANK, 4),
        ("custodian", CUSTODIAN, 3),
        ("securities", SECURITIES, 2),
    ):
        run_id = f"clean-{source}"
        replayed, run = await reconcile(book, source, statement, run_id)
        assert not replayed
        assert (run.breaks_found, run.breaks) == (0, ())
        assert (run.balances_compared, run.balances_matched) == (compared, compared)
        assert run.statement_at == book.seeded_at and run.requested_by == "ann"
        (recorded,) = await book.store.read_stream(reconciliation_stream(run_id))
        assert recorded.type == "ReconciliationRun"
        assert domain_event(recorded) == run == await book.reconciliations.recorded(run_id)
        # A repeat answers with the first run and records nothing.
        assert await reconcile(book, source, statement, run_id) == (True, run)
        assert len(await book.store.read_stream(reconciliation_stream(run_id))) == 1
    with pytest.raises(ReconciliationRunExists):  # the run id taken by another request
        await book.reconciliations.run(
            ReconcileStatement("clean-bank", "bank", BANK, statement_at=book.seeded_at),
            actor="ann",
            request_id="another",
            request={"other": True},
            metadata={},
        )


async def test_planted_breaks_are_each_found_with_their_cause(book: Book) -> None:
    statement = (
        b"client_id,currency,balance\n"
        b"C1,HKD,999.99\n"  # 2: a differing amount
        b"C1,USD,250.50\n"  # 3: agrees
        b"C9,HKD,5.00\n"  # 4: an unknown client
        b"C3,HKD,1.001\n"  # 5: more decimals than HKD has
        b"C3,USD,12.00\n"  # 6: the ledger holds none
    )  # C2's HKD 20.00 is missing
    _, run = await reconcile(book, "bank", statement, "planted")
    found = {(b.cause, b.line, b.client_id, b.asset): b for b in run.breaks}
    assert list(found) == [
        ("amount_differs", 2, "C1", "HKD"),
        ("unknown_client", 4, "C9", "HKD"),
        ("malformed_line", 5, "C3", "HKD"),
        ("missing_from_ledger", 6, "C3", "USD"),
        ("missing_from_statement", 0, "C2", "HKD"),
    ]
    assert found[("amount_differs", 2, "C1", "HKD")].difference == "-0.01"
    assert found[("missing_from_statement", 0, "C2", "HKD")].ledger_amount == "20.00"
    assert (run.lines_read, run.balances_compared, run.balances_matched, run.breaks_found) == (
        5,
        4,
        1,
        5,
    )
    assert run == await book.reconciliations.recorded("planted")


async def test_the_cli_exits_0_when_clean_and_1_with_breaks(
    book: Book, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings.from_env({"HARBOUR_DATABASE_URL": book.url})
    clean, broken = tmp_path / "bank.csv", tmp_path / "custodian.csv"
    clean.write_bytes(BANK)
    broken.write_bytes(CUSTODIAN.replace(b"C2,ETH,1.25", b"C2,ETH,1.2500000000000000001"))

    def cli(source: str, path: Path, run_id: str) -> int:
        args = argparse.Namespace(
            source=source, file=str(path), as_of=book.seeded_at, run_id=run_id
        )
        return reconcile_cli.command(settings, args)

    assert await asyncio.to_thread(cli, "bank", clean, "cli-clean") == 0
    assert "0 breaks" in capsys.readouterr().out
    assert await asyncio.to_thread(cli, "custodian", broken, "cli-broken") == 1
    out = capsys.readouterr().out
    assert "line 4  malformed_line  C2 ETH" in out
    assert "missing_from_statement  C2 ETH  ledger 1.250000000000000000" in out
    assert "recorded as ReconciliationRun in reconciliation-cli-broken" in out
    assert (await book.reconciliations.recorded("cli-broken")).requested_by.startswith("cli:")
