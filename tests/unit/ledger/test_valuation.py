"""Valuation: hand-computed figures, exact thresholds, and properties against a Decimal reference.

Amounts are HKD minor units (cents) unless a comment says otherwise. Prices (HKD per whole
unit) unless a test says otherwise: BTC 500,000; ETH 20,000; 0700.HK 400; USD 7.80; USDT 7.75.
"""

from __future__ import annotations

import copy
import dataclasses
import pickle
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, localcontext
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harbour.ledger import events as ev
from harbour.ledger.account import MarginAccount
from harbour.ledger.assets import HKD, asset
from harbour.ledger.balances import Balances
from harbour.ledger.errors import PriceUnavailable
from harbour.ledger.money import Money, value_down, value_up
from harbour.ledger.policy import BEGINNING, DEFAULT_POLICY, CollateralPolicy, apply_parameters
from harbour.ledger.valuation import (
    AssetLine,
    Holdings,
    ImpliedState,
    PriceBook,
    Valuation,
    holdings_of,
    value_account,
    value_accounts,
)

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
H, W, MC, FS = (
    ImpliedState.HEALTHY,
    ImpliedState.WARNING,
    ImpliedState.MARGIN_CALL,
    ImpliedState.FORCED_SALE,
)


def point(code: str, price: str, age_seconds: int = 5) -> ev.PricePoint:
    return ev.PricePoint(code, "HKD", Decimal(price), NOW - timedelta(seconds=age_seconds), "feed")


PRICES = {
    code: point(code, price)
    for code, price in [
        ("BTC", "500000"),
        ("ETH", "20000"),
        ("0700.HK", "400"),
        ("USD", "7.80"),
        ("USDT", "7.75"),
    ]
}


def policy(*parameters: tuple[str, str]) -> CollateralPolicy:
    return apply_parameters(
        DEFAULT_POLICY,
        [ev.PolicyParameter(name, value) for name, value in parameters],
        version=2,
        effective_from=BEGINNING,
    )


SECURITIES = policy(("haircut.0700.HK", "0.30"))  # Tencent at 30%, VA share cap 50%
NO_CAP = policy(("va_share_cap", "1"))


def value(
    assets: Mapping[str, int],
    debt: Mapping[str, int] | None = None,
    *,
    under: CollateralPolicy = DEFAULT_POLICY,
    prices: Mapping[str, ev.PricePoint] = PRICES,
) -> Valuation:
    return value_account(Holdings("C-1", dict(assets), dict(debt or {})), prices, under, NOW)


def d6(text: str) -> Decimal:
    return Decimal(text)


# ------------------------------------------------------------------------------ hand-computed


def test_a_client_holding_only_btc_has_no_marginable_value_under_the_default_cap() -> None:
    # 0.5 BTC = 50,000,000 sat; MV = 0.5 x 500,000 = HKD 250,000.00 = 25,000,000 cents.
    # marginable = 25,000,000 x (1 - 0.60) = 10,000,000, all of it virtual.
    # cap 50%: allowance = floor(0 x 0.5 / 0.5) = 0, so CV = 0 and the cap leaves out 10,000,000.
    # D = HKD 1,000.00 = 100,000 > 0 with CV = 0: U unbounded, forced sale, call = D - CV.
    v = value({"BTC": 50_000_000}, {"HKD": 100_000})
    assert (v.market_value, v.va_marginable_value, v.other_marginable_value) == (
        25_000_000,
        10_000_000,
        0,
    )
    assert (v.va_cap_allowance, v.va_cap_effect, v.marginable_value) == (0, 10_000_000, 0)
    assert v.debt == 100_000
    assert v.utilisation is None
    assert v.state is FS
    assert v.call_amount == 100_000
    assert v.advance_headroom == 0
    assert v.loan_to_value == d6("0.004000")  # 100,000 / 25,000,000
    assert v.margin_level == d6("250.000000")  # 25,000,000 / 100,000
    assert v.lines == (
        AssetLine(
            "BTC",
            50_000_000,
            Decimal("500000"),
            PRICES["BTC"].observed_at,
            Decimal("0.60"),
            25_000_000,
            10_000_000,
            virtual=True,
            stale=False,
            priced=True,
        ),
    )
    # Without debt the same client is healthy, with nothing to borrow against.
    free = value({"BTC": 50_000_000})
    assert (free.utilisation, free.state, free.call_amount, free.advance_headroom) == (
        d6("0.000000"),
        H,
        0,
        0,
    )
    assert free.margin_level is None


