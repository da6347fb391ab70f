"""The broker-wide limits on the ``broker-exposure`` stream: total loans and single client.

The default policy: capital HKD 100,000,000.00 x 5 = total loans limit HKD 500,000,000.00;
shareholders' funds HKD 120,000,000.00 x 20% = single client (or group) limit
HKD 24,000,000.00.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from types import MappingProxyType

import pytest

from harbour.ledger import events as ev
from harbour.ledger.account import MarginAccount, replay
from harbour.ledger.assets import HKD, USD, USDT
from harbour.ledger.balances import Balances
from harbour.ledger.codec import DecodeError
from harbour.ledger.errors import BrokerLimitExceeded, ConcentrationLimitExceeded, PriceUnavailable
from harbour.ledger.exposure import (
    EXPOSURE_STREAM,
    BrokerExposure,
    LimitFigures,
    check_broker_limits,
    evolve_exposure,
    exposure_change,
    from_snapshot,
    group_of,
    replay_exposure,
    to_snapshot,
)
from harbour.ledger.money import Money
from harbour.ledger.policy import DEFAULT_POLICY

POLICY = DEFAULT_POLICY
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TOTAL_LIMIT = 50_000_000_000  # HKD 500,000,000.00 in cents
GROUP_LIMIT = 2_400_000_000  # HKD 24,000,000.00 in cents


def hkd(minor: int) -> Money:
    return Money(HKD, minor)


def usd(minor: int) -> Money:
    return Money(USD, minor)


def usd_price(price: str) -> dict[str, ev.PricePoint]:
    return {"USD": ev.PricePoint("USD", "HKD", Decimal(price), NOW, "test")}


def client(client_id: str, group: str | None = None) -> MarginAccount:
    return replay(client_id, [ev.ClientOnboarded(client_id, group)])


def state_of(*events: ev.Event) -> BrokerExposure:
    state = BrokerExposure.of_stream(EXPOSURE_STREAM)
    for event in events:
        state = evolve_exposure(state, event)
    return state


def exposure(total: dict[str, int], groups: dict[str, dict[str, int]]) -> BrokerExposure:
    return BrokerExposure(
        Balances.of(total),
        MappingProxyType({group: Balances.of(amounts) for group, amounts in groups.items()}),
    )


def test_the_policy_limits_are_as_the_module_docstring_says() -> None:
    assert POLICY.total_loans_limit == hkd(TOTAL_LIMIT)
    assert POLICY.single_client_limit_amount == hkd(GROUP_LIMIT)


# --------------------------------------------------------------------------- evolve


def test_the_empty_stream() -> None:
    state = BrokerExposure.of_stream(EXPOSURE_STREAM)
    assert state.total.is_zero
    assert dict(state.by_group) == {}
    assert state == BrokerExposure()


def test_evolve_sums_by_currency_and_group() -> None:
    a, b, c = client("C-1", "G-1"), client("C-2", "G-1"), client("C-3")
    state = state_of(
        exposure_change(a, hkd(100_000), "advance", "r1"),
        exposure_change(b, hkd(50_000), "advance", "r2"),
        exposure_change(b, usd(2_000), "advance", "r3"),
        exposure_change(c, hkd(70_000), "advance", "r4"),
        exposure_change(a, hkd(-30_000), "repayment", "r5"),
        exposure_change(c, hkd(15), "capitalisation", "r6"),
    )
    # HKD: 100,000 + 50,000 + 70,000 - 30,000 + 15 = 190,015 cents; USD 2,000 cents
    assert state.total == Balances.of({"HKD": 190_015, "USD": 2_000})
    # G-1: HKD 100,000 + 50,000 - 30,000 = 120,000 and USD 2,000; C-3 is its own group
    assert dict(state.by_group) == {
        "G-1": Balances.of({"HKD": 120_000, "USD": 2_000}),
        "C-3": Balances.of({"HKD": 70_015}),
    }


def test_a_group_repaid_in_full_disappears_and_other_events_change_nothing() -> None:
    a = client("C-1")
    state = state_of(
        exposure_change(a, hkd(100), "advance", "r1"),
        ev.PriceObserved("USD", "HKD", Decimal("7.8"), NOW, "feed"),
        ev.ClientOnboarded("C-9", None),
        exposure_change(a, hkd(-100), "repayment", "r2"),
    )
    assert state == BrokerExposure()


def test_group_of_and_exposure_change() -> None:
    assert group_of(client("C-1", "G-7")) == "G-7"
    assert group_of(client("C-1")) == "C-1"
    event = exposure_change(client("C-1", "G-7"), hkd(-500), "repayment", "req-1")
    assert event == ev.BrokerExposureChanged("C-1", "G-7", hkd(-500), "repayment", "req-1")


# --------------------------------------------------------------------------- the total limit


def test_total_exactly_at_the_limit_passes() -> None:
    # 499,999,000.00 outstanding + 1,000.00 = 500,000,000.00: at the limit, not above it
    state = exposure({"HKD": TOTAL_LIMIT - 100_000}, {})
    figures = check_broker_limits(state, "C-1", hkd(100_000), {}, POLICY)
    assert figures == LimitFigures(
        total_after=hkd(TOTAL_LIMIT),
        total_limit=hkd(TOTAL_LIMIT),
        group_after=hkd(100_000),
        group_limit=hkd(GROUP_LIMIT),
    )


def test_total_one_cent_over_the_limit_is_refused() -> None:
    state = exposure({"HKD": TOTAL_LIMIT - 100_000}, {})
    with pytest.raises(BrokerLimitExceeded) as refused:
        check_broker_limits(state, "C-1", hkd(100_001), {}, POLICY)
    assert str(refused.value) == (
        "total margin loans would be 500,000,000.01 HKD, above 5 x capital = 500,000,000.00 HKD"
    )


# --------------------------------------------------------------------------- the group limit


def test_group_exactly_at_the_limit_passes() -> None:
    # 23,999,000.00 + 1,000.00 = 24,000,000.00
    state = exposure({"HKD": GROUP_LIMIT - 100_000}, {"C-1": {"HKD": GROUP_LIMIT - 100_000}})
    figures = check_broker_limits(state, "C-1", hkd(100_000), {}, POLICY)
    assert figures.group_after == hkd(GROUP_LIMIT)
    assert figures.total_after == hkd(GROUP_LIMIT)


def test_group_one_cent_over_the_limit_is_refused() -> None:
    state = exposure({"HKD": GROUP_LIMIT - 100_000}, {"C-1": {"HKD": GROUP_LIMIT - 100_000}})
    with pytest.raises(ConcentrationLimitExceeded) as refused:
        check_broker_limits(state, "C-1", hkd(100_001), {}, POLICY)
    message = str(refused.value)
    assert "C-1" in message
    assert "24,000,000.01 HKD" in message
    assert "above 20% of shareholders' funds = 24,000,000.00 HKD" in message


def test_a_related_group_aggregates_its_clients() -> None:
    a, b, c = client("C-1", "G-1"), client("C-2", "G-1"), client("C-3")
    # Each of A and B owes 12,000,000.00: alone under the limit, together exactly at it.
    state = state_of(
        exposure_change(a, hkd(GROUP_LIMIT // 2), "advance", "r1"),
        exposure_change(b, hkd(GROUP_LIMIT // 2), "advance", "r2"),
    )
    with pytest.raises(ConcentrationLimitExceeded):
        check_broker_limits(state, group_of(a), hkd(1), {}, POLICY)
    with pytest.raises(ConcentrationLimitExceeded):
        check_broker_limits(state, group_of(b), hkd(1), {}, POLICY)
    # A client outside the group still has its own headroom.
    figures = check_broker_limits(state, group_of(c), hkd(1), {}, POLICY)
    assert figures.group_after == hkd(1)
    assert figures.total_after == hkd(GROUP_LIMIT + 1)


# --------------------------------------------------------------------------- currencies


def test_usd_is_converted_at_its_price_rounding_up() -> None:
    # Group: HKD 1,000.00 and USD 1,000.00 owed; advancing USD 0.01 more -> USD 1,000.01
    # = 100,001 cents x 7.7777 = 777,777.7777 cents -> rounded up 777,778 = HKD 7,777.78;
    # group after = 100,000 + 777,778 = 877,778 cents = HKD 8,777.78.
    # Total adds another client's HKD 500.00: 877,778 + 50,000 = 927,778 cents.
    state = exposure(
        {"HKD": 150_000, "USD": 100_000},
        {"G-1": {"HKD": 100_000, "USD": 100_000}, "C-9": {"HKD": 50_000}},
    )
    figures = check_broker_limits(state, "G-1", usd(1), usd_price("7.7777"), POLICY)
    assert figures.group_after == hkd(877_778)
    assert figures.total_after == hkd(927_778)


def test_each_currency_rounds_up_on_its_own() -> None:
    # USD 0.01 at 7.8001 = 7.8001 cents -> 8; USDT 0.000001 at 7.8 = 0.00078 cents -> 1
    state = exposure({"USD": 1, "USDT": 1}, {"G-1": {"USD": 1, "USDT": 1}})
    prices = {
        **usd_price("7.8001"),
        "USDT": ev.PricePoint("USDT", "HKD", Decimal("7.8"), NOW, "test"),
    }
    figures = check_broker_limits(state, "G-1", Money(USDT, 0), prices, POLICY)
    assert figures.group_after == hkd(9)


def test_a_usd_advance_over_the_group_limit_is_refused() -> None:
    # Limit 2,400,000,000 cents / 7.8 = 307,692,307.69... USD cents: USD 3,076,923.07
    # converts to 307,692,307 x 7.8 = 2,399,999,994.6 -> 2,399,999,995 cents (passes);
    # USD 3,076,923.08 converts to 2,400,000,002.4 -> 2,400,000,003 cents (refused).
    empty = BrokerExposure()
    prices = usd_price("7.8")
    figures = check_broker_limits(empty, "C-1", usd(307_692_307), prices, POLICY)
    assert figures.group_after == hkd(2_399_999_995)
    with pytest.raises(ConcentrationLimitExceeded):
        check_broker_limits(empty, "C-1", usd(307_692_308), prices, POLICY)


def test_a_missing_usd_price_is_unavailable() -> None:
    state = exposure({"USD": 100}, {"G-1": {"USD": 100}})
    with pytest.raises(PriceUnavailable):
        check_broker_limits(state, "G-1", hkd(100), {}, POLICY)
    # A USD advance on an empty book needs the price too.
    with pytest.raises(PriceUnavailable):
        check_broker_limits(BrokerExposure(), "G-1", usd(100), {}, POLICY)


def test_hkd_alone_needs_no_price() -> None:
    figures = check_broker_limits(BrokerExposure(), "C-1", hkd(100), {}, POLICY)
    assert figures.total_after == hkd(100)


def test_a_price_of_the_wrong_pair_is_a_bug() -> None:
    state = exposure({"USD": 100}, {"G-1": {"USD": 100}})
    wrong = {"USD": ev.PricePoint("USDT", "HKD", Decimal("7.8"), NOW, "test")}
    with pytest.raises(ValueError):
        check_broker_limits(state, "G-1", usd(1), wrong, POLICY)


# --------------------------------------------------------------------------- reductions


def test_a_repayment_is_never_refused_even_above_a_lowered_limit() -> None:
    # Capital lowered to HKD 1,000,000.00 (total limit 5,000,000.00) and shareholders' funds
    # to HKD 1,000,000.00 (group limit 200,000.00), with HKD 10,000,000.00 outstanding.
    lowered = replace(
        POLICY,
        broker_capital=hkd(100_000_000),
        shareholders_funds=hkd(100_000_000),
    )
    state = exposure({"HKD": 1_000_000_000}, {"C-1": {"HKD": 1_000_000_000}})
    figures = check_broker_limits(state, "C-1", hkd(-100_000), {}, lowered)
    assert figures == LimitFigures(
        total_after=hkd(999_900_000),
        total_limit=hkd(500_000_000),
        group_after=hkd(999_900_000),
        group_limit=hkd(20_000_000),
    )
    # An increase in the same state is refused.
    with pytest.raises(BrokerLimitExceeded):
        check_broker_limits(state, "C-1", hkd(1), {}, lowered)


def test_a_repayment_is_never_refused_for_want_of_a_price() -> None:
    state = exposure({"HKD": 100, "USD": 500}, {"G-1": {"HKD": 100, "USD": 500}})
    figures = check_broker_limits(state, "G-1", usd(-200), {}, POLICY)
    # The unpriced USD is left out: the figures are a lower bound.
    assert figures.total_after == hkd(100)
    assert figures.group_after == hkd(100)


# --------------------------------------------------------------------------- snapshots


def test_a_snapshot_round_trips_and_a_foreign_shape_is_refused() -> None:
    a, c = client("C-1", "G-1"), client("C-3")
    state = state_of(
        exposure_change(a, hkd(100_000), "advance", "r1"),
        exposure_change(a, Money(USDT, 1_500_000), "advance", "r2"),
        exposure_change(c, hkd(70_000), "advance", "r3"),
    )
    data = to_snapshot(state)
    assert json.loads(json.dumps(data)) == data
    assert data["total"] == {"HKD": "1700.00", "USDT": "1.500000"}
    assert from_snapshot(data) == state
    for bad in ({}, {**data, "snapshot_version": 0}, {**data, "extra": 1}, [data]):
        with pytest.raises(DecodeError):
            from_snapshot(bad)


def test_replay_equals_the_fold_of_evolve() -> None:
    a, b, c = client("C-1", "G-1"), client("C-2", "G-1"), client("C-3")
    history: list[ev.Event] = [
        exposure_change(a, hkd(100_000), "advance", "r1"),
        exposure_change(b, usd(2_000), "advance", "r2"),
        ev.ClientOnboarded("C-9", None),
        exposure_change(c, hkd(70_000), "advance", "r3"),
        exposure_change(c, hkd(-70_000), "repayment", "r4"),
    ]
    assert replay_exposure(history) == state_of(*history)
    assert replay_exposure(history[2:], state_of(*history[:2])) == state_of(*history)
    assert "C-3" not in replay_exposure(history).by_group
