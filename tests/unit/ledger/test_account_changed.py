"""``changed``, the fold's copy-with-changes of a margin account, is ``dataclasses.replace``:
the same state after any history, the cached debt of the old state never carried over, an
unknown field refused."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harbour.ledger import account
from harbour.ledger import events as ev
from harbour.ledger.account import MarginAccount, OpenMarginCall, RiskState, changed, evolve
from harbour.ledger.balances import Balances
from tests.unit.ledger.test_ledger_account import (
    ONBOARDED,
    C,
    accrue,
    advance,
    btc,
    deposit,
    hkd,
    pledge,
    withdraw,
)

EVENTS = st.sampled_from(
    [
        *ONBOARDED,
        deposit(hkd(500_00)),
        withdraw(hkd(120_00)),
        pledge(btc(3)),
        advance(hkd(1_000_00)),
        accrue(hkd(12), date(2026, 3, 2)),
        ev.AccountSuspended(C, "hold"),
        ev.AccountResumed(C, "lifted"),
        ev.AccountClosed(C, "client_request"),
    ]
)


def fold(history: list[ev.Event]) -> list[MarginAccount]:
    states, state = [], MarginAccount.initial(C)
    for event in history:
        state = evolve(state, event)
        states.append(state)
    return states


@given(st.lists(EVENTS, max_size=25))
def test_a_history_folds_to_the_same_states_as_with_dataclasses_replace(
    history: list[ev.Event],
) -> None:
    fast = fold(history)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(account, "changed", dataclasses.replace)
        reference = fold(history)
    assert fast == reference
    for mine, theirs in zip(fast, reference, strict=True):
        assert mine.debt == theirs.debt  # worked out for each state, not copied from the last
        assert hash(mine) == hash(theirs)


def test_every_field_changes_as_replace_changes_it() -> None:
    base = MarginAccount.initial(C)
    donor = MarginAccount(
        C,
        risk=RiskState.MARGIN_CALL,
        margin_call=OpenMarginCall("MC-1", hkd(5_00), None),  # type: ignore[arg-type]
        principal=Balances.of({"HKD": 7}),
        suspended=True,
    )
    for field in dataclasses.fields(MarginAccount):
        change: dict[str, Any] = {field.name: getattr(donor, field.name)}
        assert changed(base, **change) == dataclasses.replace(base, **change), field.name


def test_the_debt_worked_out_for_the_old_state_is_not_carried_over() -> None:
    state = MarginAccount(C, principal=Balances.of({"HKD": 100}))
    assert state.debt.get("HKD") == 100  # now cached on the old state
    assert changed(state, principal=Balances.of({"HKD": 250})).debt.get("HKD") == 250


def test_an_unknown_field_is_refused_as_replace_refuses_it() -> None:
    state = MarginAccount.initial(C)
    with pytest.raises(TypeError, match="principle"):
        changed(state, principle=Balances.of({"HKD": 1}))
    with pytest.raises(TypeError):
        dataclasses.replace(state, principle=Balances.of({"HKD": 1}))  # type: ignore[call-arg]