def test_the_va_share_cap_binds_when_securities_support_less_than_the_btc() -> None:
    # 2 BTC: MV = 1,000,000.00 HKD = 100,000,000; marginable x 0.40 = 40,000,000 (virtual).
    # 1,000 x 0700.HK at 400: MV = 40,000,000; marginable x 0.70 = 28,000,000 (not virtual).
    # cap 50%: allowance = 28,000,000 x 0.5 / 0.5 = 28,000,000 < 40,000,000: effect 12,000,000.
    # CV = 28,000,000 + 28,000,000 = 56,000,000. D = HKD 500,000.00 = 50,000,000.
    # U = 50 / 56 = 0.892857142... -> 0.892858 (up); 50,000,000 <= 0.9 x 56,000,000: healthy.
    v = value({"BTC": 200_000_000, "0700.HK": 1_000}, {"HKD": 50_000_000}, under=SECURITIES)
    assert [line.asset for line in v.lines] == ["0700.HK", "BTC"]
    assert v.market_value == 140_000_000
    assert (v.va_marginable_value, v.other_marginable_value) == (40_000_000, 28_000_000)
    assert (v.va_cap_allowance, v.va_cap_effect) == (28_000_000, 12_000_000)
    assert v.marginable_value == 56_000_000
    assert v.utilisation == d6("0.892858")
    assert v.state is H
    assert v.loan_to_value == d6("0.357143")  # 50 / 140 = 0.357142857... up
    assert v.margin_level == d6("2.800000")  # 140 / 50
    # headroom: floor(56,000,000 x 0.90) - 50,000,000 = 50,400,000 - 50,000,000
    assert v.advance_headroom == 400_000
    assert v.call_amount == 0


def test_a_cap_whose_ratio_does_not_terminate_rounds_the_allowance_down() -> None:
    # cap 30%: allowance = nonVA x 0.3 / 0.7 = nonVA x 3 / 7.
    # 1,000 x 0700.HK at 400 with a 25% haircut: marginable = 40,000,000 x 0.75 = 30,000,000.
    # allowance = floor(30,000,000 x 3 / 7) = floor(12,857,142.857...) = 12,857,142.
    # 2 BTC: VA marginable 40,000,000 -> admitted 12,857,142, effect 27,142,858.
    # CV = 42,857,142; headroom = floor(42,857,142 x 0.9) = floor(38,571,427.8) = 38,571,427.
    under = policy(("haircut.0700.HK", "0.25"), ("va_share_cap", "0.30"))
    v = value({"BTC": 200_000_000, "0700.HK": 1_000}, under=under)
    assert (v.va_cap_allowance, v.va_cap_effect) == (12_857_142, 27_142_858)
    assert v.marginable_value == 42_857_142
    assert v.advance_headroom == 38_571_427
    # The admitted VA is at most 30% of CV: 12,857,142 / 42,857,142 = 0.29999999...
    assert v.marginable_value * 3 >= (v.marginable_value - v.other_marginable_value) * 10


def test_a_cap_of_one_disables_it() -> None:
    # 2 BTC: CV = 40,000,000 in full; D = 30,000,000; U = 0.75; LTV = 30 / 100.
    # margin level = 100 / 30 = 3.3333333... -> 3.333333 (down).
    # headroom = floor(40,000,000 x 0.9) - 30,000,000 = 6,000,000.
    v = value({"BTC": 200_000_000}, {"HKD": 30_000_000}, under=NO_CAP)
    assert (v.va_cap_allowance, v.va_cap_effect, v.marginable_value) == (None, 0, 40_000_000)
    assert (v.utilisation, v.loan_to_value, v.margin_level) == (
        d6("0.750000"),
        d6("0.300000"),
        d6("3.333333"),
    )
    assert v.state is H
    assert v.advance_headroom == 6_000_000


def test_nothing_held_and_nothing_owed_is_healthy() -> None:
    v = value({})
    assert (v.market_value, v.marginable_value, v.debt) == (0, 0, 0)
    assert v.utilisation == 0 and v.loan_to_value == 0
    assert str(v.utilisation) == "0.000000"
    assert v.margin_level is None
    assert (v.state, v.call_amount, v.advance_headroom) == (H, 0, 0)
    assert v.lines == () and v.prices == () and v.fresh


