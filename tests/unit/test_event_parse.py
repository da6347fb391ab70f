"""A stored event's data is parsed to exactly what ``json.loads`` gives for any canonical JSON
the store writes (integers of any size, every string, nesting), and refuses what is not JSON
with a ValueError, as ``json.loads`` does."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harbour.eventstore.encoding import canonical_json
from harbour.eventstore.model import _parse

SCALARS = st.none() | st.booleans() | st.integers() | st.text()
DOCUMENTS = st.dictionaries(
    st.text(),
    st.recursive(
        SCALARS,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
        max_leaves=20,
    ),
    max_size=8,
)


@given(DOCUMENTS)
def test_parsed_as_json_loads_parses_it(document: dict[str, Any]) -> None:
    text = canonical_json(document)
    assert _parse(text) == json.loads(text) == document


@pytest.mark.parametrize("text", ["", "{", '{"a": NaN}', '{"a": 1} trailing'])
def test_what_is_not_json_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        _parse(text)
