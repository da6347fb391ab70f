"""The risk book: every client's positions and debts in memory, screened a whole tick at once.

A price tick must revalue every holder, and the exact valuation (``harbour.ledger.valuation``,
int/Decimal) manages some 20,000 accounts a second: a minute for a million. The book keeps
the same figures as float64 columns, so one tick is a few vectorised passes over every row,
and only the rows whose exact risk check *may* record something come out of it. Those are
then loaded and decided exactly (``harbour.lending.domain``), which alone decides and records.

Layout. One row per client (client id -> row, arrays grown by doubling so appends are
amortised O(1); a removed row is filled by the last one). One column per held asset code:
quantities in whole units (cash and collateral together, as the valuation counts both). One
column per debt currency: what is owed (principal + interest + fees + shortfall) in whole
units. Per row, the *screen class* its recorded state gives it: which utilisation levels the
exact rule reacts to (:func:`screen_class`).

Floats are allowed here for one reason only: the screen is a conservative pre-filter. Its
guarantee, proven by tests/unit/risk/test_book.py over books built at the thresholds, is that
it never leaves out an account whose exact check would record something. How:

- Exact vs real. The exact rule rounds each line's market value and marginable value down (at
  most 2 cents lost a line), the VA share cap's allowance down (1 cent, after the non-VA part
  lost up to 2 cents a line, multiplied by ``k = cap / (1 - cap)``), and each debt currency's
  HKD value up (under 1 cent a currency). So, with A asset columns and C debt currencies,
  ``CV_real - (2A(1 + k) + 1) cents <= CV_exact <= CV_real`` and
  ``D_real <= D_exact < D_real + C cents``. The screen adds one more cent to each slack.
- Float vs real. Every figure is a sum of nonnegative products (quantity x price x (1 -
  haircut)), then a min and a sum: its relative error is at most about ``(A + C + 16) x 2**-53``
  (the classic bound for a dot product in any summation order, FMA or not), 1e-14 for a
  hundred assets. Rows holding or owing a negative amount (which the ledger never produces)
  break that premise and are always screened in.
- The margin. Every comparison is widened by ``RELATIVE_MARGIN`` = 1e-9 on each side (2e-9 in
  all), five orders of magnitude above the float error for up to ~1,000 asset columns and
  still sound up to ~100,000 (checked on every screen). So an account is "quiet" only when
  ``D_exact`` and ``CV_exact`` are provably inside the band its recorded state allows; the
  cost is that accounts within a part in a billion (plus a few cents) of a threshold are
  looked at exactly, which is rare and harmless.
- Anything the float cannot bound is screened in: a NaN or infinity fails every "quiet"
  comparison, and a debt in a currency with no price makes the row a candidate (the exact
  check then finds it cannot value it and records nothing).

Pure: numpy, no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Final

import numpy as np
from numpy.typing import NDArray

from harbour.ledger.account import Lifecycle, MarginAccount, RiskState
from harbour.ledger.assets import REPORTING_CURRENCY, asset
from harbour.ledger.policy import CollateralPolicy
from harbour.ledger.valuation import Holdings, holdings_of

Floats = NDArray[np.float64]
Rows = NDArray[np.intp]

# Screen classes: which utilisation levels the exact risk check (lending.domain._check_risk)
# reacts to, given what the account has recorded. Call deadlines move with time, not prices:
# the monitor checks those from the margin_calls read model.
IDLE: Final = 0  # reacts to nothing: closed, owned by liquidation, or healthy owing nothing
HEALTHY: Final = 1  # healthy (recovered, written off) and owing: reacts above warning
WARNING: Final = 2  # reacts at or below warning (cleared) and above the call level (called)
IN_CALL: Final = 3  # reacts at or below the call level (met) and at or above forced sale

RELATIVE_MARGIN: Final = 1e-9
# The float error the margin covers, per column summed (a safety factor of 8 on 2**-53 x n).
_ERROR_PER_COLUMN = 8 * 2.0**-53
_CENT = 1 / REPORTING_CURRENCY.unit  # HKD per minor unit
_ONE = Fraction(1)
_INITIAL_ROWS = 1024
_INITIAL_COLUMNS = 4


def screen_class(risk: RiskState, *, owes: bool, in_call: bool, closed: bool) -> int:
    """The screen class of an account (see IDLE ... IN_CALL), mirroring the early returns of
    the exact check: closed or LIQUIDATING/DEFICIT accounts are never checked; an open call
    (whatever the recorded state) is a call; an account neither warned nor called that owes
    nothing records nothing."""
    if closed or risk in (RiskState.LIQUIDATING, RiskState.DEFICIT):
        return IDLE
    if in_call or risk is RiskState.MARGIN_CALL:
        return IN_CALL
    if risk is RiskState.WARNING:
        return WARNING
    return HEALTHY if owes else IDLE


@dataclass(frozen=True)
class BookEntry:
    """One row: whole units held and owed per code (zeros left out), and its screen class."""

    assets: dict[str, float]
    debt: dict[str, float]
    screen_class: int


class RiskBook:
    """Every watched client's holdings and debts as float64 columns (see the module doc)."""

    def __init__(self, rows: int = _INITIAL_ROWS) -> None:
        rows = max(rows, 1)
        self._row: dict[str, int] = {}
        self._clients: list[str] = []
        self._asset_column: dict[str, int] = {}
        self._asset_codes: list[str] = []
        self._asset_units: list[int] = []
        self._currency_column: dict[str, int] = {}
        self._currency_codes: list[str] = []
        self._currency_units: list[int] = []
        # Column-major: each asset's quantities are contiguous, so the tick's matrix product
        # streams them and adding a column never moves the others' layout.
        self._held: Floats = np.zeros((rows, _INITIAL_COLUMNS), order="F")
        self._owed: Floats = np.zeros((rows, _INITIAL_COLUMNS), order="F")
        self._class: NDArray[np.uint8] = np.zeros(rows, dtype=np.uint8)
        self._irregular: NDArray[np.bool_] = np.zeros(rows, dtype=np.bool_)

    # ------------------------------------------------------------------------ building

    @classmethod
    def from_holdings(cls, accounts: Iterable[tuple[Holdings, RiskState]]) -> RiskBook:
        """A book of ``(holdings, recorded risk state)`` pairs (MARGIN_CALL means in a call)."""
        entries = list(accounts)
        book = cls(len(entries))
        for holdings, risk in entries:
            book.upsert(holdings.client_id, holdings.assets, holdings.debt, risk)
        return book

    @classmethod
    def from_columns(
        cls,
        client_ids: Sequence[str],
        held: Mapping[str, Floats],
        owed: Mapping[str, Floats],
        risk: Sequence[RiskState],
        in_call: Sequence[bool] | None = None,
    ) -> RiskBook:
        """A book built column by column: ``held[code]`` and ``owed[code]`` are whole units per
        client in ``client_ids`` order (the bulk path for large books: no per-row Python);
        ``in_call``: whether each has an open call (default: none has)."""
        size = len(client_ids)
        if len(set(client_ids)) != size or len(risk) != size:
            raise ValueError("client ids must be distinct, with one risk state each")
        if in_call is not None and len(in_call) != size:
            raise ValueError("one in_call flag per client")
        book = cls(size)
        book._clients = list(client_ids)
        book._row = {client: row for row, client in enumerate(book._clients)}
        irregular = np.zeros(size, dtype=np.bool_)
        owes = np.zeros(size, dtype=np.bool_)
        for code, values in held.items():
            column = np.asarray(values, dtype=np.float64)
            index = book._column(code, debt=False)  # first: it may grow the array
            book._held[:size, index] = column
            irregular |= column < 0
        for code, values in owed.items():
            column = np.asarray(values, dtype=np.float64)
            index = book._column(code, debt=True)
            book._owed[:size, index] = column
            irregular |= column < 0
            owes |= column != 0
        base = {
            state: screen_class(state, owes=True, in_call=False, closed=False)
            for state in RiskState
        }
        classes = np.fromiter((base[state] for state in risk), dtype=np.uint8, count=size)
        classes[(classes == HEALTHY) & ~owes] = IDLE
        if in_call is not None:  # an open call is a call, owing or not (see screen_class)
            checked = np.fromiter(
                (state not in (RiskState.LIQUIDATING, RiskState.DEFICIT) for state in risk),
                dtype=np.bool_,
                count=size,
            )
            classes[np.asarray(in_call, dtype=np.bool_) & checked] = IN_CALL
        book._class[:size] = classes
        book._irregular[:size] = irregular
        return book

    def upsert(
        self,
        client_id: str,
        assets: Mapping[str, int],
        debt: Mapping[str, int],
        risk: RiskState,
        *,
        in_call: bool = False,
        closed: bool = False,
    ) -> None:
        """Set one client's row: ``assets`` held and ``debt`` owed in minor units per asset,
        its recorded risk state, whether a margin call is open, whether it is closed."""
        row = self._row.get(client_id)
        if row is None:
            row = self._append(client_id)
        irregular = False
        self._held[row, :] = 0.0
        for code, minor in assets.items():
            if minor:
                column = self._column(code, debt=False)
                # int / int is correctly rounded, whatever the size of the int (wei too).
                self._held[row, column] = minor / self._asset_units[column]
                irregular |= minor < 0
        owes = False
        self._owed[row, :] = 0.0
        for code, minor in debt.items():
            if minor:
                column = self._column(code, debt=True)
                self._owed[row, column] = minor / self._currency_units[column]
                irregular |= minor < 0
                owes = True
        self._class[row] = screen_class(risk, owes=owes, in_call=in_call, closed=closed)
        self._irregular[row] = irregular

    def upsert_account(self, state: MarginAccount) -> None:
        """Set a client's row from its exact account state (after a load): the simplest way
        to keep the book current, idempotent whatever events it has or has not seen."""
        if not state.exists or state.status is Lifecycle.CLOSED:
            self.remove(state.client_id)
            return
        holdings = holdings_of(state)
        self.upsert(
            state.client_id,
            holdings.assets,
            holdings.debt,
            state.risk,
            in_call=state.margin_call is not None,
        )

    def remove(self, client_id: str) -> None:
        """Forget a client (no-op if absent); the last row moves into its place."""
        row = self._row.pop(client_id, None)
        if row is None:
            return
        last = len(self._clients) - 1
        if row != last:
            moved = self._clients[last]
            self._clients[row] = moved
            self._row[moved] = row
            self._held[row, :] = self._held[last, :]
            self._owed[row, :] = self._owed[last, :]
            self._class[row] = self._class[last]
            self._irregular[row] = self._irregular[last]
        self._clients.pop()

    def _append(self, client_id: str) -> int:
        row = len(self._clients)
        if row == self._class.shape[0]:
            self._grow_rows(2 * row)
        self._clients.append(client_id)
        self._row[client_id] = row
        return row

    def _grow_rows(self, rows: int) -> None:
        used = len(self._clients)
        self._held = _resized(self._held, rows, self._held.shape[1], used)
        self._owed = _resized(self._owed, rows, self._owed.shape[1], used)
        self._class = np.concatenate([self._class[:used], np.zeros(rows - used, np.uint8)])
        self._irregular = np.concatenate([self._irregular[:used], np.zeros(rows - used, np.bool_)])

    def _column(self, code: str, *, debt: bool) -> int:
        """The column of ``code`` among the debts or the holdings, added on first sight
        (raises UnknownAsset for a code that names no asset, as the valuation does)."""
        columns = self._currency_column if debt else self._asset_column
        column = columns.get(code)
        if column is not None:
            return column
        unit = asset(code).unit
        column = len(columns)
        columns[code] = column
        if debt:
            self._currency_codes.append(code)
            self._currency_units.append(unit)
            if column == self._owed.shape[1]:
                self._owed = _resized(self._owed, self._owed.shape[0], 2 * column, len(self))
        else:
            self._asset_codes.append(code)
            self._asset_units.append(unit)
            if column == self._held.shape[1]:
                self._held = _resized(self._held, self._held.shape[0], 2 * column, len(self))
        return column

    # ------------------------------------------------------------------------ reading

    def __len__(self) -> int:
        return len(self._clients)

    def __contains__(self, client_id: object) -> bool:
        return client_id in self._row

    @property
    def assets(self) -> tuple[str, ...]:
        """Every asset code ever held in the book (a column each)."""
        return tuple(self._asset_codes)

    @property
    def currencies(self) -> tuple[str, ...]:
        """Every currency ever owed in the book (a column each)."""
        return tuple(self._currency_codes)

    @property
    def nbytes(self) -> int:
        """Bytes held by the arrays (at their capacity; the id map is extra)."""
        arrays = (self._held, self._owed, self._class, self._irregular)
        return sum(int(array.nbytes) for array in arrays)

    def entry(self, client_id: str) -> BookEntry | None:
        """One client's row as the book holds it (None if absent): for tests and inspection."""
        row = self._row.get(client_id)
        if row is None:
            return None
        held = {c: float(self._held[row, n]) for n, c in enumerate(self._asset_codes)}
        owed = {c: float(self._owed[row, n]) for n, c in enumerate(self._currency_codes)}
        return BookEntry(
            {c: q for c, q in held.items() if q},
            {c: q for c, q in owed.items() if q},
            int(self._class[row]),
        )

    def quantities(self) -> Floats:
        """The held quantities (rows x asset columns, whole units): a view, do not change."""
        return self._held[: len(self), : len(self._asset_codes)]

    # ------------------------------------------------------------------------ screening

    def screen(self, prices: Mapping[str, Decimal], policy: CollateralPolicy) -> list[str]:
        """Every client whose exact risk check under ``prices`` and ``policy`` may record
        something (never one less; see the module doc), in row order."""
        return self._clients_at(self.screen_rows(prices, policy))

    def screen_rows(self, prices: Mapping[str, Decimal], policy: CollateralPolicy) -> Rows:
        """The rows :meth:`screen` names."""
        size = len(self)
        if size == 0:
            return np.zeros(0, dtype=np.intp)
        tick = _Tick(self, prices, policy)
        m = 2 * RELATIVE_MARGIN
        warning = float(policy.warning_utilisation)
        call = float(policy.margin_call_utilisation)
        sale = float(policy.forced_sale_utilisation)
        widen = (1 + m) / (1 - m)
        # Per class: quiet while D > lower x CV (provably above the level below the band)
        # and D x (1 + m) + slack <= upper x CV (provably within the level above it). A
        # healthy row has no level below (D >= 0 > -CV).
        lower = np.array([0.0, -1.0, warning * widen, call * widen])
        upper = np.array([0.0, warning, call, sale]) * (1 - m)
        slack = np.array([0.0, warning, call, sale]) * tick.value_slack + tick.debt_slack
        classes = self._class[:size]
        cv, owed = tick.marginable, tick.owed
        quiet = (owed > cv * lower[classes]) & (
            owed * (1 + m) + slack[classes] <= cv * upper[classes]
        )
        return np.flatnonzero(~quiet & (classes != IDLE) | tick.unbounded)

    def forced_sale_rows(self, prices: Mapping[str, Decimal], policy: CollateralPolicy) -> Rows:
        """Rows not yet in liquidation whose exact utilisation may be at or above the forced
        sale level under ``prices`` (what a liquidation engine watches)."""
        size = len(self)
        if size == 0:
            return np.zeros(0, dtype=np.intp)
        tick = _Tick(self, prices, policy)
        m = 2 * RELATIVE_MARGIN
        sale = float(policy.forced_sale_utilisation)
        slack = sale * tick.value_slack + tick.debt_slack
        below = tick.owed * (1 + m) + slack < tick.marginable * sale * (1 - m)
        return np.flatnonzero(~below & (self._class[:size] != IDLE) | tick.unbounded)

    def forced_sales(self, prices: Mapping[str, Decimal], policy: CollateralPolicy) -> list[str]:
        """The clients of :meth:`forced_sale_rows`."""
        return self._clients_at(self.forced_sale_rows(prices, policy))

    def stress_rows(self, prices: Mapping[str, Decimal], policy: CollateralPolicy) -> Rows:
        """Rows that owe something and whose exact figures under ``prices`` may be above the
        warning level, or short of the debt were everything sold (``harbour.ledger.stress``:
        collateral at its value less the liquidation fee, cash at its value) — whatever their
        recorded state, since a stress test asks where every account would stand. Every other
        row is provably healthy with nothing short, by the same bounds as :meth:`screen_rows`:
        each net proceeds line loses at most 2 cents to rounding (the value down, the fee up),
        so the exact net proceeds are at least the real ones less ``2A + 1`` cents."""
        size = len(self)
        if size == 0:
            return np.zeros(0, dtype=np.intp)
        assets, currencies = len(self._asset_codes), len(self._currency_codes)
        owes = (self._owed[:size, :currencies] != 0).any(axis=1)
        tick = _Tick(self, prices, policy, watched=owes)
        net = np.zeros(assets)
        keep_after_fee = _ONE - Fraction(policy.liquidation_fee)
        for column, code in enumerate(self._asset_codes):
            price = _price(prices, code)
            if price is not None:  # unpriced: worth 0 to the exact rule
                net[column] = float(price if asset(code).is_cash else price * keep_after_fee)
        proceeds = self._held[:size, :assets] @ net
        m = 2 * RELATIVE_MARGIN
        warning = float(policy.warning_utilisation)
        owed = tick.owed * (1 + m) + tick.debt_slack
        healthy = owed + warning * tick.value_slack <= tick.marginable * warning * (1 - m)
        covered = owed + _CENT * (2 * assets + 1) <= proceeds * (1 - m)
        return np.flatnonzero(owes & ~(healthy & covered) | tick.unbounded)

    def stresses(self, prices: Mapping[str, Decimal], policy: CollateralPolicy) -> list[str]:
        """The clients of :meth:`stress_rows`."""
        return self._clients_at(self.stress_rows(prices, policy))

    def _clients_at(self, rows: Rows) -> list[str]:
        clients = self._clients
        return [clients[row] for row in rows.tolist()]


