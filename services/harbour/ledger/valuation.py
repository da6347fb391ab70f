"""Valuation: a client's risk figures from holdings, prices and the policy (docs/domain.md).

The pure core every risk decision and the risk monitor build on: no clock (``now`` is a
parameter), no I/O, no floats. Every amount is an ``int`` of HKD minor units (cents):

- per held asset i (cash and collateral alike), ``MV_i = floor(q_i / 10**scale_i x price_i)``
  and ``marginable_i = floor(MV_i x (1 - haircut_i))``: what the broker holds rounds down;
- the VA share cap admits at most ``floor(nonVA x cap / (1 - cap))`` of the virtual assets'
  marginable value (a cap of 1 disables it), and ``CV = nonVA + min(VA, allowance)``;
- ``D`` is every currency owed, converted to HKD rounding up: what the client owes rounds up;
- ``U = D / CV`` (``None``: unbounded), ``LTV = D / sum(MV)``, ``margin level = sum(MV) / D``,
  reported with 6 decimals rounded against the client (U and LTV up, margin level down);
- the implied state compares the exact ratio with the thresholds (integer cross-products), so
  a rounded U never decides anything; so do the call amount and the advance headroom.

Prices are HKD per whole unit. HKD is 1 by definition and needs no observation. Cash in USD or
USDT is valued like any held asset at its FX rate, which is the price of the currency quoted in
HKD (a ``PriceObserved`` on ``price-USD`` / ``price-USDT``), less its haircut; a currency owed
is converted at the same rate rounding up. So a rate is stale, unpriced and recorded in a
decision's basis exactly as a price is (docs/domain.md, FX). A held asset
without a price is valued at 0 and listed as unpriced; a debt currency without one cannot be
valued conservatively and raises :class:`PriceUnavailable`. A price older than the policy's
staleness window is still used, and the asset is listed as stale.

Speed (``make bench-valuation``): :class:`PriceBook` turns every price and haircut into an
integer ratio once per batch, and caches per *shape* (the asset codes held and the currencies
owed) everything that does not depend on quantities: line order, prices used, stale and
unpriced lists. Valuing one account is then a few integer multiplications and divisions. A
valuation from the batch core makes its lines and 6-decimal ratios on first read (explained
where it is done). Pausing the cyclic garbage collector around a big batch is process-wide
state, so it is the callers' (``harbour.collector``), not this pure module's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Context, Decimal, Inexact
from enum import Enum
from math import gcd

from harbour.ledger import events as ev
from harbour.ledger.account import MarginAccount
from harbour.ledger.assets import REPORTING_CURRENCY, asset
from harbour.ledger.errors import PriceUnavailable
from harbour.ledger.money import Money
from harbour.ledger.policy import CollateralPolicy

_HKD = REPORTING_CURRENCY.code
_MICRO = 10**6  # the reported ratios carry 6 decimals
_ZERO = Decimal(0)
_ONE = Decimal(1)


class ImpliedState(Enum):
    """The risk state the figures imply (the account's recorded state may lag behind it)."""

    HEALTHY = "healthy"
    WARNING = "warning"
    MARGIN_CALL = "margin_call"
    FORCED_SALE = "forced_sale"


@dataclass(frozen=True)
class Holdings:
    """What one client holds and owes, in minor units of each asset.

    ``assets`` holds cash and collateral together (both are collateral); ``debt`` is owed per
    currency (principal + interest + fees + shortfall) and never negative. The mappings are
    not copied: do not change them after building a Holdings.
    """

    client_id: str
    assets: Mapping[str, int]
    debt: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for code, minor in self.debt.items():
            if minor < 0:
                raise ValueError(f"{self.client_id}: debt in {code} is negative ({minor})")


def holdings_of(account: MarginAccount) -> Holdings:
    """A margin account's holdings: cash and collateral summed per asset, debt per currency."""
    held = dict(account.cash.entries)
    for code, minor in account.collateral:
        held[code] = held.get(code, 0) + minor
    assets = {code: minor for code, minor in sorted(held.items()) if minor != 0}
    return Holdings(account.client_id, assets, account.debt.as_dict())


@dataclass(frozen=True)
class AssetLine:
    """One held asset's contribution. ``price`` is HKD per whole unit (0 when unpriced);
    ``observed_at`` is None for HKD (1 by definition) and for an unpriced asset."""

    asset: str
    quantity: int  # minor units of ``asset``
    price: Decimal
    observed_at: datetime | None
    haircut: Decimal
    market_value: int  # HKD minor units, rounded down
    marginable_value: int  # HKD minor units, rounded down; before the VA share cap
    virtual: bool
    stale: bool
    priced: bool


@dataclass(frozen=True)
class Valuation:
    """A client's risk figures at one instant under one policy version, in HKD minor units."""

    client_id: str
    policy_version: int
    lines: tuple[AssetLine, ...]  # sorted by asset code
    market_value: int  # sum of MV_i
    va_marginable_value: int  # sum of marginable_i over virtual assets, before the cap
    other_marginable_value: int  # sum of marginable_i over every other asset
    va_cap_allowance: int | None  # the most VA marginable value admitted; None: no cap
    va_cap_effect: int  # VA marginable value the cap left out
    marginable_value: int  # CV
    debt: int  # D
    utilisation: Decimal | None  # D / CV, 6 decimals rounded up; None: unbounded
    loan_to_value: Decimal | None  # D / sum(MV), 6 decimals rounded up; None: unbounded
    margin_level: Decimal | None  # sum(MV) / D, 6 decimals rounded down; None: no debt
    state: ImpliedState
    call_amount: int  # D - CV when the state is MARGIN_CALL or FORCED_SALE, else 0
    advance_headroom: int  # the most extra debt that keeps U <= max_advance_utilisation
    stale_assets: tuple[str, ...]  # held or owed assets whose price is stale, sorted
    unpriced_assets: tuple[str, ...]  # held assets with no price (valued at 0), sorted
    prices: tuple[ev.PricePoint, ...]  # every price used, sorted by asset

    @property
    def fresh(self) -> bool:
        """Every price used is fresh and every held asset is priced."""
        return not self.stale_assets and not self.unpriced_assets

    def figures(self) -> ev.RiskFigures:
        """The figures a decision event records."""
        return ev.RiskFigures(
            market_value=Money(REPORTING_CURRENCY, self.market_value),
            marginable_value=Money(REPORTING_CURRENCY, self.marginable_value),
            debt=Money(REPORTING_CURRENCY, self.debt),
            utilisation=self.utilisation,
        )

    def basis(self, now: datetime) -> ev.DecisionBasis:
        """What a decision taken on this valuation at ``now`` rested on."""
        return ev.DecisionBasis(self.policy_version, self.prices, now)


# ------------------------------------------------------------------------------ deferred detail

# The batch core builds a Valuation without its lines and its three 6-decimal ratios: it keeps
# the integers they are made from and makes all four the first time one of them is read.
# Making two AssetLines and three Decimals per client, which a sweep of every account mostly
# never reads, cost more than all the arithmetic (bench/valuation.py). Everything decided
# (state, call amount, headroom) comes from the exact integers either way, and a deferred
# Valuation compares, hashes, prints and pickles as an eager one does (test_valuation.py).
# Unlike the collector pause (harbour.collector), this speed-up must live in the kernel:
# the deferred fields are the Valuation type's own (a descriptor per field on the class), it
# touches no state outside the instance, and any other module would have to patch the type.
_DEFERRED_FIELDS = ("lines", "utilisation", "loan_to_value", "margin_level")


class _Deferrable:
    """A Valuation field the batch core may leave to first use.

    A non-data descriptor: an instance that has the field (every eagerly built one, and a
    deferred one once made) answers from its own __dict__ and never gets here.
    """

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, instance: Valuation | None, owner: type[Valuation]) -> object:
        if instance is None:
            return self
        fields = instance.__dict__
        deferred = fields.get("_deferred")
        if deferred is None:
            raise AttributeError(f"'Valuation' object has no attribute {self.name!r}")
        fields.update(_materialised(deferred))
        fields.pop("_deferred", None)  # after the update, so no concurrent reader misses
        return fields[self.name]