def test_a_haircut_of_100_percent_counts_in_market_value_only() -> None:
    # 0005.HK has no haircut in the policy: securities default to 100% (ineligible).
    # 100 shares at 60.00: MV = 600,000, marginable 0. HKD cash 1,000.00: 100,000 at 0%.
    prices = {**PRICES, "0005.HK": point("0005.HK", "60.00")}
    v = value({"0005.HK": 100, "HKD": 100_000}, {"HKD": 50_000}, prices=prices)
    by_asset = {line.asset: line for line in v.lines}
    assert (by_asset["0005.HK"].market_value, by_asset["0005.HK"].marginable_value) == (600_000, 0)
    assert by_asset["0005.HK"].haircut == 1
    assert (v.market_value, v.marginable_value) == (700_000, 100_000)
    assert v.utilisation == d6("0.500000")
    # A virtual asset the policy no longer lists as eligible is also haircut 100%.
    only_eth = policy(("eligible_virtual_assets", "ETH"), ("va_share_cap", "1"))
    btc = value({"BTC": 100_000_000}, under=only_eth)
    assert (btc.market_value, btc.marginable_value) == (50_000_000, 0)


def test_collateral_rounds_down_and_debt_rounds_up() -> None:
    # 3 sat at 500,000: 0.00000003 x 500,000 = HKD 0.015 = 1.5 cents -> MV 1; x 0.40 = 0.4 -> 0.
    # USD 0.01 held at 7.80: 7.8 cents -> MV 7; x 0.95 = 6.65 -> 6.
    # USD 0.01 owed at 7.80: 7.8 cents -> D 8.
    # MV 8; VA 0; other 6; allowance floor(6 x 1) = 6; CV = 6 + 0 = 6.
    # U = 8 / 6 = 1.3333... -> 1.333334 >= 1.30: forced sale, call = 8 - 6 = 2.
    v = value({"BTC": 3, "USD": 1}, {"USD": 1})
    assert [(line.asset, line.market_value, line.marginable_value) for line in v.lines] == [
        ("BTC", 1, 0),
        ("USD", 7, 6),
    ]
    assert (v.market_value, v.marginable_value, v.debt) == (8, 6, 8)
    assert v.utilisation == d6("1.333334")
    assert (v.state, v.call_amount) == (FS, 2)
    assert (v.loan_to_value, v.margin_level) == (d6("1.000000"), d6("1.000000"))
    # The same directions as money.value_down / value_up.
    usd = Money(asset("USD"), 1)
    assert value_down(usd, Decimal("7.80"), HKD).minor == 7
    assert value_up(usd, Decimal("7.80"), HKD).minor == 8


@pytest.mark.parametrize(
    ("debt", "utilisation", "state", "call"),
    [
        (90_000, "0.900000", H, 0),  # U == warning (0.90): still healthy
        (90_001, "0.900010", W, 0),  # just above
        (100_000, "1.000000", W, 0),  # U == margin call (1.00): still a warning
        (100_001, "1.000010", MC, 1),  # just above: call D - CV = 1
        (129_999, "1.299990", MC, 29_999),  # just below forced sale
        (130_000, "1.300000", FS, 30_000),  # U == forced sale (1.30): forced sale
    ],
)
def test_each_threshold_boundary_exactly(
    debt: int, utilisation: str, state: ImpliedState, call: int
) -> None:
    # HKD 1,000.00 cash at a 0% haircut: CV = 100,000 exactly.
    v = value({"HKD": 100_000}, {"HKD": debt})
    assert v.marginable_value == 100_000
    assert (v.utilisation, v.state, v.call_amount) == (d6(utilisation), state, call)


def test_the_state_follows_the_exact_ratio_not_the_rounded_one() -> None:
    # CV = HKD 3,000,000.00 = 300,000,000.
    # D = 389,999,999: U = 1.29999999666... rounds UP to 1.300000, but U < 1.30 exactly.
    below = value({"HKD": 300_000_000}, {"HKD": 389_999_999})
    assert (below.utilisation, below.state) == (d6("1.300000"), MC)
    # D = 270,000,001: U = 0.9000000033... just above the warning level.
    above = value({"HKD": 300_000_000}, {"HKD": 270_000_001})
    assert (above.utilisation, above.state) == (d6("0.900001"), W)
    # D = 270,000,000: exactly 0.90, healthy; headroom = floor(300,000,000 x 0.9) - D = 0.
    at = value({"HKD": 300_000_000}, {"HKD": 270_000_000})
    assert (at.state, at.advance_headroom) == (H, 0)


