"""JSON codec for the ledger's frozen dataclasses (events and snapshots), driven by type hints.

Encoding is exact and JSON-safe for the event store (which refuses floats): amounts travel as
``{"asset": "HKD", "amount": "12.50"}``, journals as arrays of postings with decimal-string
amounts, ``Decimal`` as plain decimal text, datetimes as ISO-8601 UTC with microseconds, dates
as ``YYYY-MM-DD``, enums by value. Plain ``int`` fields are counts and versions, never money.
Decoding is strict: a missing or unknown key or a wrong type is an error, because stored data
that does not match its schema is a bug to surface, not to paper over.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, TypeVar

from harbour.ledger import postings
from harbour.ledger.assets import asset
from harbour.ledger.balances import Balances
from harbour.ledger.errors import DomainError
from harbour.ledger.money import Money, format_decimal, format_minor, parse_signed_amount

T = TypeVar("T")


class DecodeError(ValueError):
    """Stored JSON that does not fit the shape its type and schema version promise."""


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = typing.get_type_hints(cls)
    return hints


def _fields(cls: type) -> tuple[dataclasses.Field[Any], ...]:
    return dataclasses.fields(cls)


def timestamp(moment: datetime) -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}: time in the ledger is always aware")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def encode_value(value: Any) -> Any:
    """The JSON-safe form of one value (its type decides; see the module docstring)."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal):
        return format_decimal(value)
    if isinstance(value, datetime):  # before date: a datetime is a date
        return timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Money):
        return {"asset": value.asset.code, "amount": format_minor(value.asset, value.minor)}
    if isinstance(value, postings.Journal):
        return postings.to_json(value)
    if isinstance(value, Balances):
        return {code: format_minor(asset(code), minor) for code, minor in value}
    if isinstance(value, tuple):
        return [encode_value(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return encode_dataclass(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def encode_dataclass(obj: Any) -> dict[str, Any]:
    return {f.name: encode_value(getattr(obj, f.name)) for f in _fields(type(obj))}


def _expect(data: Any, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(data, kind) or (isinstance(data, bool) and kind is int):
        raise DecodeError(f"{where}: expected {kind}, got {type(data).__name__}")
    return data


def decode_value(hint: Any, data: Any, where: str) -> Any:
    """The value of type ``hint`` encoded as ``data`` (``where`` names it in errors)."""
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if data is None and len(options) < len(typing.get_args(hint)):
            return None
        if len(options) != 1:
            raise TypeError(f"{where}: only X | None unions are supported")
        return decode_value(options[0], data, where)
    if origin is tuple:
        args = typing.get_args(hint)
        if len(args) != 2 or args[1] is not Ellipsis:
            raise TypeError(f"{where}: only tuple[X, ...] is supported")
        items = _expect(data, list, where)
        return tuple(decode_value(args[0], x, f"{where}[{i}]") for i, x in enumerate(items))
    try:
        return _decode_plain(hint, data, where)
    except DecodeError:
        raise
    except (ValueError, ArithmeticError, DomainError) as exc:
        # A malformed amount or unknown asset in stored data is corruption, not a bad request.
        raise DecodeError(f"{where}: {exc}") from exc


def _decode_plain(hint: Any, data: Any, where: str) -> Any:
    if hint is bool:
        return _expect(data, bool, where)
    if hint is int:
        return _expect(data, int, where)
    if hint is str:
        return _expect(data, str, where)
    if hint is Decimal:
        value = Decimal(_expect(data, str, where))
        if not value.is_finite():
            raise DecodeError(f"{where}: not a finite decimal")
        return value
    if hint is datetime:
        moment = datetime.fromisoformat(_expect(data, str, where))
        if moment.tzinfo is None:
            raise DecodeError(f"{where}: timestamp without a time zone")
        return moment.astimezone(UTC)
    if hint is date:
        return date.fromisoformat(_expect(data, str, where))
    if isinstance(hint, type) and issubclass(hint, Enum):
        return hint(data)
    if hint is Money:
        obj = _expect(data, dict, where)
        if set(obj) != {"asset", "amount"}:
            raise DecodeError(f"{where}: an amount has exactly asset and amount")
        return parse_signed_amount(asset(obj["asset"]), obj["amount"], where)
    if hint is postings.Journal:
        return postings.from_json(data)
    if hint is Balances:
        obj = _expect(data, dict, where)
        return Balances.of(
            {
                code: parse_signed_amount(asset(code), text, where).minor
                for code, text in obj.items()
            }
        )
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return decode_dataclass(hint, data, where)
    raise TypeError(f"{where}: cannot decode into {hint!r}")


def decode_dataclass(cls: type[T], data: Any, where: str = "") -> T:
    obj = _expect(data, dict, where or cls.__name__)
    hints = _hints(cls)
    names = {f.name for f in _fields(cls)}
    unknown = set(obj) - names
    if unknown:
        raise DecodeError(f"{where or cls.__name__}: unknown fields {sorted(unknown)}")
    values: dict[str, Any] = {}
    for f in _fields(cls):
        path = f"{where}.{f.name}" if where else f.name
        if f.name in obj:
            values[f.name] = decode_value(hints[f.name], obj[f.name], path)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise DecodeError(f"{path}: missing")
    try:
        return cls(**values)
    except (ValueError, TypeError) as exc:
        raise DecodeError(f"{where or cls.__name__}: {exc}") from exc