class _Tick:
    """One tick's float figures for every row: CV and D in whole HKD, the slack that bounds
    the exact rule's rounding, and the rows the floats cannot bound (watched rows only)."""

    def __init__(
        self,
        book: RiskBook,
        prices: Mapping[str, Decimal],
        policy: CollateralPolicy,
        *,
        watched: NDArray[np.bool_] | None = None,
    ) -> None:
        """``watched``: the rows whose unboundable figures matter (default: not IDLE)."""
        size = len(book)
        assets, currencies = len(book._asset_codes), len(book._currency_codes)
        if (assets + currencies + 16) * _ERROR_PER_COLUMN > RELATIVE_MARGIN:
            raise ValueError("too many columns for the screen's margin to cover float error")
        # Per asset column: HKD of marginable value per whole unit, as the VA part or the rest.
        weights = np.zeros((assets, 2))
        for column, code in enumerate(book._asset_codes):
            price = _price(prices, code)
            if price is not None:  # the exact rule values an unpriced holding at 0
                keep = _ONE - Fraction(policy.haircut(code))
                weights[column, 0 if asset(code).is_virtual else 1] = float(price * keep)
        parts = book._held[:size, :assets] @ weights
        va, other = parts[:, 0], parts[:, 1]
        cap = Fraction(policy.va_share_cap)
        allowance = 0.0
        if cap >= 1:
            self.marginable: Floats = va + other
        else:
            allowance = float(cap / (1 - cap))
            self.marginable = other + np.minimum(va, other * allowance)
        rates = np.zeros(currencies)
        unpriced: list[int] = []
        for column, code in enumerate(book._currency_codes):
            price = _price(prices, code)
            if price is None:
                unpriced.append(column)
            else:
                rates[column] = float(price)
        self.owed: Floats = book._owed[:size, :currencies] @ rates
        # Whole HKD: what the exact rule's roundings may take from CV or add to D, plus a cent.
        self.value_slack = _CENT * (2 * assets * (1 + allowance) + 2)
        self.debt_slack = _CENT * (currencies + 1)
        if watched is None:
            watched = book._class[:size] != IDLE
        unbounded = book._irregular[:size] & watched
        if unpriced:
            unbounded |= (book._owed[:size, unpriced] != 0).any(axis=1) & watched
        self.unbounded: NDArray[np.bool_] = unbounded


def _price(prices: Mapping[str, Decimal], code: str) -> Fraction | None:
    """HKD per whole unit of ``code`` as an exact fraction; None when there is no price."""
    if code == REPORTING_CURRENCY.code:
        return _ONE
    price = prices.get(code)
    if price is None:
        return None
    if not price.is_finite() or price <= 0:
        raise ValueError(f"{code} has a price of {price}: prices are positive")
    return Fraction(price)


def _resized(array: Floats, rows: int, columns: int, used: int) -> Floats:
    grown = np.zeros((rows, columns), order="F")
    kept = min(array.shape[1], columns)
    grown[:used, :kept] = array[:used, :kept]
    return grown
