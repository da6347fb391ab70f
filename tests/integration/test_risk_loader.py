"""The risk book built from the read models, then kept current from the feed, holds exactly
what the accounts' exact states say (real PostgreSQL, real projections)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from harbour.accounts import domain as accounts_domain
from harbour.accounts.handlers import AccountHandlers
from harbour.accounts.projections import Accounts, Balances
from harbour.application.runner import CommandRunner
from harbour.application.streams import ACCOUNTS
from harbour.eventstore.projections import ProjectionRunner
from harbour.eventstore.store import EventStore
from harbour.ledger import events as ev
from harbour.ledger import journals
from harbour.ledger.account import MarginAccount
from harbour.ledger.grades import CreditGrade
from harbour.ledger.ids import account_stream
from harbour.ledger.money import Money
from harbour.lending.projections import MarginCalls
from harbour.risk import loader
from harbour.risk.book import IDLE, IN_CALL, WARNING, RiskBook
from harbour.risk.loader import clients_touched_since, load_book, refresh

CLIENTS = ("C1", "C2", "C3", "C4")


def now() -> datetime:
    return datetime.now(UTC)


def figures() -> ev.RiskFigures:
    hkd = Money.of("HKD", "1.00")
    return ev.RiskFigures(hkd, hkd, hkd, Decimal("0.95"))


async def record(runner: CommandRunner, client: str, key: str, events: list[ev.Event]) -> None:
    async def decide(_: MarginAccount) -> Sequence[ev.Event]:
        return events

    await runner.run(
        ACCOUNTS, account_stream(client), decide, request_id=key, request={"k": key}, metadata={}
    )


def fee(client: str, amount: str) -> ev.FeeCharged:
    money = Money.of("HKD", amount)
    return ev.FeeCharged(client, money, "custody", "test", journals.fee_charge(client, money))


async def test_a_book_from_the_read_models_then_the_feed_equals_the_exact_states(
    store: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loader, "BALANCE_CHUNK", 3)  # the balances read in many chunks
    accounts = AccountHandlers(store, clock=now)
    runner = CommandRunner(store)
    for client in CLIENTS:
        onboard = accounts_domain.OnboardClient(
            client,
            f"SMA-{client}",
            None,
            CreditGrade.A,
            Money.of("HKD", "1000.00"),
            "MA",
            "RD",
            False,
        )
        await accounts.handle(
            onboard, request_id=f"on-{client}", request={"c": client}, metadata={}
        )
        deposits: tuple[accounts_domain.Command, ...] = (
            accounts_domain.DepositCash(client, Money.of("HKD", "500.25"), "bank"),
            accounts_domain.DepositCollateral(client, Money.of("BTC", "0.12345678"), "wallet"),
            accounts_domain.DepositCollateral(client, Money.of("ETH", "1.5"), "wallet"),
        )
        for n, deposit in enumerate(deposits):
            await accounts.handle(deposit, request_id=f"d{n}-{client}", request={}, metadata={})
    basis = ev.DecisionBasis(1, (), now())
    await record(runner, "C1", "fee-1", [fee("C1", "12.34")])
    await record(
        runner, "C2", "warn-2", [fee("C2", "99.99"), ev.EarlyWarningIssued("C2", figures(), basis)]
    )
    call = ev.MarginCallIssued(
        "C3", "call-3", Money.of("HKD", "5.00"), now() + timedelta(days=1), figures(), basis
    )
    await record(runner, "C3", "call-3", [fee("C3", "150.00"), call])
    await ProjectionRunner(store, clock=now).catch_up_together(
        [Balances(), Accounts(), MarginCalls()]
    )

    # After the read models' checkpoint: C4 now owes, C1 repays nothing but is warned.
    await record(runner, "C4", "fee-4", [fee("C4", "7.00")])
    await record(runner, "C1", "warn-1", [ev.EarlyWarningIssued("C1", figures(), basis)])

    async with store.engine.connect() as conn:
        loaded = await load_book(conn)
        touched = await clients_touched_since(store, conn, loaded.exact_through)
    book = loaded.book
    assert all(client in book for client in CLIENTS)
    assert touched == {"C1", "C4"}
    # Before the refresh the book is the read models' view: C4 owes nothing yet.
    assert book.entry("C4") is not None and book.entry("C4").screen_class == IDLE  # type: ignore[union-attr]
    assert book.entry("C2").screen_class == WARNING  # type: ignore[union-attr]
    assert book.entry("C3").screen_class == IN_CALL  # type: ignore[union-attr]

    await refresh(book, runner, touched)
    exact = RiskBook()
    for state in await runner.load_many([(ACCOUNTS, account_stream(c)) for c in CLIENTS]):
        exact.upsert_account(state)
    for client in CLIENTS:
        assert book.entry(client) == exact.entry(client), client
    assert book.entry("C1").screen_class == WARNING  # type: ignore[union-attr]
    assert book.entry("C1").debt == {"HKD": 12.34}  # type: ignore[union-attr]
    assert book.entry("C3").assets == {"BTC": 0.12345678, "ETH": 1.5, "HKD": 500.25}  # type: ignore[union-attr]
