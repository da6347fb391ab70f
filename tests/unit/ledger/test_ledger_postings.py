"""Postings and journals: a journal that does not balance cannot be built."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harbour.ledger import journals
from harbour.ledger.assets import BTC, ETH, HKD, USDT, asset
from harbour.ledger.errors import DomainError, MalformedIdentifier, UnknownAsset
from harbour.ledger.money import Money
from harbour.ledger.postings import (
    BROKER_BAD_DEBT,
    BROKER_FEE_INCOME,
    BROKER_INTEREST_INCOME,
    EXTERNAL_BANK,
    EXTERNAL_DEPOSITORY,
    EXTERNAL_WALLET,
    Journal,
    Posting,
    UnbalancedJournal,
    client_cash,
    client_custody,
    client_fees_receivable,
    client_interest_receivable,
    client_loan,
    client_of,
    client_shortfall,
    from_json,
    is_ledger_account,
    to_json,
    transfer,
    venue,
)


def hkd(minor: int) -> Money:
    return Money(HKD, minor)


def test_account_names() -> None:
    assert client_cash("C1") == "client:C1:cash"
    assert client_custody("C1") == "client:C1:custody"
    assert client_loan("C1") == "client:C1:loan"
    assert client_interest_receivable("C1") == "client:C1:interest_receivable"
    assert client_fees_receivable("C1") == "client:C1:fees_receivable"
    assert client_shortfall("C1") == "client:C1:shortfall"
    assert venue("sim-venue") == "venue:sim-venue"
    for name in (BROKER_BAD_DEBT, BROKER_FEE_INCOME, BROKER_INTEREST_INCOME, "broker:cash"):
        assert is_ledger_account(name)
    assert client_of("client:C1:loan") == ("C1", "loan")
    assert client_of(EXTERNAL_BANK) is None


@pytest.mark.parametrize(
    "name", ["client:C1:savings", "client::cash", "broker:vault", "external:atm", "venue:", "cash"]
)
def test_the_chart_of_accounts_is_closed(name: str) -> None:
    assert not is_ledger_account(name)
    with pytest.raises(UnbalancedJournal):
        Posting(name, "HKD", 1)


def test_client_ids_in_account_names_are_checked() -> None:
    with pytest.raises(MalformedIdentifier):
        client_cash("C1:cash")
    with pytest.raises(ValueError):
        venue("bad venue")


def test_posting_refuses_unknown_asset_and_non_int_amounts() -> None:
    with pytest.raises(UnknownAsset):
        Posting("external:bank", "XYZ", 1)
    with pytest.raises(TypeError):
        Posting("external:bank", "HKD", 1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Posting("external:bank", "HKD", True)


def test_unbalanced_journal_cannot_be_built() -> None:
    with pytest.raises(UnbalancedJournal, match="does not balance"):
        Journal.of(Posting(client_cash("C1"), "HKD", 100), Posting(EXTERNAL_BANK, "HKD", -99))


def test_each_asset_must_balance_on_its_own() -> None:
    with pytest.raises(UnbalancedJournal):
        Journal.of(Posting(client_cash("C1"), "HKD", 100), Posting(EXTERNAL_BANK, "USD", -100))


def test_empty_and_zero_postings_are_refused() -> None:
    with pytest.raises(UnbalancedJournal):
        Journal(())
    with pytest.raises(UnbalancedJournal, match="zero"):
        Journal.of(Posting(client_cash("C1"), "HKD", 0), Posting(EXTERNAL_BANK, "HKD", 0))


def test_a_balanced_journal_and_its_queries() -> None:
    journal = transfer("HKD", 500, source=EXTERNAL_BANK, destination=client_cash("C1"))
    assert len(journal) == 2
    assert journal.net(client_cash("C1"), "HKD") == 500
    assert journal.net(EXTERNAL_BANK, "HKD") == -500
    assert journal.assets == ("HKD",)
    combined = journal + transfer(
        "BTC", 7, source=EXTERNAL_WALLET, destination=client_custody("C1")
    )
    assert combined.assets == ("HKD", "BTC")


def test_netted_adds_lines_and_drops_zeros() -> None:
    journal = Journal.netted(
        [
            Posting(client_cash("C1"), "HKD", 100),
            Posting(client_cash("C1"), "HKD", -100),
            Posting(client_loan("C1"), "HKD", 30),
            Posting(client_loan("C1"), "HKD", 20),
            Posting(EXTERNAL_BANK, "HKD", -50),
        ]
    )
    assert journal.postings == (
        Posting(client_loan("C1"), "HKD", 50),
        Posting(EXTERNAL_BANK, "HKD", -50),
    )


def test_json_round_trip_with_string_amounts() -> None:
    journal = journals.liquidation_fill(
        "C1", "sim", quantity=Money(BTC, 12_345_678), proceeds=hkd(6_000_000), fee=hkd(120_000)
    )
    data = to_json(journal)
    assert data[0] == {"account": "client:C1:custody", "asset": "BTC", "amount": "-0.12345678"}
    assert all(isinstance(p["amount"], str) for p in data)
    assert from_json(data) == journal


@pytest.mark.parametrize(
    "data",
    [
        {"account": "external:bank"},
        [{"account": "external:bank", "asset": "HKD", "amount": "1.00"}],
        [
            {"account": "external:bank", "asset": "HKD", "amount": 100},
            {"account": "client:C1:cash", "asset": "HKD", "amount": -100},
        ],
        [
            {"account": "external:bank", "asset": "HKD", "amount": "1.001"},
            {"account": "client:C1:cash", "asset": "HKD", "amount": "-1.001"},
        ],
        [
            {"account": "external:bank", "asset": "HKD", "amount": "1.00", "memo": "x"},
            {"account": "client:C1:cash", "asset": "HKD", "amount": "-1.00"},
        ],
    ],
)
def test_from_json_refuses_anything_else(data: object) -> None:
    with pytest.raises((ValueError, DomainError)):
        from_json(data)


# --- the journal builders


def test_cash_and_collateral_come_from_the_right_outside_account() -> None:
    assert journals.cash_deposit("C1", hkd(100)).net(EXTERNAL_BANK, "HKD") == -100
    assert journals.cash_deposit("C1", Money(USDT, 5)).net(EXTERNAL_WALLET, "USDT") == -5
    assert journals.collateral_deposit("C1", Money(ETH, 9)).net(EXTERNAL_WALLET, "ETH") == -9
    shares = Money(asset("0700.HK"), 100)
    assert journals.collateral_deposit("C1", shares).net(EXTERNAL_DEPOSITORY, "0700.HK") == -100
    assert journals.cash_withdrawal("C1", hkd(100)).net(client_cash("C1"), "HKD") == -100
    assert journals.collateral_withdrawal("C1", shares).net(client_custody("C1"), "0700.HK") == -100


def test_loan_and_interest_journals() -> None:
    advance = journals.loan_advance("C1", hkd(1000))
    assert advance.net(client_loan("C1"), "HKD") == -1000
    assert advance.net(client_cash("C1"), "HKD") == 1000
    accrual = journals.interest_accrual("C1", hkd(3))
    assert accrual.net(client_interest_receivable("C1"), "HKD") == -3
    assert accrual.net(BROKER_INTEREST_INCOME, "HKD") == 3
    capitalised = journals.interest_capitalisation("C1", hkd(3))
    assert capitalised.net(client_interest_receivable("C1"), "HKD") == 3
    assert capitalised.net(client_loan("C1"), "HKD") == -3


def test_repayment_splits_and_drops_zero_legs() -> None:
    journal = journals.repayment("C1", interest=hkd(5), fees=hkd(0), principal=hkd(95))
    assert journal.net(client_cash("C1"), "HKD") == -100
    assert journal.net(client_interest_receivable("C1"), "HKD") == 5
    assert journal.net(client_loan("C1"), "HKD") == 95
    assert len(journal) == 3


def test_fees_shortfall_and_write_off() -> None:
    assert journals.fee_charge("C1", hkd(7)).net(client_fees_receivable("C1"), "HKD") == -7
    assert journals.fee_charge("C1", hkd(7), from_cash=True).net(client_cash("C1"), "HKD") == -7
    short = journals.shortfall_recognition("C1", principal=hkd(100), interest=hkd(2), fees=hkd(1))
    assert short.net(client_shortfall("C1"), "HKD") == -103
    assert short.net(client_loan("C1"), "HKD") == 100
    assert journals.debt_write_off("C1", hkd(103)).net(BROKER_BAD_DEBT, "HKD") == -103
    assert journals.debt_recovery("C1", hkd(3)).net(EXTERNAL_BANK, "HKD") == -3


def test_builders_refuse_non_positive_amounts_and_oversized_fees() -> None:
    with pytest.raises(ValueError):
        journals.cash_deposit("C1", hkd(0))
    with pytest.raises(ValueError):
        journals.loan_advance("C1", hkd(-1))
    with pytest.raises(ValueError):
        journals.liquidation_fill(
            "C1", "sim", quantity=Money(BTC, 1), proceeds=hkd(10), fee=hkd(11)
        )


_BUILDERS = st.sampled_from(
    [
        lambda m: journals.cash_deposit("C1", m),
        lambda m: journals.cash_withdrawal("C2", m),
        lambda m: journals.loan_advance("C1", m),
        lambda m: journals.interest_accrual("C1", m),
        lambda m: journals.fee_charge("C2", m),
        lambda m: journals.debt_write_off("C1", m),
        lambda m: journals.repayment("C1", interest=m, fees=m, principal=m),
    ]
)


@given(st.lists(st.tuples(_BUILDERS, st.integers(1, 10**15)), max_size=30))
def test_trial_balance_is_zero_over_any_journals(steps: list[tuple[object, int]]) -> None:
    balances: Counter[tuple[str, str]] = Counter()
    for build, minor in steps:
        journal = build(hkd(minor))  # type: ignore[operator]
        for p in journal:
            balances[(p.ledger_account, p.asset)] += p.amount
    per_asset: Counter[str] = Counter()
    for (_, code), amount in balances.items():
        per_asset[code] += amount
    assert all(total == 0 for total in per_asset.values())
