"""Stress tests: where the shocked prices would leave every account (docs/domain.md). Pure.

A scenario moves prices: a relative change per asset (BTC -30%, ETH -40%) and optionally one
for every security without its own (the index move). Under the shocked prices each account is
valued exactly as every risk decision values it (:class:`harbour.ledger.valuation.PriceBook`)
and counted by the state its utilisation implies — warned (WARNING), called (MARGIN_CALL),
liquidated (FORCED_SALE) — whatever it has recorded: a stress test asks where the book would
stand, and decides nothing.

The **expected shortfall** of the book is the sum over accounts of
``max(0, D - net proceeds)``, where the net proceeds are what selling everything at the shocked
prices would bring after the liquidation fee: per collateral line its market value (rounded
down, as any proceeds) less the fee on it (rounded up, as anything the client pays); cash is
applied at its value, with no sale and no fee. D is the debt in HKD (rounded up).

Which accounts need the exact rule at all is the risk book's business (``RiskBook.stresses``):
every other account is provably healthy with nothing short, so the counts and the shortfall
below are those of the exact rule over the whole book.

**Who.** Every account the shocked prices move out of healthy (warned, called or liquidated)
is listed with its implied state, utilisation, debt and shortfall, worst first, in
``StressTestAccountsListed`` pages of ``ACCOUNTS_PER_PAGE`` appended with the run in one
statement. So that the run stays one append (the store takes at most 1,000 events), at most
``MAX_PAGES`` pages — ``MAX_LISTED`` accounts — are listed; beyond that the least bad are
counted only (the run's counts minus ``accounts_listed``). A page of 1,000 is about 150 KB.
An account short though healthy (rare: it needs a warning level above
``(1 - fee) / (1 - haircut)`` of some collateral it holds, or a tiny account's rounding) is in
the count of the short and in the shortfall, and may be among the worst, but not in the
pages: it is not moved out of healthy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal, Inexact, localcontext

from harbour.ledger import events as ev
from harbour.ledger.assets import REPORTING_CURRENCY, AssetKind, asset
from harbour.ledger.errors import InvalidArgument
from harbour.ledger.money import Money
from harbour.ledger.policy import CollateralPolicy
from harbour.ledger.valuation import Holdings, ImpliedState, PriceBook, Valuation

MIN_CHANGE, MAX_CHANGE = Decimal(-1), Decimal(10)  # above -100% (prices stay positive) ... +1000%
CHANGE_DECIMALS = 6
MAX_SHOCKS = 100
MAX_WORST = 100
# The listing of the accounts moved out of healthy: pages of this many accounts, at most
# MAX_PAGES of them so that the run and its pages are one append of at most 1,000 events
# (harbour.eventstore.store.MAX_EVENTS_PER_APPEND; a test holds the two together).
ACCOUNTS_PER_PAGE = 1_000
MAX_PAGES = 999
MAX_LISTED = ACCOUNTS_PER_PAGE * MAX_PAGES
_HKD = REPORTING_CURRENCY


@dataclass(frozen=True)
class Scenario:
    name: str
    shocks: tuple[ev.PriceShock, ...]  # at most one per asset
    securities_shock: Decimal | None = None  # every security without a shock of its own


def check_change(change: Decimal, field: str) -> Decimal:
    """A shock's relative change: above -1, at most 10, at most 6 decimals."""
    exponent = change.as_tuple().exponent
    if not change.is_finite() or not isinstance(exponent, int):
        raise InvalidArgument.for_field(field, "must be a finite decimal")
    if -exponent > CHANGE_DECIMALS:
        raise InvalidArgument.for_field(field, f"at most {CHANGE_DECIMALS} decimals")
    if not MIN_CHANGE < change <= MAX_CHANGE:
        raise InvalidArgument.for_field(
            field, f"must be above {MIN_CHANGE} (a price stays positive) and at most {MAX_CHANGE}"
        )
    return change


def scenario(
    name: str, shocks: Sequence[ev.PriceShock], securities_shock: Decimal | None = None
) -> Scenario:
    """A checked scenario: each asset shocked once, never the reporting currency."""
    if len(shocks) > MAX_SHOCKS:
        raise InvalidArgument.for_field("shocks", f"at most {MAX_SHOCKS}")
    seen: set[str] = set()
    for index, shock in enumerate(shocks):
        code = asset(shock.asset, f"shocks[{index}].asset").code
        if code == _HKD.code:
            raise InvalidArgument.for_field(
                f"shocks[{index}].asset", f"{_HKD.code} is the reporting currency (always 1)"
            )
        if code in seen:
            raise InvalidArgument.for_field(f"shocks[{index}].asset", f"{code} is shocked twice")
        seen.add(code)
        check_change(shock.change, f"shocks[{index}].change")
    if securities_shock is not None:
        check_change(securities_shock, "securities_shock")
    return Scenario(name, tuple(shocks), securities_shock)