for _name in _DEFERRED_FIELDS:
    setattr(Valuation, _name, _Deferrable(_name))  # after @dataclass: fields are unchanged

# A line spec: everything about one held asset that does not depend on the quantity.
# (code, mv_num, mv_den, keep_num, keep_den, virtual, price, observed_at, haircut, stale, priced)
# MV in HKD minor units = floor(quantity x mv_num / mv_den); 1 - haircut = keep_num / keep_den.
_LineSpec = tuple[str, int, int, int, int, bool, Decimal, datetime | None, Decimal, bool, bool]
# (line specs, (quantity, MV, marginable) of each line one after the other, then utilisation,
# LTV and margin level in millionths, None where the figure is None)
_Deferred = tuple[tuple[_LineSpec, ...], tuple[int, ...], int | None, int | None, int | None]

_new = object.__new__


def _deferred_valuation(
    client_id: str,
    policy_version: int,
    market_value: int,
    va_marginable_value: int,
    other_marginable_value: int,
    va_cap_allowance: int | None,
    va_cap_effect: int,
    marginable_value: int,
    debt: int,
    state: ImpliedState,
    call_amount: int,
    advance_headroom: int,
    stale_assets: tuple[str, ...],
    unpriced_assets: tuple[str, ...],
    prices: tuple[ev.PricePoint, ...],
    deferred: _Deferred,
) -> Valuation:
    valuation = _new(Valuation)
    # Straight into the instance's __dict__, where the frozen dataclass's own __init__ puts
    # them too (through object.__setattr__, once a field, several times slower).
    fields = valuation.__dict__
    fields["client_id"] = client_id
    fields["policy_version"] = policy_version
    fields["market_value"] = market_value
    fields["va_marginable_value"] = va_marginable_value
    fields["other_marginable_value"] = other_marginable_value
    fields["va_cap_allowance"] = va_cap_allowance
    fields["va_cap_effect"] = va_cap_effect
    fields["marginable_value"] = marginable_value
    fields["debt"] = debt
    fields["state"] = state
    fields["call_amount"] = call_amount
    fields["advance_headroom"] = advance_headroom
    fields["stale_assets"] = stale_assets
    fields["unpriced_assets"] = unpriced_assets
    fields["prices"] = prices
    fields["_deferred"] = deferred
    return valuation