def test_call_amount_and_advance_headroom() -> None:
    # HKD 1,000.00 cash (CV 100,000), owing 1,050.00: U = 1.05, margin call of D - CV = 5,000.
    called = value({"HKD": 100_000}, {"HKD": 105_000})
    assert (called.state, called.call_amount, called.advance_headroom) == (MC, 5_000, 0)
    # Owing 500.00: headroom = floor(100,000 x 0.9) - 50,000 = 40,000, and borrowing exactly
    # that lands on U = 0.90, borrowing one cent more does not.
    room = value({"HKD": 100_000}, {"HKD": 50_000})
    assert room.advance_headroom == 40_000
    assert value({"HKD": 100_000}, {"HKD": 90_000}).utilisation == d6("0.900000")
    assert value({"HKD": 100_000}, {"HKD": 90_001}).utilisation > d6("0.9")


def test_stale_and_unpriced_assets() -> None:
    # BTC observed 121 s ago (the policy allows 120): stale but used. ETH exactly 120 s: fresh.
    # 0700.HK held with no price at all: valued at 0 and listed. USD owed at a stale price.
    prices = {
        "BTC": point("BTC", "500000", age_seconds=121),
        "ETH": point("ETH", "20000", age_seconds=120),
        "USD": point("USD", "7.80", age_seconds=600),
    }
    v = value(
        {"BTC": 100_000_000, "ETH": 10**18, "0700.HK": 100, "HKD": 100},
        {"USD": 100},
        prices=prices,
    )
    assert v.stale_assets == ("BTC", "USD")
    assert v.unpriced_assets == ("0700.HK",)
    assert not v.fresh
    lines = {line.asset: line for line in v.lines}
    assert lines["BTC"].stale and lines["BTC"].market_value == 50_000_000  # still used
    assert not lines["ETH"].stale
    tencent = lines["0700.HK"]
    assert (tencent.priced, tencent.price, tencent.observed_at) == (False, 0, None)
    assert (tencent.market_value, tencent.marginable_value) == (0, 0)
    assert (lines["HKD"].price, lines["HKD"].observed_at, lines["HKD"].priced) == (1, None, True)
    assert v.debt == 780  # USD 1.00 at 7.80
    # Every price used, sorted by asset; HKD needs none.
    assert v.prices == (prices["BTC"], prices["ETH"], prices["USD"])
    assert value({"HKD": 100}).fresh


def test_a_debt_in_a_currency_with_no_price_cannot_be_valued() -> None:
    prices = {code: p for code, p in PRICES.items() if code != "USD"}
    with pytest.raises(PriceUnavailable, match="USD"):
        value({"HKD": 100_000}, {"USD": 100}, prices=prices)
    # Nothing owed in it: nothing to price.
    assert value({"HKD": 100_000}, {"USD": 0}, prices=prices).debt == 0


def test_zero_balances_make_no_line_and_need_no_price() -> None:
    v = value({"BTC": 0, "HKD": 100, "0005.HK": 0}, {"HKD": 0, "USD": 0}, prices={})
    assert [line.asset for line in v.lines] == ["HKD"]
    assert v.fresh and v.debt == 0 and v.prices == ()
    # Zero and non-zero clients with one shape in one batch.
    batch = [
        Holdings("A", {"BTC": 0, "HKD": 100}),
        Holdings("B", {"BTC": 5, "HKD": 100}),
    ]
    a, b = value_accounts(batch, PRICES, DEFAULT_POLICY, NOW)
    assert [line.asset for line in a.lines] == ["HKD"]
    assert [line.asset for line in b.lines] == ["BTC", "HKD"]


def test_figures_and_basis() -> None:
    # HKD 1,000.00 cash (100,000, not virtual) and 1 BTC (MV 50,000,000, marginable
    # 20,000,000): the cap admits 100,000 of the BTC, so CV = 200,000; U = 50,000 / 200,000.
    v = value({"HKD": 100_000, "BTC": 100_000_000}, {"HKD": 50_000}, under=SECURITIES)
    assert v.figures() == ev.RiskFigures(
        Money(HKD, 50_100_000), Money(HKD, 200_000), Money(HKD, 50_000), Decimal("0.250000")
    )
    assert v.basis(NOW) == ev.DecisionBasis(2, (PRICES["BTC"],), NOW)