def shock_of(code: str, scenario: Scenario) -> Decimal | None:
    """The change the scenario applies to ``code`` (None: its price stays)."""
    for shock in scenario.shocks:
        if shock.asset == code:
            return shock.change
    if asset(code).kind is AssetKind.SECURITY:
        return scenario.securities_shock
    return None


def shocked_prices(
    prices: Mapping[str, ev.PricePoint], scenario: Scenario
) -> dict[str, ev.PricePoint]:
    """Every price moved by its shock, exactly (``price x (1 + change)``, no rounding)."""
    moved: dict[str, ev.PricePoint] = {}
    for code, point in prices.items():
        change = shock_of(code, scenario)
        if change is None or code == _HKD.code:
            moved[code] = point
            continue
        with localcontext() as exact:
            exact.prec = 200  # a product of two finite decimals: never near this
            exact.traps[Inexact] = True
            moved[code] = replace(point, price=point.price * (1 + change))
    return moved


@dataclass(frozen=True)
class AccountStress:
    """One account under the shocked prices, in HKD minor units."""

    client_id: str
    state: ImpliedState
    utilisation: Decimal | None  # None: unbounded
    debt: int
    net_proceeds: int
    shortfall: int  # max(0, debt - net proceeds)

    @property
    def moved(self) -> bool:
        """Moved out of healthy (warned, called or liquidated): what the pages list."""
        return self.state is not ImpliedState.HEALTHY

    @property
    def counts(self) -> bool:
        """Warned, called, liquidated or short: what the run reports (a healthy account
        with nothing short is as every account the book did not flag)."""
        return self.state is not ImpliedState.HEALTHY or self.shortfall > 0


