"""A stress test's screen never leaves out an account the exact stress rule counts.

The oracle is ``harbour.ledger.stress.stress_accounts`` (the exact valuation and the exact net
proceeds of selling everything). Books are built AT its two boundaries: for each account the
debt is ``floor(t x CV) + delta`` at the warning level t, or ``net proceeds + delta``, with
a delta of a few minor units either side, the VA share cap binding or not, unpriced holdings
and any recorded state (the stress rule ignores it). Plus the scenario's own arithmetic.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from types import MappingProxyType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harbour.ledger import events as ev
from harbour.ledger import stress
from harbour.ledger.account import RiskState
from harbour.ledger.assets import asset
from harbour.ledger.errors import InvalidArgument
from harbour.ledger.policy import DEFAULT_POLICY, CollateralPolicy
from harbour.ledger.valuation import Holdings, ImpliedState, PriceBook
from harbour.risk.book import RiskBook

NOW = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)
SECURITIES = ("0700.HK", "AAPL.US")
HELD = ("HKD", "USD", "BTC", "ETH", *SECURITIES)
_HAIRCUTS = {**DEFAULT_POLICY.haircuts, "0700.HK": Decimal("0.30"), "AAPL.US": Decimal("0.25")}
POLICIES = (
    replace(DEFAULT_POLICY, haircuts=MappingProxyType(dict(sorted(_HAIRCUTS.items())))),
    replace(
        DEFAULT_POLICY,
        # A security at no haircut and a fee above 1 - warning: an account can be healthy
        # and still short, so the screen's second test is the one that names it.
        haircuts=MappingProxyType(dict(sorted({**_HAIRCUTS, "0700.HK": Decimal(0)}.items()))),
        va_share_cap=Decimal("1"),
        liquidation_fee=Decimal("0.15"),
    ),
    DEFAULT_POLICY,  # securities ineligible: only cash is marginable
)


def price(low: int, high: int, places: int) -> st.SearchStrategy[Decimal]:
    return st.integers(low * 10**places, high * 10**places).map(
        lambda n: Decimal(n).scaleb(-places)
    )


@st.composite
def prices(draw: st.DrawFn) -> dict[str, ev.PricePoint]:
    found = {
        "USD": draw(price(7, 8, 4)),
        "BTC": draw(price(1, 900_000, draw(st.integers(0, 6)))),
        "ETH": draw(price(1, 50_000, draw(st.integers(0, 8)))),
    }
    for code in SECURITIES:
        if draw(st.booleans()):
            found[code] = draw(price(1, 3_000, draw(st.integers(0, 3))))
    return {
        c: ev.PricePoint(c, "HKD", p, NOW - timedelta(seconds=3), "feed") for c, p in found.items()
    }


@st.composite
def boundary_holdings(
    draw: st.DrawFn, client: str, exact: PriceBook, policy: CollateralPolicy
) -> Holdings:
    assets = {}
    for code in sorted(draw(st.sets(st.sampled_from(HELD)))):
        unit = asset(code).unit
        whole = draw(st.sampled_from((0, 1, 2, 40, 5_000)))
        minor = whole * unit + draw(st.integers(0, unit))
        if minor:
            assets[code] = minor
    valuation = exact.value(Holdings(client, assets))
    net = stress.net_proceeds(valuation, policy.liquidation_fee)
    edge = draw(st.sampled_from(("warning", "proceeds", "anywhere")))
    if edge == "warning":
        debt = int(valuation.marginable_value * policy.warning_utilisation)
    elif edge == "proceeds":
        debt = net
    else:
        debt = draw(st.integers(0, 10**12))
    debt = max(0, debt + draw(st.integers(-3, 3)))
    return Holdings(client, assets, {"HKD": debt} if debt else {})


@st.composite
def books(draw: st.DrawFn) -> tuple[dict[str, ev.PricePoint], CollateralPolicy, list[Holdings]]:
    policy = draw(st.sampled_from(POLICIES))
    points = draw(prices())
    exact = PriceBook(points, policy, NOW)
    count = draw(st.integers(1, 12))
    return points, policy, [draw(boundary_holdings(f"C{n}", exact, policy)) for n in range(count)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(books(), st.sampled_from(list(RiskState)))
def test_the_screen_names_every_account_the_exact_rule_counts(
    book: tuple[dict[str, ev.PricePoint], CollateralPolicy, list[Holdings]], risk: RiskState
) -> None:
    points, policy, holdings = book
    risk_book = RiskBook.from_holdings((h, risk) for h in holdings)
    named = set(risk_book.stresses({c: p.price for c, p in points.items()}, policy))
    exact = PriceBook(points, policy, NOW)
    stressed = stress.stress_accounts(holdings, points, policy, NOW)
    for one, alone in zip(stressed, holdings, strict=True):
        valuation = exact.value(alone)  # one at a time, its lines built: the same figures
        assert one.net_proceeds == stress.net_proceeds(valuation, policy.liquidation_fee)
        assert one.utilisation == valuation.utilisation
        if one.counts:
            assert one.client_id in named, one
        if one.debt == 0:
            assert one.client_id not in named  # owing nothing: healthy, nothing short


@pytest.mark.parametrize("delta", [-1, 0, 1, 3])
def test_a_healthy_account_short_of_its_debt_is_named(delta: int) -> None:
    policy = POLICIES[1]  # 0700.HK at no haircut, a 15% fee
    points = {"0700.HK": ev.PricePoint("0700.HK", "HKD", Decimal("100.01"), NOW, "feed")}
    shares = Holdings("A", {"0700.HK": 1_000})
    net = stress.net_proceeds(PriceBook(points, policy, NOW).value(shares), policy.liquidation_fee)
    owing = Holdings("A", shares.assets, {"HKD": net + delta})
    (exact,) = stress.stress_accounts([owing], points, policy, NOW)
    assert exact.state is ImpliedState.HEALTHY and exact.shortfall == max(0, delta)
    named = RiskBook.from_holdings([(owing, RiskState.HEALTHY)]).stresses(
        {"0700.HK": Decimal("100.01")}, policy
    )
    if delta > 0:
        assert named == ["A"]


def test_shocks_move_prices_exactly_and_securities_take_the_index_move() -> None:
    seen = NOW - timedelta(seconds=1)
    points = {
        c: ev.PricePoint(c, "HKD", Decimal(p), seen, "feed")
        for c, p in (
            ("BTC", "512345.678901234567890123"),
            ("0700.HK", "388.2"),
            ("AAPL.US", "1500"),
            ("USD", "7.8"),
        )
    }
    scenario = stress.scenario(
        "winter",
        (ev.PriceShock("BTC", Decimal("-0.333333")), ev.PriceShock("AAPL.US", Decimal("0.1"))),
        Decimal("-0.2"),
    )
    moved = stress.shocked_prices(points, scenario)
    # 30 significant digits: the default 28-digit context would have rounded it.
    assert moved["BTC"].price == Decimal("341563.956716049345671604630041")
    assert Fraction(moved["BTC"].price) == Fraction("512345.678901234567890123") * Fraction(
        "0.666667"
    )
    assert moved["0700.HK"].price == Decimal("310.56")  # the index move
    assert moved["AAPL.US"].price == Decimal("1650.0")  # its own shock, not the index's
    assert moved["USD"] == points["USD"]  # not shocked


@pytest.mark.parametrize(
    ("shocks", "index", "field"),
    [
        ((ev.PriceShock("BTC", Decimal("-1")),), None, "shocks[0].change"),
        ((ev.PriceShock("BTC", Decimal("10.5")),), None, "shocks[0].change"),
        ((ev.PriceShock("BTC", Decimal("0.0000001")),), None, "shocks[0].change"),
        ((ev.PriceShock("HKD", Decimal("0.1")),), None, "shocks[0].asset"),
        ((ev.PriceShock("BTC", Decimal("0.1")),) * 2, None, "shocks[1].asset"),
        ((ev.PriceShock("XYZ", Decimal("0.1")),), None, "shocks[0].asset"),
        ((), Decimal("-1.5"), "securities_shock"),
    ],
)
def test_a_scenario_is_checked(
    shocks: tuple[ev.PriceShock, ...], index: Decimal | None, field: str
) -> None:
    with pytest.raises(InvalidArgument) as refused:
        stress.scenario("s", shocks, index)
    assert refused.value.violations[0].field == field


def test_the_summary_counts_states_and_lists_the_worst_first() -> None:
    def one(
        client: str, state: ImpliedState, u: str | None, shortfall: int
    ) -> stress.AccountStress:
        return stress.AccountStress(
            client, state, None if u is None else Decimal(u), 100, 100 - shortfall, shortfall
        )

    stressed = [
        one("A", ImpliedState.HEALTHY, "0.5", 0),  # flagged, but counts for nothing
        one("B", ImpliedState.WARNING, "0.95", 0),
        one("C", ImpliedState.MARGIN_CALL, "1.2", 0),
        one("D", ImpliedState.FORCED_SALE, None, 40),
        one("E", ImpliedState.FORCED_SALE, "2.5", 40),
        one("F", ImpliedState.FORCED_SALE, "1.4", 0),
    ]
    summary = stress.summarise(1_000, stressed, worst=4)
    assert (summary.accounts_tested, summary.valued_exactly) == (1_000, 6)
    assert (summary.warned, summary.called, summary.liquidated) == (1, 1, 3)
    assert (summary.short, summary.shortfall) == (2, 80)
    assert [s.client_id for s in summary.worst] == ["D", "E", "F", "C"]


def test_the_accounts_moved_out_of_healthy_are_listed_worst_first_with_their_state() -> None:
    stressed = [
        stress.AccountStress("A", ImpliedState.HEALTHY, Decimal("0.5"), 100, 100, 0),
        stress.AccountStress("H", ImpliedState.HEALTHY, Decimal("0.9"), 100, 70, 30),
        stress.AccountStress("B", ImpliedState.WARNING, Decimal("0.95"), 100, 200, 0),
        stress.AccountStress("D", ImpliedState.FORCED_SALE, None, 100, 60, 40),
        stress.AccountStress("C", ImpliedState.MARGIN_CALL, Decimal("1.2"), 100, 150, 0),
    ]
    summary = stress.summarise(10, stressed, worst=10)
    # Healthy though short: among the worst, not moved out of healthy.
    assert [s.client_id for s in summary.worst] == ["D", "H", "C", "B"]
    assert [(s.client_id, s.state) for s in summary.moved] == [
        ("D", ImpliedState.FORCED_SALE),
        ("C", ImpliedState.MARGIN_CALL),
        ("B", ImpliedState.WARNING),
    ]
    policy = DEFAULT_POLICY
    run = stress.stress_test_run(
        "R",
        stress.scenario("s", ()),
        policy,
        {},
        summary,
        now=NOW,
        book_position=7,
        requested_by="risk",
    )
    (page,) = stress.listed_pages("R", summary)
    assert (run.accounts_listed, run.account_pages) == (3, 1)
    assert (page.run_id, page.page) == ("R", 1)
    assert [(a.client_id, a.state, a.shortfall.minor) for a in page.accounts] == [
        ("D", "forced_sale", 40),
        ("C", "margin_call", 0),
        ("B", "warning", 0),
    ]
    assert [a.state for a in run.worst_accounts] == [
        "forced_sale",
        "healthy",
        "margin_call",
        "warning",
    ]


def test_the_listing_is_paged_and_capped_so_the_run_stays_one_append(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from harbour.eventstore.store import MAX_EVENTS_PER_APPEND

    assert stress.MAX_PAGES + 1 <= MAX_EVENTS_PER_APPEND  # the run and its pages
    assert stress.MAX_LISTED == stress.MAX_PAGES * stress.ACCOUNTS_PER_PAGE
    monkeypatch.setattr(stress, "ACCOUNTS_PER_PAGE", 2)
    monkeypatch.setattr(stress, "MAX_LISTED", 5)
    stressed = [
        stress.AccountStress(f"C{n}", ImpliedState.FORCED_SALE, None, 100, 100 - n, n)
        for n in range(1, 8)
    ]
    summary = stress.summarise(7, stressed)
    run = stress.stress_test_run(
        "R",
        stress.scenario("s", ()),
        DEFAULT_POLICY,
        {},
        summary,
        now=NOW,
        book_position=0,
        requested_by="",
    )
    pages = stress.listed_pages("R", summary)
    assert (run.accounts_liquidating, run.accounts_listed, run.account_pages) == (7, 5, 3)
    assert [p.page for p in pages] == [1, 2, 3]
    # Worst first across the pages; the two least bad are counted only.
    assert [[a.client_id for a in p.accounts] for p in pages] == [
        ["C7", "C6"],
        ["C5", "C4"],
        ["C3"],
    ]
