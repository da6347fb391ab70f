"""The canonical text of a value is ``json.dumps(sort_keys=True, separators=(",", ":"),
ensure_ascii=False)``'s, byte for byte, whichever encoder writes it: hashes, fingerprints and
stored events written before msgspec took over the plain values must still match."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harbour.eventstore.encoding import canonical_json, canonical_object
from harbour.eventstore.errors import InvalidAppend

# Every string hypothesis makes (control characters, quotes, backslashes, astral characters,
# lone surrogates), integers on both sides of the 64-bit range, nesting.
SCALARS = st.none() | st.booleans() | st.integers() | st.text()
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=30,
)


def reference(value: Any) -> bytes | None:
    """json's text as UTF-8; None when it has no UTF-8 (a lone surrogate)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return None


def written(value: Any) -> bytes | None:
    try:
        return canonical_json(value).encode("utf-8")
    except UnicodeEncodeError:
        return None


@settings(max_examples=200)  # the suite runs under 15 minutes on 2 cores: ~4 s
@given(st.dictionaries(st.text(), VALUES, max_size=8) | st.lists(VALUES, max_size=8))
def test_the_text_is_jsons_for_every_json_value(value: Any) -> None:
    assert written(value) == reference(value)


@given(st.dictionaries(st.text(), VALUES, max_size=8))
def test_an_object_checked_and_encoded_at_once_is_the_same_text(value: dict[str, Any]) -> None:
    try:
        text = canonical_object(value, "data").encode("utf-8")
    except (InvalidAppend, UnicodeEncodeError):
        return  # refused: an integer past 64 bits or a NUL, as check_json_object refuses
    assert text == reference(value)


def test_keys_sort_by_code_point_and_strings_escape_as_json_does() -> None:
    value = {"\U0001f600": 1, "\uffff": 2, "\ue000": 3, "z": [True, None], "é": 'a"\\\n\x01\x7f'}
    assert written(value) == reference(value)
    assert canonical_json(value).startswith('{"z":[true,null],"é":"a\\"\\\\\\n\\u0001\x7f"')


def test_what_is_not_plain_json_is_written_or_refused_by_json_as_before() -> None:
    # A float is written as json writes it (the store refuses floats before this point); a
    # Decimal is refused here as it always was — never silently turned into a string.
    assert canonical_json({"x": 1.5, "y": (1, 2)}) == '{"x":1.5,"y":[1,2]}'
    with pytest.raises(TypeError):
        canonical_json({"amount": Decimal("1.50")})
    with pytest.raises(InvalidAppend, match="floats are not allowed"):
        canonical_object({"x": 1.5}, "data")
