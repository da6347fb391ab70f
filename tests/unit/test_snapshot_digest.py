"""The snapshot signature built around a state's JSON equals the one over the whole description."""

from __future__ import annotations

from typing import Any

import pytest

from harbour.eventstore.encoding import canonical_json
from harbour.eventstore.snapshots import sealed_digest, snapshot_digest

KEY = b"k" * 32


@pytest.mark.parametrize(
    "state",
    [
        {},
        {"total": {"HKD": "1.00"}, "by_group": {"G-1": {"BTC": "0.5"}, "ä-ü": {"HKD": "-2.00"}}},
        {"text": 'quotes " and \\ and \u2028', "n": [1, 2, {"z": None, "a": True}]},
    ],
)
def test_sealed_digest_equals_the_digest_of_the_whole_description(state: dict[str, Any]) -> None:
    for stream, version, shape in (("broker-exposure", 10_000, 3), ("account-C-1", 1, 7)):
        described: dict[str, Any] = {
            "stream_id": stream,
            "version": version,
            "schema_version": shape,
            "event_hash": bytes(range(32)),
        }
        whole = snapshot_digest(KEY, **described, state=state)
        sealed = sealed_digest(KEY, **described, state_json=canonical_json(state))
        assert sealed == whole


def test_the_digest_covers_the_state() -> None:
    one = sealed_digest(
        KEY, stream_id="s", version=1, schema_version=1, event_hash=b"h", state_json='{"a":1}'
    )
    other = sealed_digest(
        KEY, stream_id="s", version=1, schema_version=1, event_hash=b"h", state_json='{"a":2}'
    )
    assert one != other