def _materialised(deferred: _Deferred) -> dict[str, object]:
    specs, flat, utilisation, ltv, level = deferred
    lines = []
    for index, spec in enumerate(specs):
        code, _, _, _, _, virtual, price, seen, haircut, stale, priced = spec
        line = _new(AssetLine)  # as in _deferred_valuation: the instance's fields, directly
        fields = line.__dict__
        fields["asset"] = code
        fields["quantity"] = flat[3 * index]
        fields["price"] = price
        fields["observed_at"] = seen
        fields["haircut"] = haircut
        fields["market_value"] = flat[3 * index + 1]
        fields["marginable_value"] = flat[3 * index + 2]
        fields["virtual"] = virtual
        fields["stale"] = stale
        fields["priced"] = priced
        lines.append(line)
    micro = _micro
    return {
        "lines": tuple(lines),
        "utilisation": None if utilisation is None else micro(utilisation),
        "loan_to_value": None if ltv is None else micro(ltv),
        "margin_level": None if level is None else micro(level),
    }


# Exact whatever the ambient context: 64 digits hold any real ratio; a wider one gets its own.
_RATIO_CONTEXT = Context(prec=64, traps=[Inexact])
_RATIO_DIGITS_LIMIT = 10**64


def _micro(n: int) -> Decimal:
    """``n`` millionths: a Decimal with exactly 6 decimals."""
    if -_RATIO_DIGITS_LIMIT < n < _RATIO_DIGITS_LIMIT:
        return Decimal(n).scaleb(-6, _RATIO_CONTEXT)
    return Decimal(n).scaleb(-6, Context(prec=len(str(abs(n))), traps=[Inexact]))


# ------------------------------------------------------------------------------ the book


def _ratio(value: Decimal) -> tuple[int, int]:
    numerator, denominator = value.as_integer_ratio()
    return numerator, denominator


def _reduced(numerator: int, denominator: int) -> tuple[int, int]:
    common = gcd(numerator, denominator) or 1
    return numerator // common, denominator // common


@dataclass(frozen=True)
class _Shape:
    """What every client holding exactly these assets and owing these currencies shares."""

    lines: tuple[_LineSpec, ...]  # sorted by asset code
    arithmetic: tuple[tuple[str, int, int, int, int, bool], ...]  # lines[i][:6], for the loop
    # (code, num, den): D = ceil(minor x num / den); den 0: no price, refused if anything is owed
    debts: tuple[tuple[str, int, int], ...]
    prices: tuple[ev.PricePoint, ...]
    stale: tuple[str, ...]
    unpriced: tuple[str, ...]


