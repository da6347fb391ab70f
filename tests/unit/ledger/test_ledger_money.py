"""Assets and money: strict parsing, canonical formatting, rounding that never flatters."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harbour.ledger.assets import BTC, ETH, HKD, USD, USDT, AssetKind, asset, is_known_asset
from harbour.ledger.errors import (
    AmountNotPositive,
    Category,
    DomainError,
    MalformedAmount,
    MalformedDecimal,
    TooManyDecimals,
    UnknownAsset,
)
from harbour.ledger.money import (
    Money,
    format_amount,
    format_decimal,
    format_minor,
    parse_amount,
    parse_decimal,
    parse_price,
    parse_signed_amount,
    round_down,
    round_up,
    value_down,
    value_up,
)

# --- assets


@pytest.mark.parametrize(
    ("code", "scale", "kind"),
    [
        ("HKD", 2, AssetKind.FIAT),
        ("USD", 2, AssetKind.FIAT),
        ("USDT", 6, AssetKind.STABLECOIN),
        ("BTC", 8, AssetKind.VIRTUAL),
        ("ETH", 18, AssetKind.VIRTUAL),
        ("0700.HK", 0, AssetKind.SECURITY),
        ("AAPL.US", 0, AssetKind.SECURITY),
        ("BRK-B.US", 0, AssetKind.SECURITY),
    ],
)
def test_assets_have_fixed_scales(code: str, scale: int, kind: AssetKind) -> None:
    found = asset(code)
    assert (found.code, found.scale, found.kind) == (code, scale, kind)
    assert found.unit == 10**scale


@pytest.mark.parametrize(
    "code", ["DOGE", "btc", "", "0700.hk", "0700", ".HK", "0700.HKEXX", "A" * 30 + ".HK", 7, None]
)
def test_unknown_assets_are_refused(code: object) -> None:
    with pytest.raises(UnknownAsset) as refused:
        asset(code, field="collateral.asset")
    assert refused.value.reason == "unknown_asset"
    assert refused.value.category is Category.INVALID_ARGUMENT
    assert refused.value.violations[0].field == "collateral.asset"
    assert not is_known_asset(code)


def test_virtual_and_cash_kinds() -> None:
    assert BTC.is_virtual and ETH.is_virtual and not HKD.is_virtual
    assert HKD.is_cash and USDT.is_cash and not BTC.is_cash


# --- parsing


@pytest.mark.parametrize(
    ("code", "text", "minor"),
    [
        ("HKD", "12.50", 1250),
        ("HKD", "12", 1200),
        ("HKD", "0.01", 1),
        ("USD", "1000000.5", 100000050),
        ("USDT", "007.5", 7500000),
        ("BTC", "0.00000001", 1),
        ("BTC", "21000000", 21000000 * 10**8),
        ("ETH", "1.000000000000000001", 10**18 + 1),
        ("0700.HK", "100", 100),
    ],
)
def test_parse_amount_is_exact(code: str, text: str, minor: int) -> None:
    parsed = parse_amount(code, text)
    assert parsed == Money(asset(code), minor)


@pytest.mark.parametrize(
    "text",
    [
        "",
        " 1",
        "1 ",
        "1e3",
        "1E3",
        "1.5e-2",
        "NaN",
        "nan",
        "sNaN",
        "Infinity",
        "inf",
        "-Infinity",
        "1.",
        ".5",
        "1,000",
        "1_000",
        "+1",
        "--1",
        "0x10",
        "\u0661\u0662",  # Arabic-Indic digits: Decimal would take them, we do not
        "\uff11\uff12",  # full-width digits
        "1" * 19,  # more whole digits than anything real
        "1." + "0" * 60,  # absurd length
        "12.50\n",
    ],
)
def test_malformed_amounts_are_refused(text: str) -> None:
    with pytest.raises(MalformedAmount) as refused:
        parse_amount(HKD, text, field="amount.value")
    assert refused.value.reason == "malformed_amount"
    assert refused.value.category is Category.INVALID_ARGUMENT
    assert refused.value.violations[0].field == "amount.value"


@pytest.mark.parametrize("value", [12, 12.5, None, b"12", Decimal("12")])
def test_amounts_must_be_strings(value: object) -> None:
    with pytest.raises(MalformedAmount):
        parse_amount(HKD, value)


@pytest.mark.parametrize(
    ("code", "text"),
    [
        ("HKD", "1.001"),
        ("HKD", "1.000"),  # trailing zeros count: the rule is on the text, never rounded
        ("USD", "0.001"),
        ("USDT", "1.0000001"),
        ("BTC", "0.000000001"),
        ("ETH", "0." + "0" * 18 + "1"),
        ("0700.HK", "1.0"),
    ],
)
def test_more_decimals_than_the_scale_are_refused(code: str, text: str) -> None:
    with pytest.raises(TooManyDecimals) as refused:
        parse_amount(code, text, field="quantity")
    assert refused.value.reason == "too_many_decimals"
    assert refused.value.violations[0].field == "quantity"


@pytest.mark.parametrize("text", ["0", "0.00", "-1", "-0.01", "-0"])
def test_amounts_must_be_positive(text: str) -> None:
    with pytest.raises(AmountNotPositive) as refused:
        parse_amount(HKD, text)
    assert refused.value.reason == "amount_not_positive"


def test_zero_may_be_allowed_but_never_negative() -> None:
    assert parse_amount(HKD, "0.00", allow_zero=True) == Money(HKD, 0)
    with pytest.raises(AmountNotPositive):
        parse_amount(HKD, "-0.01", allow_zero=True)


def test_signed_amounts_for_stored_data() -> None:
    assert parse_signed_amount(HKD, "-12.34") == Money(HKD, -1234)
    assert parse_signed_amount(HKD, "0.00") == Money(HKD, 0)


# --- formatting


@pytest.mark.parametrize(
    ("code", "minor", "text"),
    [
        ("HKD", 1250, "12.50"),
        ("HKD", 0, "0.00"),
        ("HKD", -5, "-0.05"),
        ("BTC", 1, "0.00000001"),
        ("ETH", 10**18, "1.000000000000000000"),
        ("USDT", 1_500_000, "1.500000"),
        ("0700.HK", 3, "3"),
    ],
)
def test_format_is_canonical(code: str, minor: int, text: str) -> None:
    assert format_minor(asset(code), minor) == text
    assert format_amount(Money(asset(code), minor)) == text


@given(
    st.sampled_from([HKD, USD, USDT, BTC, ETH, asset("0700.HK")]),
    st.integers(min_value=1, max_value=10**18 - 1),  # parse allows at most 18 whole digits
)
def test_parse_inverts_format(of: object, minor: int) -> None:
    assert isinstance(of, type(HKD))
    assert parse_amount(of, format_minor(of, minor)).minor == minor


# --- arithmetic


def test_arithmetic_within_one_asset() -> None:
    a, b = Money(HKD, 1000), Money(HKD, 250)
    assert a + b == Money(HKD, 1250)
    assert a - b == Money(HKD, 750)
    assert -a == Money(HKD, -1000)
    assert b < a and a > b and a >= a and b <= b
    assert Money.zero(HKD).is_zero and a.is_positive
    assert a.to_decimal() == Decimal("10.00")
    assert str(a) == "10.00 HKD"


def test_arithmetic_refuses_mixing_assets() -> None:
    with pytest.raises(ValueError, match="HKD with USD"):
        _ = Money(HKD, 1) + Money(USD, 1)
    with pytest.raises(ValueError):
        _ = Money(HKD, 1) - Money(USD, 1)
    with pytest.raises(ValueError):
        _ = Money(BTC, 1) < Money(ETH, 1)


@pytest.mark.parametrize("minor", [True, 1.0, Decimal(1), "1"])
def test_money_is_never_a_float_or_bool(minor: object) -> None:
    with pytest.raises(TypeError):
        Money(HKD, minor)  # type: ignore[arg-type]


# --- rounding


def test_collateral_rounds_down_and_debts_round_up() -> None:
    assert round_down(HKD, Decimal("1.239")) == 123
    assert round_up(HKD, Decimal("1.231")) == 124
    assert round_down(HKD, Decimal("1.23")) == round_up(HKD, Decimal("1.23")) == 123
    # Negative values keep the direction: down is toward minus infinity.
    assert round_down(HKD, Decimal("-1.231")) == -124
    assert round_up(HKD, Decimal("-1.239")) == -123


def test_rounding_is_exact_beyond_default_decimal_precision() -> None:
    # 40 significant digits: the default 28-digit context would round before we chose to.
    value = Decimal("1234567890123456789012.345678901234567891")
    assert round_down(ETH, value) == 1234567890123456789012345678901234567891
    just_above = Decimal("1234567890123456789012.3456789012345678911")
    assert round_up(ETH, just_above) == 1234567890123456789012345678901234567892
    assert round_down(ETH, just_above) == 1234567890123456789012345678901234567891


@pytest.mark.parametrize("bad", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")])
def test_rounding_refuses_non_finite(bad: Decimal) -> None:
    with pytest.raises(ValueError):
        round_down(HKD, bad)


def test_values_at_a_price() -> None:
    half_btc = parse_amount(BTC, "0.5")
    assert value_down(half_btc, Decimal("500000.123"), HKD) == Money(HKD, 25000006)
    assert value_up(half_btc, Decimal("500000.123"), HKD) == Money(HKD, 25000007)


@given(
    st.decimals(
        min_value=Decimal("-1000000"),
        max_value=Decimal("1000000"),
        allow_nan=False,
        allow_infinity=False,
        places=6,
    )
)
def test_rounding_brackets_the_exact_value(value: Decimal) -> None:
    down, up = round_down(HKD, value), round_up(HKD, value)
    assert Decimal(down) / 100 <= value <= Decimal(up) / 100
    assert 0 <= up - down <= 1


# --- prices and rates


def test_parse_decimal_and_price() -> None:
    assert parse_decimal("0.65", "haircut") == Decimal("0.65")
    assert parse_price("512345.67") == Decimal("512345.67")
    assert parse_decimal("-0.40", "shock", allow_negative=True) == Decimal("-0.40")
    assert parse_decimal("1", "cap", maximum=Decimal("1")) == Decimal(1)


@pytest.mark.parametrize("text", ["1e-3", "NaN", "Infinity", "", ".5", "-0.1", 0.5, None])
def test_malformed_decimals_are_refused(text: object) -> None:
    with pytest.raises(MalformedDecimal) as refused:
        parse_decimal(text, "haircut")
    assert refused.value.reason == "malformed_decimal"
    assert refused.value.violations[0].field == "haircut"


def test_price_must_be_positive_and_bounded_values_checked() -> None:
    with pytest.raises(MalformedDecimal):
        parse_price("0")
    with pytest.raises(MalformedDecimal):
        parse_decimal("1.01", "cap", maximum=Decimal("1"))


def test_format_decimal_is_plain() -> None:
    assert format_decimal(Decimal("1E+2")) == "100"
    assert format_decimal(Decimal("-0.00")) == "0.00"
    assert format_decimal(Decimal("0.000000001")) == "0.000000001"
    with pytest.raises(ValueError):
        format_decimal(Decimal("NaN"))


def test_refusals_are_domain_errors() -> None:
    with pytest.raises(DomainError):
        parse_amount("XYZ", "1")
