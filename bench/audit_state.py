"""Rows of `make bench-audit` for the regulator's tools: state rebuilt from raw events and
decisions re-derived (``harbour.audit``), each next to the raw read of the same events.

* one margin account with 10,000 events (onboarding, a facility, collateral, then daily
  interest accruals, as years of a real loan look) replayed into its state, its chain
  verified on the way (``harbour audit replay --state``);
* 90,000 advances over 18 accounts, each decided by the advance test on the account as it
  then stood with a BTC price in its basis, re-derived together with the 9,996 accruals
  (``harbour audit rederive``): about 100,000 decisions, per second.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from bench.common import Row
from harbour.application.outcome import new_event
from harbour.audit.auditor import rederive, replay_state
from harbour.eventstore.model import CommandWrite, StreamWrite
from harbour.eventstore.store import EventStore
from harbour.ledger import events as ev
from harbour.ledger import journals
from harbour.ledger.account import MarginAccount, evolve
from harbour.ledger.advance import AdvanceTest
from harbour.ledger.money import Money
from harbour.ledger.policy import DEFAULT_POLICY
from harbour.runtime.database import open_database

ACCOUNT_EVENTS = 10_000
ADVANCES = 5_000  # per borrowing account
BORROWERS = 18
BATCH = 500
T0 = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)


def now() -> datetime:
    return datetime.now(UTC)


def opening(client: str, cash: str) -> list[ev.Event]:
    limit, deposit = Money.of("HKD", "100000000.00"), Money.of("HKD", cash)
    btc = Money.of("BTC", "1")
    return [
        ev.ClientOnboarded(client, None),
        ev.MarginFacilityApproved(client, f"F-{client}", limit, Decimal("0.068"), 1),
        ev.CashDeposited(client, deposit, "bank", journals.cash_deposit(client, deposit)),
        ev.CollateralDeposited(client, btc, "custody", journals.collateral_deposit(client, btc)),
    ]


def accruals(client: str, count: int) -> list[ev.Event]:
    principal = Money.of("HKD", "1000000.00")
    amount = Money.of("HKD", "186.31")  # ceil(1,000,000.00 x 6.8% / 365)
    first = date(2000, 1, 1)
    return [
        ev.InterestAccrued(
            client,
            amount,
            first + timedelta(days=n),
            principal,
            Decimal("0.068"),
            1,
            journals.interest_accrual(client, amount),
        )
        for n in range(count)
    ]


def advances(client: str, count: int) -> tuple[ev.PriceObserved, list[ev.Event]]:
    """``count`` draws of 100.00 HKD, each decided on the account as the ones before left it."""
    observed = ev.PriceObserved("BTC", "HKD", Decimal("500000.00"), T0, "bench")
    point = ev.PricePoint("BTC", "HKD", observed.price, T0, "bench")
    test = AdvanceTest(DEFAULT_POLICY, {"BTC": point})
    state = MarginAccount.initial(client)
    events = opening(client, "10000000.00")
    for event in events:
        state = evolve(state, event)
    amount = Money.of("HKD", "100.00")
    for n in range(count):
        figures, basis = test.check_draw(state, amount, T0 + timedelta(milliseconds=n))
        draw = ev.LoanAdvanced(
            client, amount, figures, basis, journals.loan_advance(client, amount)
        )
        events.append(draw)
        state = evolve(state, draw)
    return observed, events


async def _append(store: EventStore, stream: str, events: list[ev.Event]) -> None:
    """Each event its own decision, as the services append them (its own metadata: the
    re-derivation judges the events of one append on the state before the first of them),
    BATCH decisions to a statement as group commit writes them."""
    for start in range(0, len(events), BATCH):
        await store.append_batch(
            [
                CommandWrite(
                    [StreamWrite(stream, [new_event(event)], version)],
                    None,
                    b"",
                    {"decision": f"{stream}@{version + 1}"},
                )
                for version, event in enumerate(events[start : start + BATCH], start=start)
            ]
        )


async def state_rows(url: str) -> list[Row]:
    database = await open_database(url, pool_size=4)
    store = EventStore(database, clock=now)
    try:
        history = opening("R1", "1000.00") + accruals("R1", ACCOUNT_EVENTS - 4)
        await _append(store, "account-R1", history)
        for n in range(BORROWERS):
            observed, draws = advances(f"A{n}", ADVANCES)
            if n == 0:
                await _append(store, "price-BTC", [observed])
            await _append(store, f"account-A{n}", draws)

        started = time.perf_counter()
        raw = await store.read_stream("account-R1")
        read = time.perf_counter() - started
        started = time.perf_counter()
        replayed = await replay_state(store, "account-R1", now=now())
        rebuilt = time.perf_counter() - started

        started = time.perf_counter()
        everything = await store.read_all(after_position=0, limit=1_000_000)
        read_all = time.perf_counter() - started
        started = time.perf_counter()
        outcome = await rederive(store)
        seconds = time.perf_counter() - started
    finally:
        await database.close()
    verdict = "every one re-derives" if not outcome.discrepancies else "FINDINGS"
    return [
        Row("raw read of one account (10,000 events)", 1, len(raw), read),
        Row(
            "replay --state of that account (chain verified)",
            1,
            replayed.events_replayed,
            rebuilt,
            baseline="raw read of one account (10,000 events)",
            note=f"{rebuilt * 1000:.0f} ms; chain {'intact' if replayed.intact else 'BROKEN'}",
        ),
        Row("raw read of every event (re-derivation input)", 1, len(everything), read_all),
        Row(
            "rederive: decisions re-derived (events column = decisions)",
            1,
            outcome.decisions_checked,
            seconds,
            baseline="raw read of every event (re-derivation input)",
            note=(
                f"{outcome.checked.get('LoanAdvanced', 0)} advances + "
                f"{outcome.checked.get('InterestAccrued', 0)} accruals; {verdict}"
            ),
        ),
    ]
