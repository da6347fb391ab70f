"""The vocabulary's upcasting steps and its schema versions say the same thing: every type at
version n > 1 has one step from each of 1 .. n-1, and no step reaches past the current one."""

from __future__ import annotations

import pytest

from harbour.eventstore.upcasting import Upcasters
from harbour.ledger import events as ev
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
