"""Limits that hold all the time: measured figures, breach and clearance decided purely.

docs/domain.md sets four limits against the broker's own figures (policy parameters,
changed by maker and checker with an effective instant, see ``harbour.ledger.policy``):

* ``total_loans``: every margin loan outstanding, in HKD, at most ``limit.total_loans_multiple``
  x ``broker.capital`` (5 x by default). Broker-wide; subject ``broker``.
* ``single_client``: what one client or its related group owes, at most ``limit.single_client``
  x ``broker.shareholders_funds`` (20%). Subject: the group (a client alone is its own group).
* ``asset_concentration``: the market value of one virtual asset held as collateral by every
  client, at most ``limit.asset_exposure.<ASSET>`` x capital (BTC 2 x, ETH 1 x by default).
* ``security_concentration``: the same for one security (``limit.asset_exposure.0700.HK``).

An advance is refused when it would breach the first two (``harbour.ledger.exposure``); the
concentration limits are about collateral against capital, which an advance does not move, so
they are watched, not enforced at a draw. Everything else that moves a figure (interest
capitalised, a price, an FX rate, a capital cut, a group change, collateral deposited or sold)
cannot be refused, so it is *detected*: a breach and its clearance are recorded once per
transition. Where:

* broker-wide limits on the stream ``broker-limits`` (``BrokerLimitBreached``/``Cleared``),
  whose state is the set of limits now breached;
* the single-client limit on the stream of every member of the group
  (``ConcentrationLimitBreached``/``Cleared`` with ``limit`` ``single_client``), whose state is
  the account's ``breached_limits`` (the LIMIT_BREACH flag).

Each decision here compares a measured figure with the state of the stream it appends to, so
appending at the version it read makes a second monitor, or the same one after a restart,
record nothing twice. Measured amounts round up (a limit measure never flatters the broker);
limit amounts round down (``CollateralPolicy``).

Pure: no I/O, no clock (the instant is an input).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import MappingProxyType

from harbour.ledger import events as ev
from harbour.ledger.account import MarginAccount
from harbour.ledger.assets import FIXED_ASSETS, REPORTING_CURRENCY, asset
from harbour.ledger.exposure import BrokerExposure, check_broker_limits, group_of
from harbour.ledger.money import Money, exact_product, round_up
from harbour.ledger.policy import CollateralPolicy

LIMITS_STREAM = "broker-limits"
BROKER = "broker"  # the subject of the total-loans limit

TOTAL_LOANS = "total_loans"
SINGLE_CLIENT = "single_client"
ASSET_CONCENTRATION = "asset_concentration"
SECURITY_CONCENTRATION = "security_concentration"
BROKER_WIDE = (TOTAL_LOANS, ASSET_CONCENTRATION, SECURITY_CONCENTRATION)

# What moved a figure (the ``cause`` of a breach or clearance).
CAUSE_DRAW = "draw"
CAUSE_REPAYMENT = "repayment"
CAUSE_CAPITALISATION = "capitalisation"
CAUSE_LIQUIDATION = "liquidation"
CAUSE_GROUP_CHANGE = "group_change"
CAUSE_PRICE = "price"
CAUSE_FX = "fx"
CAUSE_BROKER_FIGURES = "broker_figures"  # a policy version (capital, funds, limits) took effect
CAUSE_COLLATERAL = "collateral"
CAUSE_RECHECK = "recheck"  # a restart or a late event: re-measured, nothing specific moved
EXPOSURE_CAUSES = {
    "advance": CAUSE_DRAW,
    "repayment": CAUSE_REPAYMENT,
    "capitalisation": CAUSE_CAPITALISATION,
    "liquidation": CAUSE_LIQUIDATION,
    "shortfall": CAUSE_LIQUIDATION,
    "group_change": CAUSE_GROUP_CHANGE,
}

_HKD = REPORTING_CURRENCY


@dataclass(frozen=True)
class LimitFigure:
    """One limit measured: ``measured`` against ``limit`` (both HKD)."""

    kind: str
    subject: str
    measured: Money
    limit: Money

    @property
    def breached(self) -> bool:
        return self.measured > self.limit

    @property
    def headroom(self) -> Money:
        """What is left before the limit (negative: by how much it is exceeded)."""
        return Money(_HKD, self.limit.minor - self.measured.minor)

    @property
    def key(self) -> tuple[str, str]:
        return self.kind, self.subject


# ------------------------------------------------------------------------------ measuring


def concentration_kind(code: str) -> str:
    return ASSET_CONCENTRATION if asset(code).is_virtual else SECURITY_CONCENTRATION


def total_loans_figure(
    exposure: BrokerExposure, prices: Mapping[str, ev.PricePoint], policy: CollateralPolicy
) -> LimitFigure:
    """Every loan outstanding in HKD (a currency without a rate yet is left out)."""
    figures = check_broker_limits(exposure, "", Money.zero(_HKD), prices, policy)
    return LimitFigure(TOTAL_LOANS, BROKER, figures.total_after, policy.total_loans_limit)


def group_figure(
    exposure: BrokerExposure,
    group: str,
    prices: Mapping[str, ev.PricePoint],
    policy: CollateralPolicy,
) -> LimitFigure:
    """What ``group`` owes in HKD against the single-client limit."""
    figures = check_broker_limits(exposure, group, Money.zero(_HKD), prices, policy)
    return LimitFigure(SINGLE_CLIENT, group, figures.group_after, policy.single_client_limit_amount)


def concentration_figures(
    held: Mapping[str, int], prices: Mapping[str, ev.PricePoint], policy: CollateralPolicy
) -> list[LimitFigure]:
    """Per asset with a configured limit: every client's holding of it at market value.
    An asset never priced cannot be measured and is left out (it is valued at nothing
    anywhere else too)."""
    out = []
    for code in sorted(policy.asset_exposure_limits):
        limit = policy.asset_exposure_limit(code)
        point = prices.get(code)
        if limit is None or (point is None and held.get(code, 0)):
            continue
        quantity = held.get(code, 0)
        value = 0 if point is None else _market_value(code, quantity, point)
        out.append(LimitFigure(concentration_kind(code), code, Money(_HKD, value), limit))
    return out


def _market_value(code: str, quantity: int, point: ev.PricePoint) -> int:
    if point.base_asset != code or point.quote_asset != _HKD.code:
        raise ValueError(f"price for {code} is {point.base_asset}/{point.quote_asset}")
    return round_up(_HKD, exact_product(Money(asset(code), quantity), point.price))


def broker_figures(
    exposure: BrokerExposure,
    held: Mapping[str, int],
    prices: Mapping[str, ev.PricePoint],
    policy: CollateralPolicy,
) -> list[LimitFigure]:
    """Every broker-wide limit measured."""
    return [
        total_loans_figure(exposure, prices, policy),
        *concentration_figures(held, prices, policy),
    ]


def limits_moved(
    before: CollateralPolicy | None, after: CollateralPolicy
) -> frozenset[tuple[str, str]]:
    """The limits whose amount a policy version taking effect changed, by (kind, subject);
    ``(SINGLE_CLIENT, "")`` stands for every group's. Only these can flip by the version
    alone; which did is told by measuring them under the new policy on the inputs of the
    previous decision (``decide_broker_limits(policy_only=...)``), so a cause does not depend
    on how a monitor happened to group the events it read."""
    if before is None:
        return frozenset()
    moved = set()
    if before.total_loans_limit != after.total_loans_limit:
        moved.add((TOTAL_LOANS, BROKER))
    if before.single_client_limit_amount != after.single_client_limit_amount:
        moved.add((SINGLE_CLIENT, ""))
    for code in set(before.asset_exposure_limits) | set(after.asset_exposure_limits):
        if before.asset_exposure_limit(code) != after.asset_exposure_limit(code):
            moved.add((concentration_kind(code), code))
    return frozenset(moved)


def groups_flipped_by_policy(
    exposure: BrokerExposure,
    groups: Iterable[str],
    prices: Mapping[str, ev.PricePoint],
    before: CollateralPolicy,
    after: CollateralPolicy,
) -> set[str]:
    """The ``groups`` whose single-client limit a version flips on its own: over the limit
    under one policy and within it under the other, on the same ``exposure``."""
    if before.single_client_limit_amount == after.single_client_limit_amount:
        return set()
    return {
        group
        for group in groups
        if group_figure(exposure, group, prices, before).breached
        != group_figure(exposure, group, prices, after).breached
    }


def limit_report(
    exposure: BrokerExposure,
    held: Mapping[str, int],
    prices: Mapping[str, ev.PricePoint],
    policy: CollateralPolicy,
) -> list[LimitFigure]:
    """Every limit as of the inputs' instant: the broker-wide ones, then every group that
    owes anything, least headroom first."""
    groups = [group_figure(exposure, group, prices, policy) for group in exposure.by_group]
    groups.sort(key=lambda figure: (figure.headroom.minor, figure.subject))
    return [*broker_figures(exposure, held, prices, policy), *groups]


def held_codes(policy: CollateralPolicy) -> frozenset[str]:
    """The assets a concentration limit watches."""
    return frozenset(policy.asset_exposure_limits)


def priced_codes(exposure: BrokerExposure, policy: CollateralPolicy) -> set[str]:
    """Every asset whose price a measure needs: the loan currencies and the watched assets."""
    return ({code for code, _ in exposure.total} | set(policy.asset_exposure_limits)) - {_HKD.code}


def is_fx(code: str) -> bool:
    """A price of a cash currency is an FX rate (USD/HKD, USDT/HKD)."""
    known = FIXED_ASSETS.get(code)
    return known is not None and known.is_cash


def basis_of(
    policy: CollateralPolicy, prices: Mapping[str, ev.PricePoint], now: datetime
) -> ev.DecisionBasis:
    """What a measure rested on: the policy version (the broker's figures) and every price."""
    return ev.DecisionBasis(policy.version, tuple(prices[code] for code in sorted(prices)), now)


# ------------------------------------------------------------------------------ broker-limits


@dataclass(frozen=True)
class BrokerLimits:
    """The state of ``broker-limits``: each broker-wide limit now breached, with the figure
    that breached it."""

    breached: Mapping[tuple[str, str], ev.BrokerLimitBreached] = field(
        default_factory=lambda: MappingProxyType({})
    )

    @classmethod
    def of_stream(cls, stream: str) -> BrokerLimits:
        return cls()


def evolve_limits(state: BrokerLimits, event: ev.Event) -> BrokerLimits:
    """The state after ``event``; never validates."""
    match event:
        case ev.BrokerLimitBreached():
            breached = {**state.breached, (event.limit, event.subject): event}
            return replace(state, breached=MappingProxyType(breached))
        case ev.BrokerLimitCleared():
            remaining = {
                key: value
                for key, value in state.breached.items()
                if key != (event.limit, event.subject)
            }
            return replace(state, breached=MappingProxyType(remaining))
    return state


def decide_broker_limits(
    state: BrokerLimits,
    figures: Iterable[LimitFigure],
    causes: Mapping[tuple[str, str], str],
    basis: ev.DecisionBasis,
    *,
    otherwise: str = CAUSE_RECHECK,
    policy_only: Iterable[LimitFigure] = (),
) -> list[ev.Event]:
    """A breach for every figure above its limit that was not breached, a clearance for every
    breached one now within it; nothing for a limit where its stream says it is. A limit that
    could not be measured (no figure) keeps its state. ``causes`` says what moved each limit
    (by kind and subject); a limit not in it was moved by ``otherwise``. ``policy_only``: the
    limits under the policy now in force on the previous decision's inputs (a version took
    effect since); a limit that flips on them alone was flipped by the broker's figures,
    whatever else moved in the same round."""
    by_policy = {f.key for f in policy_only if f.breached != (f.key in state.breached)}
    events: list[ev.Event] = []
    for figure in figures:
        if figure.kind not in BROKER_WIDE:
            raise ValueError(f"{figure.kind} is not a broker-wide limit")
        cause = (
            CAUSE_BROKER_FIGURES if figure.key in by_policy else causes.get(figure.key, otherwise)
        )
        was = figure.key in state.breached
        if figure.breached and not was:
            events.append(
                ev.BrokerLimitBreached(
                    figure.kind, figure.subject, figure.measured, figure.limit, cause, basis
                )
            )
        elif was and not figure.breached:
            events.append(
                ev.BrokerLimitCleared(
                    figure.kind, figure.subject, figure.measured, figure.limit, cause, basis
                )
            )
    return events


# ------------------------------------------------------------------------------ a client


def client_breached(account: MarginAccount) -> bool:
    return SINGLE_CLIENT in account.breached_limits


def decide_client_limit(
    account: MarginAccount,
    exposure: BrokerExposure,
    prices: Mapping[str, ev.PricePoint],
    policy: CollateralPolicy,
    cause: str,
    basis: ev.DecisionBasis,
) -> list[ev.Event]:
    """The single-client limit on ``account``'s stream: its group (as the account says now)
    measured on ``exposure``; a breach or clearance when the account's flag differs."""
    if not account.exists:
        return []
    figure = group_figure(exposure, group_of(account), prices, policy)
    was = client_breached(account)
    client = account.client_id
    if figure.breached and not was:
        return [
            ev.ConcentrationLimitBreached(
                client, SINGLE_CLIENT, figure.measured, figure.limit, figure.subject, cause, basis
            )
        ]
    if was and not figure.breached:
        return [
            ev.ConcentrationLimitCleared(
                client, SINGLE_CLIENT, figure.measured, figure.limit, figure.subject, cause, basis
            )
        ]
    return []


# ------------------------------------------------------------------------------ group moves


def group_move(
    before: MarginAccount, change: ev.RelatedGroupChanged, reference: str
) -> list[ev.BrokerExposureChanged]:
    """The exposure a group change carries over: the client's principal, as it stood just
    before the change (every earlier advance, repayment and capitalisation was recorded
    under the old group; every later one under the new), leaves the old group for the new.
    Nothing when the group is the same or nothing is owed."""
    old = group_of(before)
    new = change.related_group_id or before.client_id
    if old == new:
        return []
    moves: list[ev.BrokerExposureChanged] = []
    for code, minor in before.principal:
        if minor == 0:
            continue
        amount = Money(asset(code), minor)
        moves.append(
            ev.BrokerExposureChanged(before.client_id, old, -amount, "group_change", reference)
        )
        moves.append(
            ev.BrokerExposureChanged(before.client_id, new, amount, "group_change", reference)
        )
    return moves
