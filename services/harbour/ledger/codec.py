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
from collections.abc import Callable
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


_FIELDS: dict[type, tuple[dataclasses.Field[Any], ...]] = {}


def _fields(cls: type) -> tuple[dataclasses.Field[Any], ...]:
    found = _FIELDS.get(cls)
    if found is None:
        found = _FIELDS[cls] = dataclasses.fields(cls)
    return found


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
        return _money_json(value)
    if isinstance(value, postings.Journal):
        return postings.to_json(value)
    if isinstance(value, Balances):
        return _balances_json(value)
    if isinstance(value, tuple):
        return [encode_value(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return encode_dataclass(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def _money_json(value: Money) -> dict[str, str]:
    return {"asset": value.asset.code, "amount": format_minor(value.asset, value.minor)}


def _balances_json(value: Balances) -> dict[str, str]:
    return {code: format_minor(asset(code), minor) for code, minor in value}


def encode_dataclass(obj: Any) -> dict[str, Any]:
    """The JSON-safe form of a dataclass: each field by ``encode_value``'s rules."""
    cls = type(obj)
    fields = _ENCODERS.get(cls)
    if fields is None:
        fields = _ENCODERS[cls] = _field_encoders(cls)
    return {name: encode(getattr(obj, name)) for name, encode in fields}


# Encoding is compiled once per dataclass too: each field gets the converter its type hint
# names, used when the value is exactly that type, and ``encode_value`` (which asks the value
# its type, a dozen isinstance checks) otherwise — so the result is encode_value's in every
# case (tests/unit/ledger/test_ledger_events.py compares the two over the whole vocabulary),
# in half the time: every command encodes its events, every snapshot its state.
Encoder = Callable[[Any], Any]
_ENCODERS: dict[type, tuple[tuple[str, Encoder], ...]] = {}


def _field_encoders(cls: type) -> tuple[tuple[str, Encoder], ...]:
    hints = _hints(cls)
    return tuple((f.name, _encoder(hints[f.name])) for f in _fields(cls))


def _encoder(hint: Any) -> Encoder:
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(options) != 1:
            return encode_value
        inner = _encoder(options[0])
        return lambda value: None if value is None else inner(value)
    if origin is tuple:
        args = typing.get_args(hint)
        if len(args) != 2 or args[1] is not Ellipsis:
            return encode_value
        item = _encoder(args[0])
        return lambda value: (
            [item(x) for x in value] if type(value) is tuple else encode_value(value)
        )
    if not isinstance(hint, type):
        return encode_value
    convert = _exact_encoder(hint)
    return lambda value: convert(value) if type(value) is hint else encode_value(value)


def _exact_encoder(hint: type) -> Encoder:
    """How a value of exactly type ``hint`` is encoded (what encode_value does for it)."""
    if hint in (str, int, bool):
        return lambda value: value
    if hint is Decimal:
        return format_decimal
    if hint is datetime:
        return timestamp
    if hint is date:
        return lambda value: value.isoformat()
    if issubclass(hint, Enum):
        return lambda value: value.value
    if hint is Money:
        return _money_json
    if hint is postings.Journal:
        return postings.to_json
    if hint is Balances:
        return _balances_json
    if dataclasses.is_dataclass(hint):
        return encode_dataclass
    return encode_value


def _expect(data: Any, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(data, kind) or (isinstance(data, bool) and kind is int):
        raise DecodeError(f"{where}: expected {kind}, got {type(data).__name__}")
    return data


# Decoding is compiled once per type hint into a function (hint -> decoder, cached): the
# type introspection (unions, tuples, a dataclass's fields and hints) is paid once per type,
# not once per value — every state load and projection page decodes thousands of events.
Decoder = Callable[[Any, str], Any]
_DECODERS: dict[Any, Decoder] = {}


def decode_value(hint: Any, data: Any, where: str) -> Any:
    """The value of type ``hint`` encoded as ``data`` (``where`` names it in errors)."""
    return _decoder(hint)(data, where)


def _decoder(hint: Any) -> Decoder:
    found = _DECODERS.get(hint)
    if found is None:
        found = _DECODERS[hint] = _compile(hint)
    return found


def _compile(hint: Any) -> Decoder:
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        return _optional(hint)
    if origin is tuple:
        return _tuple_of(hint)
    plain = _plain(hint)

    def converted(data: Any, where: str) -> Any:
        try:
            return plain(data, where)
        except DecodeError:
            raise
        except (ValueError, ArithmeticError, DomainError) as exc:
            # A malformed amount or unknown asset in stored data is corruption, not a bad
            # request. (An amount's own message already starts with the field's name.)
            text = str(exc)
            raise DecodeError(text if text.startswith(f"{where}:") else f"{where}: {text}") from exc

    return converted


def _optional(hint: Any) -> Decoder:
    args = typing.get_args(hint)
    options = [a for a in args if a is not type(None)]
    nullable = len(options) < len(args)
    inner = _decoder(options[0]) if len(options) == 1 else None

    def optional(data: Any, where: str) -> Any:
        if data is None and nullable:
            return None
        if inner is None:
            raise TypeError(f"{where}: only X | None unions are supported")
        return inner(data, where)

    return optional


def _tuple_of(hint: Any) -> Decoder:
    args = typing.get_args(hint)
    item = _decoder(args[0]) if len(args) == 2 and args[1] is Ellipsis else None

    def tuple_of(data: Any, where: str) -> Any:
        if item is None:
            raise TypeError(f"{where}: only tuple[X, ...] is supported")
        items = _expect(data, list, where)
        return tuple(item(x, f"{where}[{i}]") for i, x in enumerate(items))

    return tuple_of


def _plain(hint: Any) -> Decoder:
    if hint in (bool, int, str):
        return lambda data, where: _expect(data, hint, where)
    simple = _SIMPLE.get(hint)
    if simple is not None:
        return simple
    if isinstance(hint, type) and issubclass(hint, Enum):
        return lambda data, where: hint(data)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return lambda data, where: decode_dataclass(hint, data, where)

    def undecodable(data: Any, where: str) -> Any:
        raise TypeError(f"{where}: cannot decode into {hint!r}")

    return undecodable


def _decimal(data: Any, where: str) -> Decimal:
    value = Decimal(_expect(data, str, where))
    if not value.is_finite():
        raise DecodeError(f"{where}: not a finite decimal")
    return value


def _datetime(data: Any, where: str) -> datetime:
    moment = datetime.fromisoformat(_expect(data, str, where))
    if moment.tzinfo is None:
        raise DecodeError(f"{where}: timestamp without a time zone")
    return moment.astimezone(UTC)


def _date(data: Any, where: str) -> date:
    return date.fromisoformat(_expect(data, str, where))


def _money(data: Any, where: str) -> Money:
    obj = _expect(data, dict, where)
    if set(obj) != {"asset", "amount"}:
        raise DecodeError(f"{where}: an amount has exactly asset and amount")
    return parse_signed_amount(asset(obj["asset"]), obj["amount"], where)


def _journal(data: Any, where: str) -> postings.Journal:
    return postings.from_json(data)


def _balances(data: Any, where: str) -> Balances:
    obj = _expect(data, dict, where)
    return Balances.of(
        {code: parse_signed_amount(asset(code), text, where).minor for code, text in obj.items()}
    )


_SIMPLE: dict[Any, Decoder] = {
    Decimal: _decimal,
    datetime: _datetime,
    date: _date,
    Money: _money,
    postings.Journal: _journal,
    Balances: _balances,
}


@dataclasses.dataclass(frozen=True)
class _Plan:
    """How a dataclass is decoded: its field names, and each field's decoder and whether the
    data must carry it (no default)."""

    names: frozenset[str]
    fields: tuple[tuple[str, Decoder, bool], ...]


_PLANS: dict[type, _Plan] = {}


def _plan(cls: type) -> _Plan:
    plan = _PLANS.get(cls)
    if plan is None:
        hints = _hints(cls)
        fields = tuple(
            (
                f.name,
                _decoder(hints[f.name]),
                f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
            )
            for f in _fields(cls)
        )
        plan = _PLANS[cls] = _Plan(frozenset(name for name, _, _ in fields), fields)
    return plan


def decode_dataclass(cls: type[T], data: Any, where: str = "") -> T:
    """``where`` names ``data`` in errors. A field is decoded with its own name as its
    ``where``, and a field's error is prefixed with ``where`` on its way out: the path of a
    value is only built for an error, not for every field of every event decoded (a fifth of
    the decoding time when it was built up front)."""
    obj = _expect(data, dict, where or cls.__name__)
    plan = _plan(cls)
    if not plan.names.issuperset(obj):
        unknown = set(obj) - plan.names
        raise DecodeError(f"{where or cls.__name__}: unknown fields {sorted(unknown)}")
    values: dict[str, Any] = {}
    try:
        for name, decode, required in plan.fields:
            if name in obj:
                values[name] = decode(obj[name], name)
            elif required:
                raise DecodeError(f"{name}: missing")
    except DecodeError as exc:
        if not where:
            raise
        raise DecodeError(f"{where}.{exc}") from exc.__cause__
    try:
        return cls(**values)
    except (ValueError, TypeError) as exc:
        raise DecodeError(f"{where or cls.__name__}: {exc}") from exc
