"""The risk book's screen never misses an account the exact risk check would move.

The oracle is the lending decider itself: ``decide(state, CheckRisk(...), context)`` on a
MarginAccount, with fresh prices. Books are built AT the thresholds: for each account the exact
marginable value CV under the tick's prices is worked out with the exact valuation, and the
debt is set to ``floor(t x CV) + delta`` for a threshold t (warning, call, forced sale) and a
delta of a few minor units either side, in one or two currencies (HKD plus USD converted
rounding up), with the VA share cap binding or not, with unpriced and zero holdings. Call
deadlines lie in the future: a passed deadline is time-driven and checked elsewhere.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import MappingProxyType

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harbour.ledger import events as ev
from harbour.ledger.account import (
    MARGIN_CALL_HOLD,
    Lifecycle,
    MarginAccount,
    OpenMarginCall,
    RiskState,
)
from harbour.ledger.assets import asset
from harbour.ledger.balances import Balances
from harbour.ledger.errors import DomainError
from harbour.ledger.exposure import BrokerExposure
from harbour.ledger.money import Money
from harbour.ledger.policy import DEFAULT_POLICY, CollateralPolicy
from harbour.ledger.valuation import Holdings, ImpliedState, PriceBook, holdings_of
from harbour.lending.domain import CheckRisk, Context, decide
from harbour.risk.book import RiskBook

NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
SECURITIES = ("0700.HK", "AAPL.US", "0005.HK")
HELD = ("HKD", "USD", "USDT", "BTC", "ETH", *SECURITIES)
CASH = {"HKD", "USD", "USDT"}
_HAIRCUTS = {**DEFAULT_POLICY.haircuts, "0700.HK": Decimal("0.30"), "AAPL.US": Decimal("0.25")}
POLICIES = (
    replace(DEFAULT_POLICY, haircuts=MappingProxyType(dict(sorted(_HAIRCUTS.items())))),
    replace(
        DEFAULT_POLICY,
        haircuts=MappingProxyType(dict(sorted(_HAIRCUTS.items()))),
        va_share_cap=Decimal("1"),  # cap disabled
        warning_utilisation=Decimal("0.85"),
        forced_sale_utilisation=Decimal("1.5"),
    ),
    replace(
        DEFAULT_POLICY,
        haircuts=MappingProxyType(dict(sorted(_HAIRCUTS.items()))),
        va_share_cap=Decimal("0.8"),  # a steep cap factor: k = 4
        default_security_haircut=Decimal("0.5"),  # 0005.HK eligible at 50%
        margin_call_utilisation=Decimal("1.05"),
    ),
    DEFAULT_POLICY,  # securities ineligible: only cash supports the debt
)
RECORDED = (
    RiskState.HEALTHY,
    RiskState.WARNING,
    RiskState.MARGIN_CALL,
    RiskState.LIQUIDATING,
    RiskState.DEFICIT,
    RiskState.RECOVERED,
    RiskState.WRITTEN_OFF,
)


def decimal_price(low: int, high: int, places: int) -> st.SearchStrategy[Decimal]:
    return st.integers(low * 10**places, high * 10**places).map(
        lambda n: Decimal(n).scaleb(-places)
    )


@st.composite
def ticks(draw: st.DrawFn) -> dict[str, Decimal]:
    """Prices in HKD per whole unit; a security is sometimes unpriced (valued at 0)."""
    prices = {
        "USD": draw(decimal_price(7, 8, 4)),
        "USDT": draw(decimal_price(7, 8, 6)),
        "BTC": draw(decimal_price(1, 2_000_000, draw(st.integers(0, 8)))),
        "ETH": draw(decimal_price(1, 100_000, draw(st.integers(0, 10)))),
    }
    for code in SECURITIES:
        if draw(st.booleans()) or code == "0700.HK":
            prices[code] = draw(decimal_price(1, 5_000, draw(st.integers(0, 3))))
    return prices


def points(prices: dict[str, Decimal]) -> dict[str, ev.PricePoint]:
    seen = NOW - timedelta(seconds=5)  # fresh: the check decides on them
    return {code: ev.PricePoint(code, "HKD", p, seen, "feed") for code, p in prices.items()}


def quantity(draw: st.DrawFn, code: str, big: bool) -> int:
    unit = asset(code).unit
    whole = draw(st.sampled_from((0, 1, 3, 250, 10_000) if big else (0, 0, 1, 2)))
    return whole * unit + draw(st.integers(0, unit)) if whole or draw(st.booleans()) else 0


@st.composite
def boundary_account(
    draw: st.DrawFn, client: str, exact: PriceBook, policy: CollateralPolicy
) -> MarginAccount:
    held_codes = draw(st.sets(st.sampled_from(HELD), max_size=len(HELD)))
    va_heavy = draw(st.booleans())  # VA much bigger than the rest: the share cap binds
    assets = {}
    for code in sorted(held_codes):
        assets[code] = quantity(draw, code, big=va_heavy and asset(code).is_virtual)
    cv = exact.value(Holdings(client, assets)).marginable_value

    level = draw(
        st.sampled_from(
            (
                policy.warning_utilisation,
                policy.margin_call_utilisation,
                policy.forced_sale_utilisation,
                None,  # anywhere
            )
        )
    )
    if level is None:
        target = draw(st.integers(0, 3 * cv + 100))
    else:
        num, den = level.as_integer_ratio()
        target = cv * num // den + draw(st.integers(-3, 3))  # at, and units either side
    debt: dict[str, int] = {}
    if draw(st.booleans()) and target > 0:
        # Part of it in USD (converted rounding up), the rest in HKD to land on the target.
        usd = draw(st.integers(1, max(1, target // 8)))
        in_hkd = exact.value(Holdings(client, {}, {"USD": usd})).debt
        if in_hkd <= target:
            debt["USD"] = usd
            target -= in_hkd
    if target > 0:
        debt["HKD"] = target

    recorded = draw(st.sampled_from(RECORDED))
    in_call = recorded is RiskState.MARGIN_CALL or (
        recorded is RiskState.LIQUIDATING and draw(st.booleans())
    )
    call = (
        OpenMarginCall("call-1", Money.of("HKD", "1"), NOW + timedelta(days=1)) if in_call else None
    )
    status = Lifecycle.CLOSED if draw(st.integers(0, 19)) == 0 else Lifecycle.ACTIVE
    split = draw(st.booleans())  # some debt as interest, so D adds up across balances
    principal = {c: m - m // 3 for c, m in debt.items()} if split else debt
    interest = {c: m // 3 for c, m in debt.items()} if split else {}
    return MarginAccount(
        client,
        status=status,
        risk=recorded,
        cash=Balances.of({c: q for c, q in assets.items() if c in CASH}),
        collateral=Balances.of({c: q for c, q in assets.items() if c not in CASH}),
        principal=Balances.of(principal),
        accrued_interest=Balances.of(interest),
        margin_call=call,
        advance_holds=(MARGIN_CALL_HOLD,) if in_call else (),
    )


@st.composite
def books(draw: st.DrawFn) -> tuple[dict[str, Decimal], CollateralPolicy, list[MarginAccount]]:
    policy = draw(st.sampled_from(POLICIES))
    prices = draw(ticks())
    exact = PriceBook(points(prices), policy, NOW)
    count = draw(st.integers(1, 25))
    accounts = [draw(boundary_account(f"c{i}", exact, policy)) for i in range(count)]
    return prices, policy, accounts


def moved_by_exact_rule(
    accounts: list[MarginAccount], prices: dict[str, Decimal], policy: CollateralPolicy
) -> set[str]:
    context = Context(NOW, policy, points(prices), BrokerExposure(), "property")
    moved = set()
    for state in accounts:
        try:
            records = bool(decide(state, CheckRisk(state.client_id), context).account)
        except DomainError:
            records = True
        if records:
            moved.add(state.client_id)
    return moved


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(books())
def test_the_screen_names_every_account_the_exact_check_would_move(
    case: tuple[dict[str, Decimal], CollateralPolicy, list[MarginAccount]],
) -> None:
    prices, policy, accounts = case
    book = RiskBook(rows=2)  # small, so building it grows rows and columns
    for state in accounts:
        book.upsert_account(state)
    moved = moved_by_exact_rule(accounts, prices, policy)
    screened = set(book.screen(prices, policy))
    assert moved <= screened, f"missed {sorted(moved - screened)}"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(books())
def test_the_screen_agrees_with_the_exact_implied_state(
    case: tuple[dict[str, Decimal], CollateralPolicy, list[MarginAccount]],
) -> None:
    """The same guarantee without the decider: an open account whose exact implied state
    leaves the band its recorded state allows is screened in."""
    prices, policy, accounts = case
    exact = PriceBook(points(prices), policy, NOW)
    band = {
        RiskState.HEALTHY: {ImpliedState.HEALTHY},
        RiskState.RECOVERED: {ImpliedState.HEALTHY},
        RiskState.WRITTEN_OFF: {ImpliedState.HEALTHY},
        RiskState.WARNING: {ImpliedState.WARNING},
        RiskState.MARGIN_CALL: {ImpliedState.MARGIN_CALL},
    }
    entries = [(holdings_of(s), s.risk) for s in accounts if s.margin_call is None]
    book = RiskBook.from_holdings(entries)
    screened = set(book.screen(prices, policy))
    for holdings, risk in entries:
        if risk not in band or (not holdings.debt and risk is not RiskState.WARNING):
            continue
        implied = exact.value(holdings).state
        if implied not in band[risk]:
            assert holdings.client_id in screened, (risk, implied)


def test_a_book_far_from_every_threshold_flags_nothing() -> None:
    policy = POLICIES[0]
    prices = {"BTC": Decimal("600000"), "0700.HK": Decimal("400")}
    # 1,000 x 0700.HK @ 400 (70% kept) + 0.5 BTC @ 600,000 (40% kept): CV = 400,000.00.
    assets = {"0700.HK": 1_000, "BTC": 50_000_000}
    where = {
        RiskState.HEALTHY: 200_000_00,  # U = 50%
        RiskState.WARNING: 380_000_00,  # 95%
        RiskState.MARGIN_CALL: 460_000_00,  # 115%
    }
    book = RiskBook()
    for n in range(300):
        risk = list(where)[n % 3]
        book.upsert(f"c{n}", assets, {"HKD": where[risk] + n}, risk)
    book.upsert("closed", assets, {"HKD": 10**12}, RiskState.HEALTHY, closed=True)
    book.upsert("selling", assets, {"HKD": 10**12}, RiskState.LIQUIDATING)
    book.upsert("debt-free", assets, {}, RiskState.HEALTHY)
    assert book.screen(prices, policy) == []
    # Moved by a tick, they are all named: BTC and the shares halve.
    crash = {"BTC": Decimal("300000"), "0700.HK": Decimal("200")}
    assert len(book.screen(crash, policy)) == 300


def test_each_recorded_state_is_screened_where_the_check_acts() -> None:
    policy = POLICIES[0]
    prices = {"0700.HK": Decimal("100")}  # 1,000 shares: CV = 70,000.00
    book = RiskBook()
    book.upsert("healthy-above-warning", {"0700.HK": 1_000}, {"HKD": 63_000_01}, RiskState.HEALTHY)
    book.upsert("healthy-below-warning", {"0700.HK": 1_000}, {"HKD": 62_000_00}, RiskState.HEALTHY)
    book.upsert("warning-debt-free", {"0700.HK": 1_000}, {}, RiskState.WARNING)
    book.upsert("warning-called", {"0700.HK": 1_000}, {"HKD": 70_000_01}, RiskState.WARNING)
    book.upsert("call-met", {"0700.HK": 1_000}, {"HKD": 70_000_00}, RiskState.MARGIN_CALL)
    book.upsert("call-sale", {"0700.HK": 1_000}, {"HKD": 91_000_00}, RiskState.MARGIN_CALL)
    book.upsert("call-waits", {"0700.HK": 1_000}, {"HKD": 80_000_00}, RiskState.MARGIN_CALL)
    book.upsert("nothing-held", {}, {"HKD": 1}, RiskState.HEALTHY)
    book.upsert("owes-unpriced-usd", {"0700.HK": 1_000}, {"USD": 1}, RiskState.HEALTHY)
    assert set(book.screen(prices, policy)) == {
        "healthy-above-warning",
        "warning-debt-free",
        "warning-called",
        "call-met",
        "call-sale",
        "nothing-held",
        "owes-unpriced-usd",
    }
    assert set(book.forced_sales(prices, policy)) == {
        "call-sale",
        "nothing-held",
        "owes-unpriced-usd",
    }


def test_rows_are_replaced_removed_and_grown() -> None:
    book = RiskBook(rows=1)
    for n in range(50):
        book.upsert(f"c{n}", {"0700.HK": 1_000, f"{n:04d}.HK": 5}, {"HKD": 10}, RiskState.HEALTHY)
    assert len(book) == 50 and len(book.assets) == 51
    book.upsert("c0", {}, {}, RiskState.HEALTHY)  # replaced: holds and owes nothing now
    book.remove("c1")
    book.remove("absent")
    assert "c1" not in book and "c49" in book and len(book) == 49
    quantities = book.quantities()
    assert quantities.shape == (49, 51)
    assert quantities[:, book.assets.index("0700.HK")].sum() == 48 * 1_000
    # The last row moved into c1's place keeps its own figures.
    prices = {"0700.HK": Decimal("1")}  # CV 700 HKD each; a debt of 0.10 HKD is far below
    assert book.screen(prices, POLICIES[0]) == []
    book.upsert("c49", {"0700.HK": 1}, {"HKD": 10_000}, RiskState.HEALTHY)  # 100 HKD > 0.7
    assert book.screen(prices, POLICIES[0]) == ["c49"]


def test_a_book_built_from_columns_screens_as_one_built_row_by_row() -> None:
    rng = np.random.default_rng(7)
    size = 2_000
    shares = rng.integers(0, 5_000, size)
    btc = rng.integers(0, 3 * 10**8, size)
    owed = rng.integers(0, 600_000_00, size)
    risk = [[*RECORDED, RiskState.LIQUIDATING][i] for i in rng.integers(0, len(RECORDED) + 1, size)]
    owed[rng.random(size) < 0.2] = 0  # some owe nothing: idle unless in a call
    in_call = [bool(x) for x in rng.random(size) < 0.1]
    clients = [f"c{i}" for i in range(size)]
    by_row = RiskBook()
    for i, client in enumerate(clients):
        by_row.upsert(
            client,
            {"0700.HK": int(shares[i]), "BTC": int(btc[i])},
            {"HKD": int(owed[i])},
            risk[i],
            in_call=in_call[i],
        )
    by_column = RiskBook.from_columns(
        clients,
        {"0700.HK": shares.astype(float), "BTC": btc / 10**8},
        {"HKD": owed / 100},
        risk,
        in_call=in_call,
    )
    # Row for row the same: holdings, debts and screen class (an open call included).
    assert all(by_column.entry(c) == by_row.entry(c) for c in clients)
    prices = {"0700.HK": Decimal("400"), "BTC": Decimal("600000")}
    flagged = by_row.screen(prices, POLICIES[0])
    assert 0 < len(flagged) < size
    assert by_column.screen(prices, POLICIES[0]) == flagged
