"""How an event stored in an older shape reads in today's: the vocabulary's upcasting steps.

Stored events are never rewritten (the hash chain covers their bytes). When an event type's
fields change, its ``SCHEMA_VERSION`` in ``harbour.ledger.events`` goes up by one and a step
``(type, old version) -> function(old data) -> new data`` is added here; reading applies the
steps in order until the current version. Steps are pure functions over JSON-safe dicts, so
they live with the vocabulary they describe; the runtime hands them to the event store
(``harbour.runtime.upcasting``) and every read — commands, projections, replay, audit — goes
through the same chain.

A step must be total over what was ever stored in its version and must not invent facts: a
field that did not exist is given the value that is true of every old event (or the old
event's meaning expressed in the new shape), never a guess.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Step = Callable[[dict[str, Any]], dict[str, Any]]


def stress_test_run_v2(data: dict[str, Any]) -> dict[str, Any]:
    """StressTestRun v1 -> v2. A v1 run listed no account in pages (``accounts_listed`` and
    ``account_pages`` 0: every account out of healthy counted only) and recorded no state
    for its worst accounts (``state`` "": not recorded — a rounded utilisation cannot say
    which side of a threshold the exact figures were)."""
    upgraded = dict(data)
    upgraded["accounts_listed"] = 0
    upgraded["account_pages"] = 0
    upgraded["worst_accounts"] = [
        {**account, "state": ""} for account in data.get("worst_accounts", ())
    ]
    return upgraded


# (event type, the version a step reads) -> the step to the next version;
# ``tests/unit/ledger/test_upcasters.py`` holds this map and ``SCHEMA_VERSION`` to each other.
STEPS: Mapping[tuple[str, int], Step] = {
    ("StressTestRun", 1): stress_test_run_v2,
}
