"""The accounts read models equal a rebuild, and the trial balance is zero."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

import sqlalchemy as sa

from harbour.accounts import domain as d
from harbour.accounts.handlers import AccountHandlers, evolve_recorded
from harbour.accounts.projections import TRIAL_BALANCE_SQL, Accounts, Balances
from harbour.eventstore.projections import ProjectionRunner
from harbour.eventstore.store import EventStore
from harbour.eventstore.streams import load_stream
from harbour.ledger.account import MarginAccount, from_snapshot
from harbour.ledger.errors import DomainError
from harbour.ledger.grades import CreditGrade
from harbour.ledger.money import Money


def now() -> datetime:
    return datetime.now(UTC)


async def workload(handlers: AccountHandlers, clients: int = 6) -> None:
    async def client(n: int) -> None:
        c = f"C{n}"

        async def run(command: d.Command, key: str) -> None:
            # Refusals (an overdraft, say) are part of a realistic mix.
            with contextlib.suppress(DomainError):
                await handlers.handle(
                    command, request_id=f"{c}-{key}", request={"k": key}, metadata={}
                )

        await run(
            d.OnboardClient(
                c, "SMA", "CA", CreditGrade.A, Money.of("HKD", "1000.00"), "MA", "VA", False
            ),
            "onboard",
        )
        for k in range(6):
            await run(d.DepositCash(c, Money.of("HKD", f"{10 + k}.25"), "bank"), f"dep{k}")
            await run(
                d.DepositCollateral(c, Money.of("ETH", f"0.{k + 1:018d}"), "wallet"), f"col{k}"
            )
            await run(d.WithdrawCash(c, Money.of("HKD", f"{5 + 3 * k}.00"), "bank"), f"wd{k}")
        await run(
            d.WithdrawCollateral(c, Money.of("ETH", "0.000000000000000002"), "wallet"), "wcol"
        )

    await asyncio.gather(*(client(n) for n in range(clients)))


async def test_live_projections_equal_a_rebuild_and_the_ledger_balances(store: EventStore) -> None:
    handlers = AccountHandlers(store, clock=now, snapshot_every=5)
    runner = ProjectionRunner(store, clock=now, page_size=16)
    projections = [Balances(), Accounts()]

    async def follow_live() -> None:
        for _ in range(15):
            for projection in projections:
                await runner.catch_up(projection)
            await asyncio.sleep(0.01)

    await asyncio.gather(workload(handlers), follow_live())
    for projection in projections:
        await runner.catch_up(projection)
        assert await runner.verify(projection) == [], projection.name
    async with store.engine.connect() as conn:
        assert (await conn.execute(sa.text(TRIAL_BALANCE_SQL))).all() == []
        cash_rows = await conn.execute(
            sa.text(
                "SELECT ledger_account, amount FROM balances "
                "WHERE asset = 'HKD' AND ledger_account LIKE :pattern"
            ),
            {"pattern": "client:%:cash"},
        )
        cash = dict(cash_rows.all())
        rows = (await conn.execute(sa.text("SELECT client_id, state FROM accounts"))).all()
    assert len(cash) == 6 and len(rows) == 6
    # The read model agrees with the account each handler would load.
    for client, state in rows:
        loaded = await handlers.load(client)
        assert cash[f"client:{client}:cash"] == loaded.state.cash.get("HKD")
        assert from_snapshot(state) == loaded.state


async def test_snapshots_do_not_change_what_a_handler_sees(store: EventStore) -> None:
    with_snapshots = AccountHandlers(store, clock=now, snapshot_every=3)
    await workload(with_snapshots, clients=2)
    async with store.engine.begin() as conn:
        snapshots = (await conn.execute(sa.text("SELECT count(*) FROM snapshots"))).scalar_one()
    assert snapshots == 2
    for client in ("C0", "C1"):
        # A fresh handler (no in-memory accounts) starts from the stored snapshot.
        fresh = AccountHandlers(store, clock=now)
        fast = await fresh.load(client)
        slow = await load_stream(  # no codec: every event replayed from version 1
            store,
            f"account-{client}",
            initial=MarginAccount.initial(client),
            evolve=evolve_recorded,
        )
        assert fast.state == slow.state and fast.version == slow.version
        assert fast.replayed < slow.replayed


async def test_a_loan_row_keeps_the_history_from_before_the_facility(store: EventStore) -> None:
    """The loans read model has a row only from the facility on; the account's earlier
    events, projected in an earlier page, must still be in it (they were lost once)."""
    from decimal import Decimal

    from harbour.accounts import domain as accounts_domain
    from harbour.application.runner import CommandRunner
    from harbour.ledger.grades import CreditGrade
    from harbour.ledger.money import Money
    from harbour.lending import domain as lending_domain
    from harbour.lending.handlers import LendingHandlers
    from harbour.lending.projections import Loans
    from harbour.testing import credit

    accounts = AccountHandlers(store, clock=now)
    lending = LendingHandlers(CommandRunner(store), clock=now)
    runner = ProjectionRunner(store, clock=now)
    onboard = accounts_domain.OnboardClient(
        "C1", "SMA-1", None, CreditGrade.A, Money.of("HKD", "100000.00"), "MA", "RD", False
    )
    await accounts.handle(onboard, request_id="on", request={"n": 1}, metadata={})
    await credit.approve_pending(accounts, "C1")  # the grade and limit onboarding proposed
    await accounts.handle(
        accounts_domain.DepositCollateral("C1", Money.of("BTC", "2"), "w"),
        request_id="dep",
        request={"n": 2},
        metadata={},
    )
    await runner.catch_up(Loans())  # a page with no loan row yet
    facility = lending_domain.ApproveFacility(
        "C1", "F1", Money.of("HKD", "100000.00"), Decimal("0.068")
    )
    await lending.handle(facility, request_id="fac", request={"n": 3}, metadata={})
    await runner.catch_up(Loans())
    assert await runner.verify(Loans()) == []
    async with store.engine.connect() as conn:
        state = (await conn.execute(sa.text("SELECT state FROM loans"))).scalar_one()
    assert state["state"]["collateral"] == {"BTC": "2.00000000"}
    assert state["state"]["status"] == "active"
