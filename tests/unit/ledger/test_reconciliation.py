"""The pure reconciliation: statements parsed exactly, every break named with its cause."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from harbour.ledger import events as ev
from harbour.ledger import reconciliation as rec
from harbour.ledger.errors import InvalidArgument

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def causes(comparison: rec.Comparison) -> list[tuple[str, int, str, str]]:
    return [(b.cause, b.line, b.client_id, b.asset) for b in comparison.breaks]


def test_a_statement_that_agrees_with_the_ledger_has_no_break() -> None:
    statement = rec.parse_statement(
        "custodian",
        b"\xef\xbb\xbfclient_id,asset,balance\r\nC1,BTC,0.5\r\n\r\nC1,USDT,100.000001\r\nC2,ETH,0\r\n",
    )
    ledger = {("C1", "BTC"): 50_000_000, ("C1", "USDT"): 100_000_001}
    comparison = rec.reconcile(statement, ledger, known_clients={"C2"})
    assert comparison.breaks == ()
    assert (statement.lines_read, comparison.balances_compared, comparison.balances_matched) == (
        3,
        3,
        3,
    )


def test_every_cause_is_found_with_its_line_and_exact_amounts() -> None:
    statement = rec.parse_statement(
        "bank",
        (
            b"client_id,currency,balance\n"
            b"C1,HKD,999.99\n"  # 2: the ledger has 1000.00
            b"C1,USD,250.50\n"  # 3: agrees
            b"C1,USD,250.50\n"  # 4: duplicate
            b"C9,HKD,5.00\n"  # 5: nobody
            b"C3,HKD,1.001\n"  # 6: HKD has 2 decimals
            b"C3,USD,5\n"  # 7: C3 is known, the ledger holds no USD of it
            b"C3,BTC,1\n"  # 8: the bank keeps no BTC
            b"C3,HKD\n"  # 9: a field missing
            b"C3,HKD,-1.00\n"  # 10: negative
            b"C 3,HKD,1.00\n"  # 11: not an id
            b"C3,HKD,1e3\n"  # 12: not a plain decimal
        ),
    )
    ledger = {("C1", "HKD"): 100_000, ("C1", "USD"): 25_050, ("C2", "HKD"): 2_000}
    comparison = rec.reconcile(statement, ledger, known_clients={"C1", "C2", "C3"})
    assert causes(comparison) == [
        ("amount_differs", 2, "C1", "HKD"),
        ("duplicate_line", 4, "C1", "USD"),
        ("unknown_client", 5, "C9", "HKD"),
        ("malformed_line", 6, "C3", "HKD"),
        ("missing_from_ledger", 7, "C3", "USD"),
        ("malformed_line", 8, "C3", "BTC"),
        ("malformed_line", 9, "", ""),
        ("malformed_line", 10, "C3", "HKD"),
        ("malformed_line", 11, "", ""),
        ("malformed_line", 12, "C3", "HKD"),
        ("missing_from_statement", 0, "C2", "HKD"),
    ]
    by_line = {b.line: b for b in comparison.breaks}
    differs = by_line[2]
    assert (differs.ledger_amount, differs.statement_amount, differs.difference) == (
        "1000.00",
        "999.99",
        "-0.01",
    )
    assert "at most 2 decimals" in by_line[6].detail
    assert "line 3" in by_line[4].detail
    missing = by_line[0]
    assert (missing.ledger_amount, missing.statement_amount, missing.difference) == (
        "20.00",
        "",
        "-20.00",
    )
    assert by_line[7].difference == "5.00"
    # C1 HKD and USD, C2 HKD, C3 USD: compared; C1 USD agreed.
    assert (comparison.balances_compared, comparison.balances_matched) == (4, 1)
    assert rec.breaks_by_cause(comparison.breaks)["malformed_line"] == 6


def test_securities_are_whole_shares_and_eth_has_eighteen_decimals() -> None:
    statement = rec.parse_statement(
        "securities", b"client_id,security,quantity\nC1,0700.HK,200\nC1,0005.HK,1.5\n"
    )
    assert [b.line for b in statement.refused] == [3]
    assert statement.entries[("C1", "0700.HK")].amount == 200
    eth = rec.parse_statement(
        "custodian",
        b"client_id,asset,balance\nC1,ETH,0.000000000000000001\nC2,ETH,1.0000000000000000001\n",
    )
    assert eth.entries[("C1", "ETH")].amount == 1
    assert [b.cause for b in eth.refused] == ["malformed_line"]


@pytest.mark.parametrize(
    ("source", "statement", "why"),
    [
        ("bank", b"client_id,asset,balance\nC1,HKD,1\n", "header"),  # a custodian's header
        ("bank", b"", "header"),
        ("bank", b"client_id,currency,balance\n\xff\n", "UTF-8"),
        ("broker", b"client_id,currency,balance\n", "source"),
        ("bank", b"client_id,currency,balance\n" + b"C1,HKD,1\n" * 300_000, "bytes"),
    ],
)
def test_a_statement_that_is_not_this_sources_is_refused_whole(
    source: str, statement: bytes, why: str
) -> None:
    with pytest.raises(InvalidArgument, match=why):
        rec.parse_statement(source, statement)


def test_an_unreadable_line_stops_the_reading_with_a_break() -> None:
    statement = rec.parse_statement("bank", b"client_id,currency,balance\nC1,HKD,1\nC2,\x00HKD,1\n")
    assert [(b.cause, b.line) for b in statement.refused] == [("malformed_line", 3)]
    assert list(statement.entries) == [("C1", "HKD")]


def test_the_run_records_the_facts_and_bounds_its_breaks() -> None:
    statement = rec.parse_statement("bank", b"client_id,currency,balance\n")
    ledger = {(f"C{n}", "HKD"): 100 for n in range(rec.MAX_RECORDED_BREAKS + 5)}
    comparison = rec.reconcile(statement, ledger, known_clients=set())
    facts = rec.RunFacts("r1", "bank", NOW, "ab" * 32, "bank.csv", NOW, "ann", 7)
    run = rec.reconciliation_run(facts, statement, comparison)
    assert run.breaks_found == rec.MAX_RECORDED_BREAKS + 5
    assert len(run.breaks) == rec.MAX_RECORDED_BREAKS
    assert ev.decode(*ev.encode(run)) == run


def test_a_statement_from_the_future_is_refused() -> None:
    assert rec.check_statement_instant(NOW, NOW) == NOW
    with pytest.raises(InvalidArgument, match="future"):
        rec.check_statement_instant(NOW + timedelta(minutes=1), NOW)
    with pytest.raises(InvalidArgument, match="time zone"):
        rec.check_statement_instant(datetime(2026, 3, 2, 9, 0), NOW)