def net_proceeds(valuation: Valuation, fee_rate: Decimal) -> int:
    """What selling every collateral line (cash applied as it is) would bring after the fee."""
    num, den = fee_rate.as_integer_ratio()
    total = 0
    for line in valuation.lines:
        proceeds = line.market_value
        if not asset(line.asset).is_cash and proceeds > 0:
            proceeds -= -((-proceeds * num) // den)  # the fee rounds up
        total += proceeds
    return total


class _Proceeds:
    """:func:`net_proceeds` from the holdings, without building a valuation's lines (which a
    batch defers: making them cost half a stress test). Per asset: HKD cents per minor unit
    as ``num / den`` (the valuation's own market value: ``floor(q x num / den)``), and
    whether it is sold (collateral: the fee applies) or applied (cash)."""

    def __init__(self, prices: Mapping[str, ev.PricePoint], fee_rate: Decimal) -> None:
        self._prices = prices
        self._fee = fee_rate.as_integer_ratio()
        self._rates: dict[str, tuple[int, int, bool]] = {}

    def _rate(self, code: str) -> tuple[int, int, bool]:
        rate = self._rates.get(code)
        if rate is None:
            held = asset(code)
            point = self._prices.get(code)
            if code == _HKD.code:
                num, den = 1, 1
            elif point is None:
                num, den = 0, 1  # unpriced: worth 0, as the valuation counts it
            else:
                p_num, p_den = point.price.as_integer_ratio()
                num, den = p_num * _HKD.unit, p_den * held.unit
            rate = self._rates[code] = (num, den, not held.is_cash)
        return rate

    def of(self, holdings: Holdings) -> int:
        fee_num, fee_den = self._fee
        total = 0
        for code, quantity in holdings.assets.items():
            num, den, sold = self._rate(code)
            proceeds = quantity * num // den  # rounds down, as any value the broker gets
            if sold and proceeds > 0:
                proceeds -= -((-proceeds * fee_num) // fee_den)  # the fee rounds up
            total += proceeds
        return total


def _utilisation(debt: int, marginable: int) -> Decimal | None:
    """D / CV in 6 decimals rounded up, None when unbounded: the valuation's reported figure,
    worked out here so that a batch's deferred lines are never built."""
    if debt <= 0:
        return Decimal(0)
    if marginable <= 0:
        return None
    return Decimal(-((-debt * 10**6) // marginable)).scaleb(-6)


def stress_accounts(
    holdings: Sequence[Holdings],
    shocked: Mapping[str, ev.PricePoint],
    policy: CollateralPolicy,
    now: datetime,
) -> list[AccountStress]:
    """Each account exactly under the shocked prices (PriceUnavailable for a debt currency
    with no price: such a debt cannot be stressed)."""
    book = PriceBook(shocked, policy, now)
    proceeds = _Proceeds(shocked, policy.liquidation_fee)
    stressed = []
    for one, valuation in zip(holdings, book.value_all(holdings), strict=True):
        net = proceeds.of(one)
        debt = valuation.debt
        stressed.append(
            AccountStress(
                valuation.client_id,
                valuation.state,
                _utilisation(debt, valuation.marginable_value),
                debt,
                net,
                max(0, debt - net),
            )
        )
    return stressed


@dataclass(frozen=True)
class StressSummary:
    accounts_tested: int
    warned: int
    called: int
    liquidated: int
    short: int
    shortfall: int  # HKD minor units
    worst: tuple[AccountStress, ...]
    valued_exactly: int
    # Every account moved out of healthy, worst first (the pages list the first MAX_LISTED).
    moved: tuple[AccountStress, ...] = ()


def summarise(
    accounts_tested: int, stressed: Iterable[AccountStress], *, worst: int = 10
) -> StressSummary:
    """The run's figures over the whole book, from the accounts valued exactly (every other
    account being healthy with nothing short). The worst are the accounts that count, by
    shortfall, then utilisation (unbounded first), then client id."""
    states = dict.fromkeys(ImpliedState, 0)
    short = shortfall = valued = 0
    counted: list[AccountStress] = []
    for one in stressed:
        valued += 1
        states[one.state] += 1
        if one.shortfall > 0:
            short += 1
            shortfall += one.shortfall
        if one.counts:
            counted.append(one)
    counted.sort(key=_badness)
    return StressSummary(
        accounts_tested,
        states[ImpliedState.WARNING],
        states[ImpliedState.MARGIN_CALL],
        states[ImpliedState.FORCED_SALE],
        short,
        shortfall,
        tuple(counted[:worst]),
        valued,
        tuple(one for one in counted if one.moved),
    )


def _badness(one: AccountStress) -> tuple[int, int, Decimal, str]:
    unbounded = one.utilisation is None
    utilisation = one.utilisation if one.utilisation is not None else Decimal(0)
    return (-one.shortfall, 0 if unbounded else 1, -utilisation, one.client_id)


def stress_test_run(
    run_id: str,
    scenario: Scenario,
    policy: CollateralPolicy,
    shocked: Mapping[str, ev.PricePoint],
    summary: StressSummary,
    *,
    now: datetime,
    book_position: int,
    requested_by: str,
) -> ev.StressTestRun:
    """The event that records a run: its inputs (scenario, policy, shocked prices) and its
    figures, so an auditor can recompute it. Its pages: :func:`listed_pages`."""
    listed = min(len(summary.moved), MAX_LISTED)
    return ev.StressTestRun(
        run_id=run_id,
        scenario=scenario.name,
        shocks=scenario.shocks,
        policy_version=policy.version,
        run_at=now,
        accounts_tested=summary.accounts_tested,
        accounts_in_margin_call=summary.called,
        accounts_liquidating=summary.liquidated,
        total_shortfall=Money(_HKD, summary.shortfall),
        accounts_warned=summary.warned,
        accounts_short=summary.short,
        securities_shock=scenario.securities_shock,
        prices=tuple(shocked[code] for code in sorted(shocked) if code != _HKD.code),
        worst_accounts=tuple(stressed_account(one) for one in summary.worst),
        accounts_flagged=summary.valued_exactly,
        book_position=book_position,
        requested_by=requested_by,
        accounts_listed=listed,
        account_pages=-(-listed // ACCOUNTS_PER_PAGE),
    )


def listed_pages(run_id: str, summary: StressSummary) -> list[ev.StressTestAccountsListed]:
    """The pages that follow the run: every account moved out of healthy, worst first, up to
    MAX_LISTED, ACCOUNTS_PER_PAGE to a page."""
    moved = summary.moved[:MAX_LISTED]
    return [
        ev.StressTestAccountsListed(
            run_id,
            number,
            tuple(stressed_account(one) for one in moved[start : start + ACCOUNTS_PER_PAGE]),
        )
        for number, start in enumerate(range(0, len(moved), ACCOUNTS_PER_PAGE), start=1)
    ]


def stressed_account(one: AccountStress) -> ev.StressedAccount:
    return ev.StressedAccount(
        one.client_id,
        one.utilisation,
        Money(_HKD, one.debt),
        Money(_HKD, one.shortfall),
        one.state.value,
    )
