"""Money: exact amounts of one asset, parsed from and formatted to decimal strings.

Amounts are ``int`` minor units; prices and rates are ``Decimal``; a float never appears. Text
from a caller is parsed strictly: a request with more decimals than the asset's scale is
refused, never rounded (docs/domain.md, Money). Where arithmetic with a price must leave the
integers, the rounding direction is explicit and never flatters the broker: what the broker
holds as collateral rounds down, what the client owes rounds up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, Inexact, localcontext

from harbour.ledger.assets import Asset, asset
from harbour.ledger.errors import (
    AmountNotPositive,
    MalformedAmount,
    MalformedDecimal,
    TooManyDecimals,
)

# Refuse absurd input before doing any work with it. 10**18 whole units of any asset is beyond
# anything real; 18 more digits cover ETH's scale.
MAX_AMOUNT_TEXT = 48
MAX_WHOLE_DIGITS = 18
MAX_DECIMAL_TEXT = 48

# fullmatch, not match with "$": "$" also matches before a trailing newline.
# ASCII digits only: str.isdigit and \d accept other scripts' digits, which Decimal would take.
_AMOUNT = re.compile(r"^(-?)([0-9]+)(?:\.([0-9]+))?$")
# Arithmetic on prices is done with this much precision and traps any inexact step, so a
# result is either exact or an error (a value wider than this is a bug, not a rounding).
_EXACT_PRECISION = 120


@dataclass(frozen=True)
class Money:
    """An exact amount of one asset in minor units (may be negative: a debit, a shortfall)."""

    asset: Asset
    minor: int

    def __post_init__(self) -> None:
        # bool is an int in Python; True HKD is a bug, not one cent.
        if type(self.minor) is not int:
            raise TypeError(f"Money.minor must be int, got {type(self.minor).__name__}")

    @classmethod
    def zero(cls, of: Asset) -> Money:
        return cls(of, 0)

    @classmethod
    def of(cls, code: str, text: str) -> Money:
        """Convenience for literals in code and tests: ``Money.of("HKD", "12.50")``."""
        return parse_signed_amount(asset(code), text)

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.asset != self.asset:
            raise ValueError(f"cannot combine {self.asset.code} with {other.asset.code}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.asset, self.minor + other.minor)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.asset, self.minor - other.minor)

    def __neg__(self) -> Money:
        return Money(self.asset, -self.minor)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor < other.minor

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.minor <= other.minor

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor > other.minor

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.minor >= other.minor

    @property
    def is_zero(self) -> bool:
        return self.minor == 0

    @property
    def is_positive(self) -> bool:
        return self.minor > 0

    def to_decimal(self) -> Decimal:
        """The exact value in whole units (``Decimal`` keeps every digit)."""
        return to_decimal(self.asset, self.minor)

    def __str__(self) -> str:
        return f"{format_amount(self)} {self.asset.code}"


def _split(text: object, field: str) -> tuple[bool, str, str]:
    """(negative, whole digits, fraction digits) of a plain decimal string, or a refusal."""
    if not isinstance(text, str):
        raise MalformedAmount.for_field(field, 'must be a decimal string such as "12.50"')
    if len(text) > MAX_AMOUNT_TEXT:
        raise MalformedAmount.for_field(field, f"longer than {MAX_AMOUNT_TEXT} characters")
    match = _AMOUNT.fullmatch(text)
    if match is None:
        # Exponents, NaN, Infinity, spaces, signs other than a leading "-", "1.", ".5", "1,000"
        raise MalformedAmount.for_field(
            field, f'{text!r} is not a plain decimal number such as "12.50"'
        )
    sign, whole, fraction = match.group(1), match.group(2), match.group(3) or ""
    if len(whole.lstrip("0")) > MAX_WHOLE_DIGITS:
        raise MalformedAmount.for_field(field, f"more than {MAX_WHOLE_DIGITS} whole digits")
    return sign == "-", whole, fraction


def _minor(of: Asset, text: object, field: str) -> int:
    negative, whole, fraction = _split(text, field)
    # Trailing zeros count too: the rule is "no more decimals than the scale", stated on the
    # text the caller sent, so there is never a question of what was rounded.
    if len(fraction) > of.scale:
        raise TooManyDecimals.for_field(
            field, f"{of.code} allows at most {of.scale} decimals, got {len(fraction)}"
        )
    minor = int(whole) * of.unit + int(fraction.ljust(of.scale, "0") or "0")
    return -minor if negative else minor


def parse_amount(
    of: Asset | str, text: object, field: str = "amount", *, allow_zero: bool = False
) -> Money:
    """A positive amount from a caller's decimal string ("12.50"), exactly or not at all."""
    which = of if isinstance(of, Asset) else asset(of)
    minor = _minor(which, text, field)
    if minor < 0 or (minor == 0 and not allow_zero):
        limit = "zero or more" if allow_zero else "greater than zero"
        raise AmountNotPositive.for_field(field, f"must be {limit}, got {text}")
    return Money(which, minor)