class PriceBook:
    """Prices and policy for one valuation instant, turned into integer ratios once.

    ``prices`` maps an asset code to its latest observation in HKD; HKD itself needs none (an
    HKD entry, if given, must be 1 and is not reported as used). Value many accounts against
    one book: the per-asset and per-shape work is shared.
    """

    def __init__(
        self, prices: Mapping[str, ev.PricePoint], policy: CollateralPolicy, now: datetime
    ) -> None:
        self.policy = policy
        self.now = now
        self._oldest_fresh = now - timedelta(seconds=policy.price_staleness_seconds)
        self._points: dict[str, ev.PricePoint] = {}
        for code, point in prices.items():
            if point.base_asset != code:
                raise ValueError(f"price book entry {code} holds a price of {point.base_asset}")
            if point.quote_asset != _HKD:
                raise ValueError(f"{code} is priced in {point.quote_asset}, not {_HKD}")
            if not point.price.is_finite() or point.price <= 0:
                raise ValueError(f"{code} has a price of {point.price}: prices are positive")
            if code == _HKD:
                if point.price != 1:
                    raise ValueError(f"{_HKD} is the reporting currency: its price is 1")
                continue
            self._points[code] = point
        self._lines: dict[str, _LineSpec] = {}
        for code in (_HKD, *self._points):
            self._line(code)
        self._shapes: dict[tuple[tuple[str, ...], tuple[str, ...]], _Shape] = {}
        # The policy's ratios as integers. The VA share cap c enters as c / (1 - c), which is
        # n / (d - n) for c = n / d; c = 1 disables it.
        self._cap_disabled = policy.va_share_cap >= 1
        self._cap = (0, 1)
        if not self._cap_disabled:
            n, d = _ratio(policy.va_share_cap)
            self._cap = _reduced(n, d - n)
        self._warning = _ratio(policy.warning_utilisation)
        self._margin_call = _ratio(policy.margin_call_utilisation)
        self._forced_sale = _ratio(policy.forced_sale_utilisation)
        self._max_advance = _ratio(policy.max_advance_utilisation)

    def _line(self, code: str) -> _LineSpec:
        """The line spec of ``code`` (raises UnknownAsset for a code that names no asset)."""
        spec = self._lines.get(code)
        if spec is not None:
            return spec
        held = asset(code)
        haircut = self.policy.haircut(code)
        keep_num, keep_den = _ratio(_ONE - haircut)
        point = self._points.get(code)
        seen: datetime | None = None
        if code == _HKD:
            num, den, price, stale, priced = 1, 1, _ONE, False, True
        elif point is None:
            num, den, price, stale, priced = 0, 1, _ZERO, False, False
        else:
            price_num, price_den = _ratio(point.price)
            # HKD minor units per minor unit of ``code``: price x 10**2 / 10**scale.
            num, den = _reduced(price_num * REPORTING_CURRENCY.unit, price_den * held.unit)
            price, seen, priced = point.price, point.observed_at, True
            stale = point.observed_at < self._oldest_fresh
        virtual = held.is_virtual
        spec = (code, num, den, keep_num, keep_den, virtual, price, seen, haircut, stale, priced)
        self._lines[code] = spec
        return spec

    def _shape(self, held: tuple[str, ...], owed: tuple[str, ...]) -> _Shape:
        lines = tuple(self._line(code) for code in sorted(held))
        points = {code: self._points[code] for code in (*held, *owed) if code in self._points}
        debts = []
        for code in sorted(owed):
            _, num, den, *_, priced = self._line(code)
            debts.append((code, num, den if priced else 0))
        return _Shape(
            lines=lines,
            arithmetic=tuple(line[:6] for line in lines),
            debts=tuple(debts),
            prices=tuple(points[code] for code in sorted(points)),
            stale=tuple(sorted(code for code in points if self._line(code)[9])),
            unpriced=tuple(line[0] for line in lines if not line[10]),
        )

    def value(self, holdings: Holdings) -> Valuation:
        """One client's valuation (raises PriceUnavailable for an unpriced debt currency)."""
        return self.value_all((holdings,))[0]

    def value_all(self, holdings: Sequence[Holdings]) -> list[Valuation]:
        """Every client's valuation, in the order given (a caller valuing a whole book pauses
        the cyclic garbage collector around it: ``harbour.collector``)."""
        return self._value_all(holdings)

    def _value_all(self, holdings: Sequence[Holdings]) -> list[Valuation]:
        # The one core. Everything per batch is bound to a local first; the loop does integer
        # arithmetic and dict lookups only.
        shapes = self._shapes
        build_shape = self._shape
        make = _deferred_valuation
        version = self.policy.version
        cap_disabled = self._cap_disabled
        cap_num, cap_den = self._cap
        warning_num, warning_den = self._warning
        call_num, call_den = self._margin_call
        sale_num, sale_den = self._forced_sale
        advance_num, advance_den = self._max_advance
        healthy, warning = ImpliedState.HEALTHY, ImpliedState.WARNING
        margin_call, forced_sale = ImpliedState.MARGIN_CALL, ImpliedState.FORCED_SALE
        micro = _MICRO
        out: list[Valuation] = []
        append = out.append
        for one in holdings:
            assets = one.assets
            debt = one.debt
            key = (tuple(assets), tuple(debt))
            shape = shapes.get(key)
            if shape is None:
                shape = shapes[key] = build_shape(*key)

            has_zero = False
            market_value = va = other = 0
            flat: list[int] = []
            for code, num, den, keep_num, keep_den, virtual in shape.arithmetic:
                quantity = assets[code]
                if not quantity:
                    has_zero = True
                    break
                mv = quantity * num // den  # floor: what the broker holds rounds down
                marginable = mv * keep_num // keep_den
                market_value += mv
                if virtual:
                    va += marginable
                else:
                    other += marginable
                flat += (quantity, mv, marginable)

            owed = 0
            for code, num, den in shape.debts:
                minor = debt[code]
                if not minor:
                    has_zero = True
                    break
                if not den:
                    raise PriceUnavailable(
                        f"no {code} price in {_HKD}: the debt of {one.client_id} in {code} "
                        "cannot be valued"
                    )
                owed -= (-minor * num) // den  # ceiling: what the client owes rounds up

            if has_zero:  # rare: a zero balance holds and owes nothing, so it has no line
                append(self._value_all((_without_zeros(one),))[0])
                continue

            if cap_disabled:
                allowance = None
                admitted = va
            else:
                allowance = other * cap_num // cap_den
                admitted = va if va <= allowance else allowance
            cv = other + admitted

            headroom = cv * advance_num // advance_den - owed
            if headroom < 0:
                headroom = 0
            call = 0
            if owed <= 0:
                utilisation: int | None = 0
                ltv: int | None = 0
                level = None
                state = healthy
            else:
                # In millionths: margin level rounds down, utilisation and LTV round up.
                level = market_value * micro // owed
                ltv = None if market_value <= 0 else -((-owed * micro) // market_value)
                if cv <= 0:
                    utilisation = None
                    state = forced_sale
                else:
                    utilisation = -((-owed * micro) // cv)
                    # The state from the exact ratio: D / CV <= a / b  <=>  D * b <= a * CV.
                    if owed * warning_den <= warning_num * cv:
                        state = healthy
                    elif owed * call_den <= call_num * cv:
                        state = warning
                    elif owed * sale_den < sale_num * cv:
                        state = margin_call
                    else:
                        state = forced_sale
                if (state is margin_call or state is forced_sale) and owed > cv:
                    call = owed - cv

            append(
                make(
                    one.client_id,
                    version,
                    market_value,
                    va,
                    other,
                    allowance,
                    va - admitted,
                    cv,
                    owed,
                    state,
                    call,
                    headroom,
                    shape.stale,
                    shape.unpriced,
                    shape.prices,
                    (shape.lines, tuple(flat), utilisation, ltv, level),
                )
            )
        return out


def _without_zeros(holdings: Holdings) -> Holdings:
    return Holdings(
        holdings.client_id,
        {code: minor for code, minor in holdings.assets.items() if minor},
        {code: minor for code, minor in holdings.debt.items() if minor},
    )


def value_accounts(
    holdings: Sequence[Holdings],
    prices: Mapping[str, ev.PricePoint],
    policy: CollateralPolicy,
    now: datetime,
) -> list[Valuation]:
    """Every client's valuation against one price book, in the order given."""
    return PriceBook(prices, policy, now).value_all(holdings)


def value_account(
    holdings: Holdings,
    prices: Mapping[str, ev.PricePoint],
    policy: CollateralPolicy,
    now: datetime,
) -> Valuation:
    """One client's valuation: the same core as :func:`value_accounts`, a batch of one."""
    return PriceBook(prices, policy, now).value(holdings)