def test_holdings_of_a_margin_account() -> None:
    account = MarginAccount(
        "C-9",
        cash=Balances.of({"HKD": 100_000, "USDT": 5_000_000}),
        collateral=Balances.of({"BTC": 10_000, "USDT": 1_000_000}),
        principal=Balances.of({"HKD": 40_000}),
        accrued_interest=Balances.of({"HKD": 123}),
        unpaid_fees=Balances.of({"HKD": 7}),
    )
    held = holdings_of(account)
    assert held.client_id == "C-9"
    assert dict(held.assets) == {"BTC": 10_000, "HKD": 100_000, "USDT": 6_000_000}
    assert dict(held.debt) == {"HKD": 40_130}


def test_negative_debt_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        Holdings("C-1", {}, {"HKD": -1})


@pytest.mark.parametrize(
    "bad",
    [
        {"BTC": ev.PricePoint("ETH", "HKD", Decimal(1), NOW, "feed")},
        {"BTC": ev.PricePoint("BTC", "USD", Decimal(1), NOW, "feed")},
        {"BTC": ev.PricePoint("BTC", "HKD", Decimal(0), NOW, "feed")},
        {"HKD": ev.PricePoint("HKD", "HKD", Decimal(2), NOW, "feed")},
    ],
)
def test_a_malformed_price_book_is_refused(bad: dict[str, ev.PricePoint]) -> None:
    with pytest.raises(ValueError):
        PriceBook(bad, DEFAULT_POLICY, NOW)


# ------------------------------------------------------------------------------ deferred detail


def _eager(v: Valuation) -> Valuation:
    return Valuation(**{f.name: getattr(v, f.name) for f in dataclasses.fields(Valuation)})


def test_a_deferred_valuation_behaves_as_an_eager_one() -> None:
    holdings = Holdings("C-7", {"BTC": 123_456_789, "0700.HK": 250}, {"HKD": 9_999_999})
    fresh = lambda: value_account(holdings, PRICES, SECURITIES, NOW)  # noqa: E731
    eager = _eager(fresh())
    assert fresh() == eager and eager == fresh()
    assert hash(fresh()) == hash(eager)
    assert repr(fresh()) == repr(eager)
    assert dataclasses.asdict(fresh()) == dataclasses.asdict(eager)
    assert pickle.loads(pickle.dumps(fresh())) == eager
    assert copy.deepcopy(fresh()) == eager
    assert dataclasses.replace(fresh(), debt=1).lines == eager.lines
    assert not hasattr(fresh(), "no_such_field")
    with pytest.raises(dataclasses.FrozenInstanceError):
        fresh().lines = ()  # type: ignore[misc]
    one = fresh()
    assert "lines" not in vars(one)  # deferred ...
    assert one.utilisation == eager.utilisation  # ... until one of them is read
    assert one.lines is one.lines  # made once
    assert set(vars(one)) == {f.name for f in dataclasses.fields(Valuation)}


def test_the_ratios_are_exact_whatever_the_decimal_context() -> None:
    with localcontext() as ctx:
        ctx.prec = 3
        v = value({"BTC": 200_000_000, "0700.HK": 1_000}, {"HKD": 50_000_000}, under=SECURITIES)
        assert (v.utilisation, v.loan_to_value, v.margin_level) == (
            d6("0.892858"),
            d6("0.357143"),
            d6("2.800000"),
        )


# ------------------------------------------------------------------------------ properties


def _amount(max_digits: int) -> st.SearchStrategy[int]:
    # Every order of magnitude equally likely, so the VA cap binds in some draws, not others.
    return st.integers(0, max_digits).flatmap(lambda digits: st.integers(0, 10**digits))


_QUANTITIES = {
    "BTC": _amount(10),
    "ETH": _amount(21),
    "HKD": _amount(10),
    "USD": _amount(9),
    "USDT": _amount(13),
    "0700.HK": _amount(5),
    "0005.HK": _amount(5),  # no haircut in any policy here: 100%
}
_POLICIES = [
    DEFAULT_POLICY,
    SECURITIES,
    NO_CAP,
    policy(("haircut.0700.HK", "0.25"), ("va_share_cap", "0.30")),
    policy(("eligible_virtual_assets", "ETH"), ("haircut.USDT", "0.125")),
]
_price = st.decimals(min_value=Decimal("0.00000001"), max_value=Decimal(10**7), places=8)


