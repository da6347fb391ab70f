"""The closed error vocabulary, identifiers, and the kernel's purity."""

from __future__ import annotations

import ast
import inspect
import re
import sys
from pathlib import Path

import pytest

from harbour.ledger import errors
from harbour.ledger.errors import (
    ALL_ERRORS,
    Category,
    DomainError,
    InsufficientBalance,
    InvalidArgument,
    MalformedIdentifier,
    NotFound,
    PermissionDenied,
    TooManyDecimals,
)
from harbour.ledger.ids import account_stream, client_id

LEDGER = Path(errors.__file__).parent
SNAKE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")


def test_reasons_are_unique_snake_case() -> None:
    reasons = [cls.reason for cls in ALL_ERRORS]
    assert len(reasons) == len(set(reasons)), sorted(reasons)
    for reason in reasons:
        assert SNAKE.match(reason), reason


def test_every_error_class_is_listed() -> None:
    defined = {
        cls
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, DomainError) and cls is not DomainError
    }
    assert defined == set(ALL_ERRORS)


def test_categories_follow_the_hierarchy() -> None:
    for cls in ALL_ERRORS:
        if issubclass(cls, InvalidArgument):
            assert cls.category is Category.INVALID_ARGUMENT
        if issubclass(cls, NotFound):
            assert cls.category is Category.NOT_FOUND
        if issubclass(cls, PermissionDenied):
            assert cls.category is Category.PERMISSION_DENIED
    assert InsufficientBalance.category is Category.FAILED_PRECONDITION
    assert InsufficientBalance.reason == "insufficient_balance"


def test_for_field_keeps_the_subclass() -> None:
    error = TooManyDecimals.for_field("amount", "HKD allows at most 2 decimals")
    assert isinstance(error, TooManyDecimals)
    assert error.violations[0].field == "amount"
    assert str(error) == "amount: HKD allows at most 2 decimals"


@pytest.mark.parametrize("bad", ["", "a b", "a:b", "-x", "x" * 65, "C1\n", 5, None])
def test_client_ids_are_checked(bad: object) -> None:
    with pytest.raises(MalformedIdentifier):
        client_id(bad)


def test_account_stream() -> None:
    assert account_stream("C-1") == "account-C-1"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


# Pure data-structure libraries the kernel may use: no I/O, no clock, no global state.
PURE_LIBRARIES = {"pyrsistent"}  # persistent maps for the broker's exposure per group


@pytest.mark.parametrize("path", sorted(LEDGER.glob("*.py")), ids=lambda p: p.name)
def test_the_kernel_imports_only_the_standard_library(path: Path) -> None:
    for module in _imports(path):
        top = module.split(".")[0]
        allowed = top in sys.stdlib_module_names or top in PURE_LIBRARIES
        assert allowed or module.startswith("harbour.ledger"), module


@pytest.mark.parametrize("path", sorted(LEDGER.glob("*.py")), ids=lambda p: p.name)
def test_the_kernel_never_reads_the_clock_or_uses_floats(path: Path) -> None:
    text = path.read_text()
    for forbidden in (".now(", ".utcnow(", ".today(", "time.time(", "float("):
        assert forbidden not in text, forbidden