def parse_signed_amount(of: Asset, text: object, field: str = "amount") -> Money:
    """Any amount, negative or zero included: for stored data, not for requests."""
    return Money(of, _minor(of, text, field))


def format_minor(of: Asset, minor: int) -> str:
    """The canonical text of an amount: exactly ``scale`` decimals, "-" for negatives."""
    sign = "-" if minor < 0 else ""
    whole, fraction = divmod(abs(minor), of.unit)
    if of.scale == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{fraction:0{of.scale}d}"


def format_amount(money: Money) -> str:
    return format_minor(money.asset, money.minor)


def to_decimal(of: Asset, minor: int) -> Decimal:
    return Decimal(minor).scaleb(-of.scale)


def _scaled(of: Asset, value: Decimal) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValueError(f"expected a finite Decimal, got {value!r}")
    with localcontext() as ctx:
        ctx.prec = _EXACT_PRECISION
        ctx.traps[Inexact] = True
        return value.scaleb(of.scale)


def round_down(of: Asset, value: Decimal) -> int:
    """Minor units of ``of`` at or below ``value`` (toward minus infinity).

    For what the broker may count on: collateral values, proceeds, marginable value.
    """
    return int(_scaled(of, value).to_integral_value(rounding=ROUND_FLOOR))


def round_up(of: Asset, value: Decimal) -> int:
    """Minor units of ``of`` at or above ``value`` (toward plus infinity).

    For what the client owes: interest, fees, call amounts, debt.
    """
    return int(_scaled(of, value).to_integral_value(rounding=ROUND_CEILING))


def exact_product(quantity: Money, price: Decimal) -> Decimal:
    """``quantity * price`` in whole units of the quote asset, with no rounding at all."""
    with localcontext() as ctx:
        ctx.prec = _EXACT_PRECISION
        ctx.traps[Inexact] = True
        return quantity.to_decimal() * price


def value_down(quantity: Money, price: Decimal, quote: Asset) -> Money:
    """The value of ``quantity`` at ``price`` (quote per unit), rounded down: collateral."""
    return Money(quote, round_down(quote, exact_product(quantity, price)))


def value_up(quantity: Money, price: Decimal, quote: Asset) -> Money:
    """The value of ``quantity`` at ``price`` (quote per unit), rounded up: amounts owed."""
    return Money(quote, round_up(quote, exact_product(quantity, price)))


_DECIMAL = re.compile(r"^-?[0-9]+(?:\.[0-9]+)?$")


def parse_decimal(
    text: object,
    field: str,
    *,
    allow_negative: bool = False,
    allow_zero: bool = True,
    maximum: Decimal | None = None,
) -> Decimal:
    """A price, rate or ratio from a plain decimal string: no exponent, NaN or Infinity."""
    if not isinstance(text, str) or len(text) > MAX_DECIMAL_TEXT or not _DECIMAL.fullmatch(text):
        shown = repr(text)[:60]
        raise MalformedDecimal.for_field(field, f'{shown} is not a plain decimal such as "0.65"')
    value = Decimal(text)
    if value < 0 and not allow_negative:
        raise MalformedDecimal.for_field(field, f"must not be negative, got {text}")
    if value == 0 and not allow_zero:
        raise MalformedDecimal.for_field(field, f"must be greater than zero, got {text}")
    if maximum is not None and value > maximum:
        raise MalformedDecimal.for_field(field, f"must be at most {maximum}, got {text}")
    return value


def parse_price(text: object, field: str = "price") -> Decimal:
    """A strictly positive price (quote units per whole unit of the base asset)."""
    return parse_decimal(text, field, allow_zero=False)


def format_decimal(value: Decimal) -> str:
    """Plain positional text of a finite Decimal (no exponent), parseable by parse_decimal."""
    if not value.is_finite():
        raise ValueError(f"cannot format {value!r}: prices and rates are finite")
    # "-0.00" is a legal Decimal but not a canonical text: zero has no sign.
    return format(abs(value) if value.is_zero() else value, "f")
