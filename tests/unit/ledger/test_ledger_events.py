"""The event vocabulary: one sample of every type, each round-tripping exactly through JSON."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import fields
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from harbour.eventstore.encoding import canonical_json, check_json
from harbour.ledger import events as ev
from harbour.ledger import journals
from harbour.ledger.account import MarginAccount, evolve
from harbour.ledger.assets import BTC, ETH, HKD, asset
from harbour.ledger.balances import Balances
from harbour.ledger.codec import DecodeError, encode_dataclass, encode_value
from harbour.ledger.grades import CreditGrade
from harbour.ledger.money import Money
from harbour.ledger.postings import Journal

C = "C-1001"
NOW = datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=UTC)
HKT = timezone(timedelta(hours=8))


def hkd(text: str) -> Money:
    return Money.of("HKD", text)


PRICES = (
    ev.PricePoint("BTC", "HKD", Decimal("512345.67"), NOW - timedelta(seconds=5), "feed-a"),
    ev.PricePoint("0700.HK", "HKD", Decimal("388.20"), NOW - timedelta(seconds=9), "hkex"),
)
BASIS = ev.DecisionBasis(policy_version=3, prices=PRICES, decided_at=NOW)
RISK = ev.RiskFigures(hkd("100000.00"), hkd("40000.00"), hkd("41000.00"), Decimal("1.025"))
UNBOUNDED = ev.RiskFigures(hkd("5000.00"), hkd("0.00"), hkd("10.00"), None)
BTC_HALF = Money(BTC, 50_000_000)


def samples() -> list[ev.Event]:
    """One event of every type, with every optional field exercised somewhere."""
    return [
        ev.ClientOnboarded(C, related_group_id="G-7"),
        ev.SecuritiesMarginAccountLinked(C, "SMA-88"),
        ev.CreditAssessed(C, "CA-1", CreditGrade.BBB, date(2026, 2, 27), date(2027, 2, 27)),
        ev.CreditLimitSet(C, hkd("500000.00")),
        ev.MarginAgreementSigned(C, "MA-2026.1", date(2026, 2, 28)),
        ev.RiskDisclosureAcknowledged(C, "RD-2026.1", date(2026, 2, 28)),
        ev.ProfessionalInvestorStatusSet(C, True, date(2026, 2, 1), "PI-CERT-9", date(2027, 2, 1)),
        ev.AccountSuspended(C, "regulatory_hold"),
        ev.AccountResumed(C, "hold_lifted"),
        ev.AccountClosed(C, "client_request"),
        ev.CashDeposited(C, hkd("1000.00"), "BANK-1", journals.cash_deposit(C, hkd("1000.00"))),
        ev.CashWithdrawn(C, hkd("10.00"), BASIS, journals.cash_withdrawal(C, hkd("10.00"))),
        ev.CollateralDeposited(C, BTC_HALF, "0xabc", journals.collateral_deposit(C, BTC_HALF)),
        ev.CollateralWithdrawn(
            C, Money(ETH, 1), RISK, BASIS, journals.collateral_withdrawal(C, Money(ETH, 1))
        ),
        ev.LoanAdvanced(C, hkd("20000.00"), RISK, BASIS, journals.loan_advance(C, hkd("20000.00"))),
        ev.LoanRepaid(
            C,
            hkd("105.00"),
            journals.repayment(C, interest=hkd("5.00"), fees=hkd("0"), principal=hkd("100.00")),
        ),
        ev.InterestAccrued(
            C,
            hkd("4.39"),
            date(2026, 3, 1),
            hkd("20000.00"),
            Decimal("0.08"),
            3,
            journals.interest_accrual(C, hkd("4.39")),
        ),
        ev.InterestCapitalised(
            C, hkd("131.50"), date(2026, 2, 28), journals.interest_capitalisation(C, hkd("131.50"))
        ),
        ev.FeeCharged(C, hkd("12.00"), "liquidation", "L-1", journals.fee_charge(C, hkd("12.00"))),
        ev.EarlyWarningIssued(C, RISK, BASIS),
        ev.EarlyWarningCleared(
            C, RISK, ev.DecisionBasis(3, PRICES, NOW, ("BTC",), ("0700.HK",))
        ),  # marked: BTC on a stale price, 0700.HK at its market's last close
        ev.MarginCallIssued(C, "MC-1", hkd("1000.01"), NOW + timedelta(days=1), UNBOUNDED, BASIS),
        ev.MarginCallMet(C, "MC-1", RISK, BASIS),
        ev.MarginCallExpired(C, "MC-1", NOW),
        ev.AdvancesSuspended(C, "margin_call_open"),
        ev.AdvancesResumed(C, "margin_call_met"),
        ev.ConcentrationLimitBreached(C, "single_client", hkd("2.00"), hkd("1.00")),
        ev.ConcentrationLimitCleared(
            C, "single_client", hkd("0.50"), hkd("1.00"), "G-1", "group_change", BASIS
        ),
        ev.LiquidationStarted(
            C, "L-1", ev.LiquidationTrigger.CALL_DEADLINE_PASSED, Decimal("0.80"), RISK, BASIS
        ),
        ev.LiquidationFillExecuted(
            C,
            "L-1",
            "F-1",
            BTC_HALF,
            Decimal("510000.00"),
            hkd("255000.00"),
            hkd("5100.00"),
            "sim",
            "mm-affiliate",
            True,
            Decimal("510000.00"),
            Decimal("509900.00"),
            NOW,
            journals.liquidation_fill(
                C, "sim", quantity=BTC_HALF, proceeds=hkd("255000.00"), fee=hkd("5100.00")
            ),
        ),
        ev.LiquidationCompleted(C, "L-1", RISK, BASIS),
        ev.ShortfallRecognised(
            C,
            "L-1",
            hkd("103.00"),
            journals.shortfall_recognition(
                C, principal=hkd("100.00"), interest=hkd("2.00"), fees=hkd("1.00")
            ),
        ),
        ev.DebtRecovered(C, hkd("3.00"), "BANK-2", journals.debt_recovery(C, hkd("3.00"))),
        ev.DebtWrittenOff(C, hkd("100.00"), "cfo", journals.debt_write_off(C, hkd("100.00"))),
        ev.PriceObserved("ETH", "HKD", Decimal("27123.456789"), NOW.astimezone(HKT), "feed-b"),
        ev.MarginFacilityApproved(C, "F-1", hkd("500000.00"), Decimal("0.068"), 2),
        ev.BrokerExposureChanged(C, "G-1", hkd("-100.00"), "repayment", "req-9"),
        ev.BrokerLimitBreached(
            "total_loans", "broker", hkd("500000.01"), hkd("500000.00"), "capitalisation", BASIS
        ),
        ev.BrokerLimitCleared(
            "asset_concentration", "BTC", hkd("199999.99"), hkd("200000.00"), "price", BASIS
        ),
        ev.PriceRejected(
            "ETH",
            "HKD",
            Decimal("1.5"),
            NOW,
            "feed-b",
            "jump_beyond_band",
            Decimal("27000"),
            NOW,
            3,
        ),
        ev.PriceFeedStale("BTC", NOW - timedelta(seconds=121), NOW, 121),
        ev.MarketClosureRecorded("HKEX", date(2026, 3, 2), "typhoon_signal_8", "full_day", "ops"),
        ev.PolicyChangeProposed(
            "P-4",
            4,
            (ev.PolicyParameter("haircut.BTC", "0.60"), ev.PolicyParameter("haircut.ETH", "0.65")),
            NOW + timedelta(hours=1),
            "maker",
        ),
        ev.PolicyChangeApproved("P-4", 4, "checker", NOW + timedelta(hours=1)),
        ev.PolicyChangeRejected("P-5", "checker", "haircut_too_low"),
        ev.StressTestRun(
            "ST-1",
            "btc_minus_40",
            (ev.PriceShock("BTC", Decimal("-0.40")), ev.PriceShock("ETH", Decimal("-0.50"))),
            3,
            NOW,
            120,
            7,
            2,
            hkd("123456.78"),
            accounts_warned=9,
            accounts_short=1,
            securities_shock=Decimal("-0.15"),
            prices=PRICES,
            worst_accounts=(
                ev.StressedAccount(C, None, hkd("200000.00"), hkd("123456.78"), "forced_sale"),
                ev.StressedAccount("C-2", Decimal("1.31"), hkd("5.00"), hkd("0.00"), "healthy"),
            ),
            accounts_flagged=15,
            book_position=99,
            requested_by="risk-desk",
            accounts_listed=2,
            account_pages=1,
        ),
        ev.StressTestAccountsListed(
            "ST-1",
            1,
            (
                ev.StressedAccount(C, None, hkd("200000.00"), hkd("123456.78"), "forced_sale"),
                ev.StressedAccount("C-3", Decimal("0.95"), hkd("9.50"), hkd("0.00"), "warning"),
            ),
        ),
        ev.ReconciliationRun(
            "R-1",
            "bank",
            NOW - timedelta(hours=9),
            "ab" * 32,
            "bank-2026-03-01.csv",
            NOW,
            "ann",
            3,
            3,
            1,
            2,
            (
                ev.ReconciliationBreak(
                    "amount_differs", 2, C, "HKD", "100.00", "99.99", "-0.01", "differs"
                ),
                ev.ReconciliationBreak("malformed_line", 4, "", "", "", "", "", "2 fields"),
            ),
            77,
        ),
        # The forced-sale lifecycle (liquidation service).
        ev.LiquidationOrderPlaced(
            C,
            "L-1",
            "L-1-o1",
            "venue-a",
            False,
            BTC_HALF,
            Decimal("484500"),
            Decimal("510000.00"),
            Decimal("509235.00"),
            Decimal("509235.00"),
            NOW,
        ),
        ev.LiquidationOrderSettled(
            C, "L-1", "L-1-o1", "partially_filled", BTC_HALF, Money.of("BTC", "0"), "depth"
        ),
        ev.LiquidationProceedsApplied(
            C,
            "L-1",
            hkd("103.00"),
            hkd("2.00"),
            hkd("1.00"),
            hkd("100.00"),
            journals.repayment(C, interest=hkd("2.00"), fees=hkd("1.00"), principal=hkd("100.00")),
        ),
        ev.LiquidationPaused(
            C, "L-1", "BTC", Decimal("510000"), None, Decimal("484500"), "no bid above floor"
        ),
        ev.LiquidationResumed(C, "L-1", "ops", "accept a thin market", Decimal("480000"), "BTC"),
        ev.DeficitSettlementProposed(
            C, "WO-1", "write_off", hkd("100.00"), "", "board minute 12", "ops"
        ),
        ev.DeficitSettlementRejected(C, "WO-1", "cfo", "recover first"),
        # Corrections of mistaken movements (accounts service, maker-checker).
        ev.CorrectionProposed(C, "FIX-1", 11, 4242, "CashDeposited", "wrong client", "ann"),
        ev.MovementReversed(
            C,
            "FIX-1",
            11,
            4242,
            "CashDeposited",
            hkd("1000.00"),
            "wrong client",
            "ann",
            "ben",
            BASIS,
            journals.reversal(journals.cash_deposit(C, hkd("1000.00"))),
        ),
        ev.CorrectionRejected(C, "FIX-2", "ben", "not a mistake"),
        ev.SecuritiesMarginAccountUnlinked(C, "SMA-88"),
        ev.RelatedGroupChanged(C, None),
        # Credit facts by maker and checker (accounts service).
        ev.ClientFactProposed(
            C,
            "P-1",
            "ann",
            NOW,
            credit_assessment=ev.ProposedCreditAssessment(
                "CA-3", CreditGrade.BB, date(2026, 3, 1), date(2027, 3, 1)
            ),
            credit_limit=hkd("250000.00"),
            professional_investor=ev.ProposedProfessionalInvestorStatus(True, "PI-1", None),
        ),
        ev.ClientFactApproved(C, "P-1", "credit_assessment", "ann", "ben", NOW),
        ev.ClientFactRejected(C, "P-2", "credit_limit", "ann", "ben", NOW, "too high"),
    ]


SAMPLES = samples()


def test_samples_cover_the_whole_vocabulary() -> None:
    names = [type(e).__name__ for e in SAMPLES]
    assert len(names) == len(set(names))
    assert set(names) == set(ev.EVENT_TYPES)


def test_design_vocabulary_is_present() -> None:
    text = """ClientOnboarded SecuritiesMarginAccountLinked CreditAssessed CreditLimitSet
    MarginAgreementSigned RiskDisclosureAcknowledged ProfessionalInvestorStatusSet CashDeposited
    CashWithdrawn CollateralDeposited CollateralWithdrawn PriceObserved PolicyChangeProposed
    PolicyChangeApproved PolicyChangeRejected LoanAdvanced LoanRepaid InterestAccrued
    InterestCapitalised FeeCharged EarlyWarningIssued MarginCallIssued MarginCallMet
    MarginCallExpired AdvancesSuspended AdvancesResumed LiquidationStarted LiquidationFillExecuted
    LiquidationCompleted ShortfallRecognised DebtRecovered DebtWrittenOff
    ConcentrationLimitBreached ConcentrationLimitCleared StressTestRun AccountSuspended
    AccountClosed AccountResumed"""
    design = text.split()
    assert set(design) <= set(ev.EVENT_TYPES)


def test_every_schema_version_is_one_but_the_stress_test_runs_two() -> None:
    assert set(ev.SCHEMA_VERSION) == set(ev.EVENT_TYPES)
    assert {t: v for t, v in ev.SCHEMA_VERSION.items() if v != 1} == {"StressTestRun": 2}


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: type(e).__name__)
def test_round_trip_is_exact_through_json(event: ev.Event) -> None:
    name, version, data = ev.encode(event)
    assert name == type(event).__name__ and version == ev.SCHEMA_VERSION[name]
    check_json(data, "data")  # what the event store accepts: no floats, string keys
    stored = json.loads(json.dumps(data, sort_keys=True))  # what jsonb gives back
    decoded = ev.decode(name, version, stored)
    assert decoded == event
    assert ev.encode(decoded) == (name, version, data)


def _no_floats_and_amounts_are_strings(value: Any) -> None:
    assert not isinstance(value, float)
    if isinstance(value, dict):
        if set(value) == {"asset", "amount"} or "account" in value:
            assert isinstance(value["amount"], str)
        for item in value.values():
            _no_floats_and_amounts_are_strings(item)
    if isinstance(value, list):
        for item in value:
            _no_floats_and_amounts_are_strings(item)


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: type(e).__name__)
def test_amounts_travel_as_strings(event: ev.Event) -> None:
    _no_floats_and_amounts_are_strings(ev.encode(event)[2])


def test_encoding_shapes() -> None:
    _, _, data = ev.encode(SAMPLES[10])  # CashDeposited
    assert data["amount"] == {"asset": "HKD", "amount": "1000.00"}
    assert data["journal"][0] == {
        "account": f"client:{C}:cash",
        "asset": "HKD",
        "amount": "1000.00",
    }
    _, _, price = ev.encode(
        ev.PriceObserved("BTC", "HKD", Decimal("1.50"), NOW.astimezone(HKT), "x")
    )
    assert price["price"] == "1.50"
    assert price["observed_at"] == "2026-03-02T09:30:15.123456+00:00"  # UTC, whatever the input
    _, _, credit = ev.encode(SAMPLES[2])
    assert credit["grade"] == "BBB" and credit["assessed_on"] == "2026-02-27"


def test_value_moving_events_carry_a_journal() -> None:
    expected = {
        "CashDeposited", "CashWithdrawn", "CollateralDeposited", "CollateralWithdrawn",
        "LoanAdvanced", "LoanRepaid", "InterestAccrued", "InterestCapitalised", "FeeCharged",
        "LiquidationFillExecuted", "ShortfallRecognised", "DebtRecovered", "DebtWrittenOff",
        "LiquidationProceedsApplied", "MovementReversed",
    }  # fmt: skip
    assert expected == ev.VALUE_MOVING_EVENT_TYPES
    for event in SAMPLES:
        assert (ev.journal_of(event) is not None) == (type(event).__name__ in expected)


def test_account_events_start_with_the_client_id() -> None:
    for name in ev.ACCOUNT_EVENT_TYPES:
        assert fields(ev.EVENT_TYPES[name])[0].name == "client_id"
    assert "PriceObserved" not in ev.ACCOUNT_EVENT_TYPES


def test_encode_refuses_naive_datetimes_and_foreign_types() -> None:
    naive = ev.MarginCallExpired(C, "MC-1", datetime(2026, 3, 2, 9, 0))
    with pytest.raises(ValueError, match="naive"):
        ev.encode(naive)
    with pytest.raises(TypeError):
        ev.encode(ev.Event())


def _cash_deposited() -> dict[str, Any]:
    return ev.encode(SAMPLES[10])[2]


def _with(**changes: Any) -> dict[str, Any]:
    data = _cash_deposited()
    data.update(changes)
    return data


@pytest.mark.parametrize(
    "data",
    [
        _with(extra="x"),
        {k: v for k, v in _cash_deposited().items() if k != "reference"},
        _with(client_id=7),
        _with(amount={"asset": "HKD", "amount": 1000}),
        _with(amount={"asset": "HKD", "amount": "1000.001"}),
        _with(amount={"asset": "XYZ", "amount": "1"}),
        _with(amount={"asset": "HKD", "amount": "1000.00", "note": "x"}),
        _with(journal=[{"account": f"client:{C}:cash", "asset": "HKD", "amount": "1.00"}]),
        _with(journal="nope"),
        [],
    ],
)
def test_decode_refuses_data_that_does_not_fit(data: Any) -> None:
    with pytest.raises(DecodeError):
        ev.decode("CashDeposited", 1, data)


def test_decode_refuses_unknown_types_and_versions() -> None:
    with pytest.raises(ev.UnknownEventType):
        ev.decode("MoneyPrinted", 1, {})
    with pytest.raises(DecodeError, match="upcast"):
        ev.decode("CashDeposited", 2, _cash_deposited())


def test_decode_refuses_bad_dates_decimals_and_enums() -> None:
    _, _, data = ev.encode(SAMPLES[23])  # MarginCallExpired
    with pytest.raises(DecodeError):
        ev.decode("MarginCallExpired", 1, {**data, "deadline": "2026-03-02T09:00:00"})
    _, _, price = ev.encode(SAMPLES[34])
    with pytest.raises(DecodeError):
        ev.decode("PriceObserved", 1, {**price, "price": "NaN"})
    with pytest.raises(DecodeError):
        ev.decode("PriceObserved", 1, {**price, "price": 1.5})
    _, _, credit = ev.encode(SAMPLES[2])
    with pytest.raises(DecodeError):
        ev.decode("CreditAssessed", 1, {**credit, "grade": "Z"})
    with pytest.raises(DecodeError):
        ev.decode("CreditAssessed", 1, {**credit, "assessed_on": "2026-02-30"})


def test_evolve_is_total_over_the_vocabulary() -> None:
    """Every sample folds without raising, in order and reversed (replay never fails)."""
    for history in (SAMPLES, list(reversed(SAMPLES))):
        state = MarginAccount.initial(C)
        for event in history:
            state = evolve(state, event)


@pytest.mark.parametrize(
    "event",
    [e for e in SAMPLES if not isinstance(e, ev.AccountEvent)],
    ids=lambda e: type(e).__name__,
)
def test_other_streams_events_leave_the_account_alone(event: ev.Event) -> None:
    state = MarginAccount.initial(C)
    assert evolve(state, event) is state


def test_samples_use_real_assets() -> None:
    assert asset("0700.HK").scale == 0 and HKD.scale == 2


def test_a_basis_stored_before_the_price_marks_existed_still_decodes() -> None:
    """Decisions recorded before ``stale_assets`` and ``closed_market_assets`` were added
    carry neither key: they decode with both empty (no upcaster, same schema version)."""
    _, version, data = ev.encode(ev.EarlyWarningIssued(C, RISK, BASIS))
    old_basis = {
        key: value
        for key, value in data["basis"].items()
        if key not in ("stale_assets", "closed_market_assets")
    }
    assert set(old_basis) == {"policy_version", "prices", "decided_at"}
    stored = json.loads(json.dumps({**data, "basis": old_basis}))
    decoded = ev.decode("EarlyWarningIssued", version, stored)
    assert isinstance(decoded, ev.EarlyWarningIssued)
    assert decoded.basis == BASIS
    assert decoded.basis.stale_assets == () and decoded.basis.closed_market_assets == ()
    with pytest.raises(DecodeError, match="unknown fields"):
        ev.decode("EarlyWarningIssued", version, {**data, "basis": {**old_basis, "stale": []}})


def test_facts_stored_before_their_expiry_fields_still_decode() -> None:
    credit = {"client_id": C, "assessment_id": "CA-1", "grade": "A", "assessed_on": "2026-02-27"}
    assert ev.decode("CreditAssessed", 1, credit) == ev.CreditAssessed(
        C, "CA-1", CreditGrade.A, date(2026, 2, 27)
    )
    status = {"client_id": C, "professional": True, "assessed_on": "2026-02-01"}
    decoded = ev.decode("ProfessionalInvestorStatusSet", 1, status)
    assert isinstance(decoded, ev.ProfessionalInvestorStatusSet)
    assert (decoded.evidence, decoded.expires_on) == ("", None)


def value_driven(value: Any) -> Any:
    """The encoding asked of each value its type, field by field (encode_value's rules, as
    encode_dataclass applied them before it was compiled per class)."""
    special = Money | Journal | Balances  # dataclasses with an encoding of their own
    if dataclasses.is_dataclass(value) and not isinstance(value, type | special):
        return {f.name: value_driven(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, tuple):
        return [value_driven(item) for item in value]
    return encode_value(value)


def folded_states() -> list[MarginAccount]:
    states, state = [], MarginAccount.initial(C)
    for event in SAMPLES:
        state = evolve(state, event)
        states.append(state)
    return states


@pytest.mark.parametrize("value", [*SAMPLES, *folded_states()], ids=lambda v: type(v).__name__)
def test_the_compiled_encoding_is_the_value_driven_one(value: Any) -> None:
    assert canonical_json(encode_dataclass(value)) == canonical_json(value_driven(value))


def test_a_decode_error_names_the_whole_path_of_the_value_once() -> None:
    withdrawn = next(e for e in SAMPLES if isinstance(e, ev.CashWithdrawn))
    name, version, data = ev.encode(withdrawn)
    price = dict(data["basis"]["prices"][0])
    del price["base_asset"]
    nested = {**data, "basis": {**data["basis"], "prices": [price]}}
    with pytest.raises(DecodeError) as missing:
        ev.decode(name, version, nested)
    assert str(missing.value) == "CashWithdrawn.basis.prices[0].base_asset: missing"
    amount = {**data, "amount": {**data["amount"], "amount": "x"}}
    with pytest.raises(DecodeError) as malformed:
        ev.decode(name, version, amount)
    assert str(malformed.value) == (
        "CashWithdrawn.amount: 'x' is not a plain decimal number such as \"12.50\""
    )
