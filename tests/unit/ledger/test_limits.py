"""The limits' pure decisions: one event per transition, on the right stream's state."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from harbour.ledger import events as ev
from harbour.ledger import limits
from harbour.ledger.account import MarginAccount, evolve
from harbour.ledger.exposure import BrokerExposure, evolve_exposure
from harbour.ledger.money import Money
from harbour.ledger.policy import DEFAULT_POLICY

NOW = datetime(2026, 11, 30, 9, tzinfo=UTC)
BASIS = ev.DecisionBasis(1, (), NOW)
POLICY = replace(
    DEFAULT_POLICY,
    broker_capital=Money.of("HKD", "100000.00"),  # total loans <= 500,000.00; BTC <= 200,000
    shareholders_funds=Money.of("HKD", "1000000.00"),  # a group <= 200,000.00
)


def hkd(text: str) -> Money:
    return Money.of("HKD", text)


def lent(*changes: tuple[str, str, str]) -> BrokerExposure:
    state = BrokerExposure()
    for client, group, amount in changes:
        change = ev.BrokerExposureChanged(client, group, hkd(amount), "advance", "r")
        state = evolve_exposure(state, change)
    return state


def btc(price: str) -> dict[str, ev.PricePoint]:
    return {"BTC": ev.PricePoint("BTC", "HKD", Decimal(price), NOW, "vendor")}


def test_a_broker_limit_is_breached_once_and_cleared_once() -> None:
    over = limits.broker_figures(lent(("C1", "C1", "500000.01")), {}, {}, POLICY)
    state = limits.BrokerLimits()
    [breach] = limits.decide_broker_limits(state, over, {}, BASIS, otherwise="draw")
    assert isinstance(breach, ev.BrokerLimitBreached)
    assert (breach.limit, breach.subject, breach.cause) == ("total_loans", "broker", "draw")
    state = limits.evolve_limits(state, breach)
    assert limits.decide_broker_limits(state, over, {}, BASIS) == []  # already recorded
    within = limits.broker_figures(lent(("C1", "C1", "500000.00")), {}, {}, POLICY)
    [cleared] = limits.decide_broker_limits(state, within, {}, BASIS, otherwise="repayment")
    assert isinstance(cleared, ev.BrokerLimitCleared) and cleared.cause == "repayment"
    assert limits.evolve_limits(state, cleared) == limits.BrokerLimits()


def test_asset_concentration_is_collateral_at_market_value_against_capital() -> None:
    held = {"BTC": 2 * 10**8}  # 2 BTC
    [_, figure, _eth] = limits.broker_figures(BrokerExposure(), held, btc("100000.005"), POLICY)
    assert (figure.kind, figure.subject) == ("asset_concentration", "BTC")
    assert figure.measured == hkd("200000.01")  # rounded up: never flatters the broker
    assert figure.limit == hkd("200000.00") and figure.breached
    assert figure.headroom == hkd("-0.01")
    causes = {("asset_concentration", "BTC"): "price"}
    [breach] = limits.decide_broker_limits(limits.BrokerLimits(), [figure], causes, BASIS)
    assert isinstance(breach, ev.BrokerLimitBreached) and breach.cause == "price"


def test_a_security_has_its_own_concentration_limit() -> None:
    policy = replace(POLICY, asset_exposure_limits={"0700.HK": Decimal("0.5")})
    prices = {"0700.HK": ev.PricePoint("0700.HK", "HKD", Decimal("400"), NOW, "hkex")}
    [_, figure] = limits.broker_figures(BrokerExposure(), {"0700.HK": 126}, prices, policy)
    assert (figure.kind, figure.measured, figure.limit) == (
        "security_concentration",
        hkd("50400.00"),
        hkd("50000.00"),
    )


def test_every_member_of_a_group_over_the_limit_is_flagged_on_its_own_stream() -> None:
    account = evolve(MarginAccount.initial("C1"), ev.ClientOnboarded("C1", "G1"))
    exposure = lent(("C1", "G1", "150000.00"), ("C2", "G1", "50000.01"))
    [breach] = limits.decide_client_limit(account, exposure, {}, POLICY, "group_change", BASIS)
    assert isinstance(breach, ev.ConcentrationLimitBreached)
    assert (breach.client_id, breach.subject, breach.exposure) == ("C1", "G1", hkd("200000.01"))
    flagged = evolve(account, breach)
    assert limits.decide_client_limit(flagged, exposure, {}, POLICY, "draw", BASIS) == []
    alone = evolve(flagged, ev.RelatedGroupChanged("C1", None))
    [cleared] = limits.decide_client_limit(alone, exposure, {}, POLICY, "group_change", BASIS)
    assert isinstance(cleared, ev.ConcentrationLimitCleared) and cleared.subject == "C1"


def test_a_group_change_carries_the_principal_over_once() -> None:
    account = evolve(MarginAccount.initial("C1"), ev.ClientOnboarded("C1", None))
    account = replace(account, principal=account.principal.add("HKD", 30_000_000))
    moves = limits.group_move(account, ev.RelatedGroupChanged("C1", "G1"), "ref")
    assert [(m.group_id, m.change) for m in moves] == [
        ("C1", hkd("-300000.00")),
        ("G1", hkd("300000.00")),
    ]
    assert limits.group_move(account, ev.RelatedGroupChanged("C1", None), "ref") == []


def test_old_concentration_events_decode_with_the_new_fields_defaulted() -> None:
    name, version, data = ev.encode(
        ev.ConcentrationLimitBreached("C1", "single_client", hkd("2"), hkd("1"))
    )
    old = {k: v for k, v in data.items() if k not in ("subject", "cause", "basis")}
    decoded = ev.decode(name, version, old)
    assert isinstance(decoded, ev.ConcentrationLimitBreached)
    assert (decoded.subject, decoded.cause, decoded.basis) == ("", "", None)


def test_a_version_moves_only_the_limits_whose_amount_it_changed() -> None:
    assert limits.limits_moved(None, POLICY) == frozenset()  # a start: nothing was measured
    assert limits.limits_moved(POLICY, replace(POLICY, version=POLICY.version + 1)) == set()
    cut = replace(POLICY, broker_capital=hkd("79000.00"))  # every limit against capital
    assert limits.limits_moved(POLICY, cut) == {
        ("total_loans", "broker"),
        *((limits.concentration_kind(code), code) for code in POLICY.asset_exposure_limits),
    }
    funds = replace(POLICY, shareholders_funds=hkd("900000.00"))  # every group's limit
    assert limits.limits_moved(POLICY, funds) == {("single_client", "")}
    dropped = replace(POLICY, asset_exposure_limits={"0700.HK": Decimal("0.5")})
    assert limits.limits_moved(POLICY, dropped) == {
        (limits.concentration_kind(code), code)
        for code in {*POLICY.asset_exposure_limits, "0700.HK"}
    }


def test_a_flip_the_version_alone_makes_is_put_down_to_the_broker_figures() -> None:
    # Capital restored and a price tick read in one round: on the last decision's inputs the
    # new policy alone clears the limit, so the clearance says broker_figures.
    state = limits.evolve_limits(
        limits.BrokerLimits(),
        ev.BrokerLimitBreached("total_loans", "broker", hkd("1"), hkd("0"), "draw", BASIS),
    )
    book = lent(("C1", "C1", "400000.00"))
    restored = limits.broker_figures(book, {}, btc("510000"), POLICY)
    policy_only = limits.broker_figures(book, {}, btc("500000"), POLICY)
    causes = {("total_loans", "broker"): "price"}
    [cleared] = limits.decide_broker_limits(state, restored, causes, BASIS, policy_only=policy_only)
    assert isinstance(cleared, ev.BrokerLimitCleared) and cleared.cause == "broker_figures"


def test_a_flip_the_price_makes_under_a_new_limit_is_put_down_to_the_price() -> None:
    # A new BTC limit of exactly what is held, and a price rise in the same round: on the last
    # decision's inputs the new limit is not exceeded, so the price breached it.
    policy = replace(POLICY, asset_exposure_limits={"BTC": Decimal("2")})  # 200,000.00
    held = {"BTC": 2 * 10**8}
    now = limits.broker_figures(BrokerExposure(), held, btc("100000.01"), policy)
    policy_only = limits.broker_figures(BrokerExposure(), held, btc("100000"), policy)
    causes = {("asset_concentration", "BTC"): "price"}
    [breach] = limits.decide_broker_limits(
        limits.BrokerLimits(), now, causes, BASIS, otherwise="recheck", policy_only=policy_only
    )
    assert isinstance(breach, ev.BrokerLimitBreached)
    assert (breach.subject, breach.cause) == ("BTC", "price")


def test_a_group_is_flipped_by_a_version_only_when_the_new_limit_alone_flips_it() -> None:
    book = lent(("C1", "G1", "150000.00"), ("C2", "G2", "250000.00"))  # limit 200,000.00
    cut = replace(POLICY, shareholders_funds=hkd("800000.00"))  # limit 160,000.00
    prices: dict[str, ev.PricePoint] = {}
    assert limits.groups_flipped_by_policy(book, ["G1", "G2"], prices, POLICY, cut) == set()
    deeper = replace(POLICY, shareholders_funds=hkd("700000.00"))  # limit 140,000.00
    assert limits.groups_flipped_by_policy(book, ["G1", "G2"], prices, POLICY, deeper) == {"G1"}
    assert limits.groups_flipped_by_policy(book, ["G1", "G2"], prices, deeper, POLICY) == {"G1"}
    same = replace(POLICY, broker_capital=hkd("1.00"))  # no group limit moved
    assert limits.groups_flipped_by_policy(book, ["G1", "G2"], prices, POLICY, same) == set()