@st.composite
def _prices(draw: st.DrawFn) -> dict[str, ev.PricePoint]:
    prices = {}
    for code in sorted(_QUANTITIES):
        if code == "HKD":
            continue
        if code == "USD" or draw(st.integers(0, 9)):  # USD always (it is owed); others mostly
            prices[code] = point(code, str(draw(_price)), draw(st.integers(0, 300)))
    return prices


@st.composite
def _holdings(
    draw: st.DrawFn,
    prices: Mapping[str, ev.PricePoint],
    under: CollateralPolicy,
    client: str = "C",
) -> Holdings:
    codes = draw(
        st.lists(st.sampled_from(sorted(_QUANTITIES)), min_size=1, max_size=5, unique=True)
    )
    assets = {code: draw(_QUANTITIES[code]) for code in codes}
    if draw(st.booleans()):  # a sizeable virtual holding, for the VA share cap to bind
        assets[draw(st.sampled_from(["BTC", "ETH"]))] = draw(st.integers(10**8, 10**20))
    debt = {"USD": draw(_amount(7))} if draw(st.booleans()) else {}
    # HKD debt near the interesting utilisations: drawn against this client's CV, at and one
    # cent either side of each threshold, or anywhere up to twice the CV, or any amount.
    cv = _reference(Holdings(client, assets, debt), prices, under)["marginable_value"]
    assert isinstance(cv, int)
    threshold = draw(
        st.sampled_from(
            [
                under.warning_utilisation,
                under.margin_call_utilisation,
                under.forced_sale_utilisation,
                under.max_advance_utilisation,
            ]
        )
    )
    hkd = draw(
        st.one_of(
            st.integers(-1, 1).map(lambda step: int(cv * threshold) + step),
            st.fractions(0, 2).map(lambda r: cv * r.numerator // r.denominator),
            _amount(10),
        )
    )
    if hkd > 0 or draw(st.booleans()):
        debt["HKD"] = max(hkd, 0)
    return Holdings(client, assets, debt)


@st.composite
def _scenario(draw: st.DrawFn) -> tuple[Holdings, dict[str, ev.PricePoint], CollateralPolicy]:
    prices = draw(_prices())
    under = draw(st.sampled_from(_POLICIES))
    return draw(_holdings(prices, under)), prices, under


def _reference(
    holdings: Holdings, prices: Mapping[str, ev.PricePoint], under: CollateralPolicy
) -> dict[str, object]:
    """docs/domain.md's formulas written plainly in Decimal, with no integer tricks."""
    with localcontext() as ctx:
        ctx.prec = 100

        def floor(x: Decimal) -> int:
            return int(x.to_integral_value(rounding=ROUND_FLOOR))

        def ceil(x: Decimal) -> int:
            return int(x.to_integral_value(rounding=ROUND_CEILING))

        def price_of(code: str) -> Decimal | None:
            if code == "HKD":
                return Decimal(1)
            return prices[code].price if code in prices else None

        mv_total = va = other = 0
        for code, quantity in holdings.assets.items():
            if quantity == 0:
                continue
            price = price_of(code) or Decimal(0)
            # HKD value of the holding, in cents, rounded down.
            mv = floor(Decimal(quantity).scaleb(-asset(code).scale) * price * 100)
            marginable = floor(Decimal(mv) * (1 - under.haircut(code)))
            mv_total += mv
            if asset(code).is_virtual:
                va += marginable
            else:
                other += marginable
        debt = 0
        for code, minor in holdings.debt.items():
            if minor:
                price = price_of(code)
                assert price is not None
                debt += ceil(Decimal(minor).scaleb(-asset(code).scale) * price * 100)
        cap = under.va_share_cap
        if cap == 1:
            cv = other + va
        else:
            ctx.rounding = ROUND_FLOOR  # the floor of a quotient rounded down is exact
            cv = other + min(va, floor(Decimal(other) * cap / (1 - cap)))
        ctx.rounding = ROUND_CEILING
        six = Decimal("0.000001")
        if debt == 0:
            utilisation: Decimal | None = Decimal(0)
            state = H
        elif cv <= 0:
            utilisation, state = None, FS
        else:
            utilisation = (Decimal(debt) / cv).quantize(six, rounding=ROUND_CEILING)
            if debt <= under.warning_utilisation * cv:
                state = H
            elif debt <= under.margin_call_utilisation * cv:
                state = W
            elif debt < under.forced_sale_utilisation * cv:
                state = MC
            else:
                state = FS
        ltv = (
            Decimal(0)
            if debt == 0
            else None
            if mv_total <= 0
            else (Decimal(debt) / mv_total).quantize(six, rounding=ROUND_CEILING)
        )
        ctx.rounding = ROUND_FLOOR
        level = None if debt == 0 else (Decimal(mv_total) / debt).quantize(six, ROUND_FLOOR)
        headroom = max(0, floor(cv * under.max_advance_utilisation) - debt)
        return {
            "market_value": mv_total,
            "va_marginable_value": va,
            "other_marginable_value": other,
            "marginable_value": cv,
            "debt": debt,
            "utilisation": utilisation,
            "loan_to_value": ltv,
            "margin_level": level,
            "state": state,
            "call_amount": debt - cv if state in (MC, FS) else 0,
            "advance_headroom": headroom,
        }


@settings(max_examples=400, deadline=None)
@given(scenario=_scenario())
def test_the_integer_core_agrees_with_a_decimal_reference(
    scenario: tuple[Holdings, dict[str, ev.PricePoint], CollateralPolicy],
) -> None:
    holdings, prices, under = scenario
    v = value_account(holdings, prices, under, NOW)
    expected = _reference(holdings, prices, under)
    assert {name: getattr(v, name) for name in expected} == expected
    assert sum(line.market_value for line in v.lines) == v.market_value
    for ratio in (v.utilisation, v.loan_to_value, v.margin_level):
        assert ratio is None or ratio.as_tuple().exponent == -6  # always 6 decimals
    assert v.va_cap_effect == v.va_marginable_value - (
        v.marginable_value - v.other_marginable_value
    )


def _utilisation(v: Valuation) -> Decimal:
    return Decimal("Infinity") if v.utilisation is None else v.utilisation


def _severity(v: Valuation) -> int:
    return [H, W, MC, FS].index(v.state)


@settings(max_examples=300, deadline=None)
@given(
    scenario=_scenario(),
    fallen=st.sampled_from(["BTC", "ETH", "USDT", "0700.HK", "0005.HK"]),
    share=st.fractions(0, 1),
)
def test_utilisation_never_falls_when_a_collateral_price_falls(
    scenario: tuple[Holdings, dict[str, ev.PricePoint], CollateralPolicy],
    fallen: str,
    share: Fraction,
) -> None:
    # Debt is in HKD and USD only, so the fallen price moves collateral only.
    holdings, prices, under = scenario
    if fallen not in prices:
        return
    before = prices[fallen]
    lower = (before.price * share.numerator / share.denominator).quantize(
        Decimal("0.00000001"), ROUND_FLOOR
    )
    if lower <= 0:
        return
    after = {**prices, fallen: dataclasses.replace(before, price=lower)}
    was = value_account(holdings, prices, under, NOW)
    now = value_account(holdings, after, under, NOW)
    assert now.debt == was.debt
    assert now.market_value <= was.market_value
    assert now.marginable_value <= was.marginable_value  # so D / CV can only grow
    assert _utilisation(now) >= _utilisation(was)
    assert _severity(now) >= _severity(was)
    assert now.advance_headroom <= was.advance_headroom


@st.composite
def _batch(draw: st.DrawFn) -> tuple[list[Holdings], dict[str, ev.PricePoint], CollateralPolicy]:
    prices = draw(_prices())
    under = draw(st.sampled_from(_POLICIES))
    size = draw(st.integers(0, 12))
    return [draw(_holdings(prices, under, f"C{i}")) for i in range(size)], prices, under


@settings(max_examples=100, deadline=None)
@given(batch=_batch())
def test_a_batch_values_each_client_as_alone(
    batch: tuple[list[Holdings], dict[str, ev.PricePoint], CollateralPolicy],
) -> None:
    clients, prices, under = batch
    together = value_accounts(clients, prices, under, NOW)
    alone = [value_account(h, prices, under, NOW) for h in clients]
    assert together == alone
    assert [v.client_id for v in together] == [h.client_id for h in clients]
