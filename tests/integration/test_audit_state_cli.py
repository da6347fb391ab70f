"""`harbour audit replay --state` and `harbour audit rederive`, run as an auditor would."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

from harbour.application.outcome import new_event
from harbour.eventstore.store import EventStore
from harbour.ledger import events as ev
from harbour.ledger import journals
from harbour.ledger.money import Money
from tests.integration.cli_in_process import harbour_in_process
from tests.integration.test_cli import harbour

C = "C7"
STREAM = f"account-{C}"


async def history(store: EventStore) -> list[int]:
    """An onboarded client with cash, and two days of interest (the second one cent too much);
    returns the position of each event."""
    cash = Money.of("HKD", "5000.00")
    principal = Money.of("HKD", "100000.00")  # 100,000 x 6.8% / 365 = 18.63... -> 18.64
    right, wrong = Money.of("HKD", "18.64"), Money.of("HKD", "18.65")
    events: list[ev.Event] = [
        ev.ClientOnboarded(C, None),
        ev.CashDeposited(C, cash, "bank-1", journals.cash_deposit(C, cash)),
        ev.InterestAccrued(
            C,
            right,
            date(2026, 5, 1),
            principal,
            Decimal("0.068"),
            1,
            journals.interest_accrual(C, right),
        ),
        ev.InterestAccrued(
            C,
            wrong,
            date(2026, 5, 2),
            principal,
            Decimal("0.068"),
            1,
            journals.interest_accrual(C, wrong),
        ),
    ]
    positions = []
    for version, event in enumerate(events):
        result = await store.append(STREAM, [new_event(event)], expected_version=version)
        positions.append(result.first_position)
    return positions


async def test_replay_state_as_of_a_position_and_rederive_name_the_bad_accrual(
    store: EventStore, database_url: str
) -> None:
    positions = await history(store)
    replay = harbour(
        "audit",
        "replay",
        "--stream",
        STREAM,
        "--position",
        str(positions[2]),
        "--state",
        url=database_url,
    )
    assert replay.returncode == 0, replay.stderr
    document = json.loads(replay.stdout)
    assert document["kind"] == "margin_account" and document["version"] == 3
    assert document["chain"] == {"intact": True, "breaks": []}
    state = document["state"]
    assert state["status"] == "applied" and state["cash"] == {"HKD": "5000.00"}
    assert state["accrued_interest"] == {"HKD": "18.64"} and state["debt"] == {"HKD": "18.64"}
    assert state["last_accrual_date"] == "2026-05-01"

    # The rest in this process: the command is the same, without a second of start-up each.
    later = harbour_in_process("audit", "replay", "--stream", STREAM, "--state", url=database_url)
    assert json.loads(later.stdout)["state"]["debt"] == {"HKD": "37.29"}
    before = harbour_in_process(
        "audit",
        "replay",
        "--stream",
        STREAM,
        "--state",
        "--as-of",
        datetime(2000, 1, 1, tzinfo=UTC).isoformat(),
        url=database_url,
    )
    assert json.loads(before.stdout)["state"]["status"] == "not_onboarded"
    unknown = harbour_in_process(
        "audit", "replay", "--stream", "sample-X", "--state", url=database_url
    )
    assert unknown.returncode == 2 and "folds into no state" in unknown.stderr

    rederived = harbour_in_process("audit", "rederive", url=database_url)
    assert rederived.returncode == 1
    assert f"DOES NOT RE-DERIVE at position {positions[3]} ({STREAM} v4 InterestAccrued)" in (
        rederived.stdout
    )
    assert "one day ACT/365 rounded up is 18.64 HKD" in rederived.stdout
    assert "2 decisions re-derived (2 InterestAccrued)" in rederived.stdout
    one = harbour_in_process("audit", "rederive", "--stream", STREAM, url=database_url)
    assert one.returncode == 1 and "v4 InterestAccrued" in one.stdout
