"""The vocabulary's upcasting steps and its schema versions say the same thing: every type at
version n > 1 has one step from each of 1 .. n-1, and no step reaches past the current one."""

from __future__ import annotations

import pytest

from harbour.eventstore.upcasting import Upcasters
from harbour.ledger import events as ev
from harbour.ledger.codec import DecodeError
from harbour.ledger.upcasters import STEPS
from harbour.runtime.upcasting import vocabulary_upcasters


def test_every_schema_version_above_one_has_its_chain_of_steps() -> None:
    for event_type, current in ev.SCHEMA_VERSION.items():
        expected = {(event_type, v) for v in range(1, current)}
        assert {k for k in STEPS if k[0] == event_type} == expected, event_type
    assert {t for t, _ in STEPS} <= set(ev.EVENT_TYPES)


def test_the_runtime_chains_steps_to_the_current_version() -> None:
    def step(name: str):  # type: ignore[no-untyped-def]
        return lambda data: {**data, "seen": [*data.get("seen", []), name]}

    upcasters = vocabulary_upcasters({("X", 2): step("2->3"), ("X", 1): step("1->2")})
    assert isinstance(upcasters, Upcasters) and upcasters.current_version("X") == 3
    assert upcasters("X", 1, {})["seen"] == ["1->2", "2->3"]
    assert upcasters("X", 3, {"a": 1}) == {"a": 1}
    with pytest.raises(ValueError, match="already has an upcaster"):
        Upcasters().register("X", 1, step("a")) or None
        upcasters.register("X", 1, step("again"))


def test_a_v1_stress_test_run_reads_as_v2_listing_nobody() -> None:
    v1 = {
        "run_id": "ST-1",
        "scenario": "crypto_winter",
        "shocks": [{"asset": "BTC", "change": "-0.30"}],
        "policy_version": 2,
        "run_at": "2026-12-03T09:30:00.000000Z",
        "accounts_tested": 200,
        "accounts_in_margin_call": 7,
        "accounts_liquidating": 3,
        "total_shortfall": {"asset": "HKD", "amount": "12.34"},
        "accounts_warned": 5,
        "worst_accounts": [
            {
                "client_id": "C1",
                "utilisation": None,
                "debt": {"asset": "HKD", "amount": "100.00"},
                "shortfall": {"asset": "HKD", "amount": "12.34"},
            }
        ],
    }
    upcasters = vocabulary_upcasters()
    assert ev.SCHEMA_VERSION["StressTestRun"] == upcasters.current_version("StressTestRun") == 2
    with pytest.raises(DecodeError):  # v1's worst accounts have no state: upcast first
        ev.decode("StressTestRun", 2, v1)
    run = ev.decode("StressTestRun", 2, upcasters("StressTestRun", 1, v1))
    assert isinstance(run, ev.StressTestRun)
    assert (run.accounts_listed, run.account_pages) == (0, 0)
    assert [(w.client_id, w.state) for w in run.worst_accounts] == [("C1", "")]
    assert (run.accounts_warned, run.accounts_in_margin_call, run.accounts_liquidating) == (5, 7, 3)
    assert v1["worst_accounts"][0].keys() == {"client_id", "utilisation", "debt", "shortfall"}
