"""Reports people look at: one margin account, or the whole book, as one self-contained page.

Every figure comes from raw events read from the ``events`` table — never a snapshot, never a
read model — folded with the services' own ``evolve`` functions (as ``harbour audit replay
--state`` does), so a report shows what the ledger recorded and can be re-made for any past
instant (``as_of``: events recorded at or before it):

* **account** (``account-<id>``, its hash chain verified on the way):
  - utilisation over time: the ``RiskFigures`` each decision event recorded (advance, warning,
    call, call met, liquidation start and end, collateral withdrawal) — what the ledger decided
    on, not a recomputation — plus the ledger's valuation at the report instant;
  - collateral by asset and the closing figures: ``harbour.ledger.valuation`` of the rebuilt
    account on the last price of each ``price-<ASSET>`` stream and the policy in force then;
  - loan and interest: the balances the journals left (principal, accrued interest, fees,
    shortfall) after every value-moving event, and the totals drawn, repaid, accrued, charged;
  - every margin call (issued, met, expired, overtaken by a forced sale) and every fill.
* **book** (every stream): exposure by asset (the sum of each account's valuation lines),
  accounts by recorded risk state, concentration against the limits as the limit monitor
  measures them (``harbour.ledger.limits.limit_report`` on the ``broker-exposure`` stream and
  the collateral held: total loans against 5 x capital, each asset with a policy limit against
  its multiple of capital, the groups nearest their 20% of shareholders' funds, with the
  broker's figures of the policy in force), calls issued, met and expired, liquidations and
  their fills, affiliated against independent.

Money stays exact (``int`` minor units, ``Decimal`` prices and ratios) up to the page; a chart
turns a ``Decimal`` into a coordinate (``harbour.audit.charts``). The page is rendered with
Jinja2 from ``templates/`` and needs nothing else: inline CSS, inline SVG, one inline script
that checks its charts are there and records any script error into the page.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from enum import Enum
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from harbour.application.decoding import domain_event
from harbour.audit.charts import Bar, Point, Series, Threshold, bar_chart, line_chart
from harbour.audit.replay import ACCOUNT_PREFIX, rebuild_policy, rebuild_price
from harbour.eventstore.model import RecordedEvent
from harbour.eventstore.store import EventStore
from harbour.eventstore.verify import ChainVerifier
from harbour.ledger import events as ev
from harbour.ledger.account import Lifecycle, MarginAccount, RiskState, evolve
from harbour.ledger.assets import REPORTING_CURRENCY, asset
from harbour.ledger.balances import EMPTY, Balances
from harbour.ledger.codec import DecodeError
from harbour.ledger.errors import PriceUnavailable
from harbour.ledger.exposure import EXPOSURE_STREAM, BrokerExposure, replay_exposure
from harbour.ledger.limits import SINGLE_CLIENT, TOTAL_LOANS, LimitFigure, limit_report
from harbour.ledger.money import Money, format_decimal, format_minor
from harbour.ledger.policy import POLICY_STREAM, CollateralPolicy
from harbour.ledger.prices import PRICE_STREAM_PREFIX, price_stream
from harbour.ledger.valuation import PriceBook, Valuation, holdings_of

_HKD = REPORTING_CURRENCY.code
_HUNDRED = Decimal(100)
_CENT = Decimal("0.01")
TOP_GROUPS = 10  # the related groups shown against the single-client limit, least headroom first

# ------------------------------------------------------------------------------ what is read


@dataclass(frozen=True)
class Fact:
    """One recorded event as a report reads it: where and when, and what it says."""

    position: int
    stream_id: str
    version: int
    recorded_at: datetime
    event: ev.Event


def fact_of(recorded: RecordedEvent) -> Fact:
    """Raises DecodeError for an event outside the vocabulary."""
    return Fact(
        recorded.position,
        recorded.stream_id,
        recorded.version,
        recorded.recorded_at,
        domain_event(recorded),
    )


# ------------------------------------------------------------------------------ the account


@dataclass(frozen=True)
class UtilisationPoint:
    """The risk figures at one moment: recorded by a decision, or valued for the report."""

    at: datetime
    position: int  # 0 for the valuation at the report instant
    source: str  # the decision event's type, or "valuation at the report instant"
    figures: ev.RiskFigures


@dataclass(frozen=True)
class DebtPoint:
    """What the client owed in the loan currency after one value-moving event (minor units)."""

    at: datetime
    position: int
    event_type: str
    principal: int
    interest: int
    fees: int


@dataclass(frozen=True)
class CallRow:
    call_id: str
    issued_at: datetime
    amount: Money
    deadline: datetime
    utilisation: Decimal | None
    outcome: str = "open"  # open | met | expired | liquidated
    outcome_at: datetime | None = None


@dataclass(frozen=True)
class FillRow:
    liquidation_id: str
    fill_id: str
    executed_at: datetime
    quantity: Money
    price: Decimal
    proceeds: Money
    fee: Money
    venue: str
    counterparty: str
    affiliated: bool
    quote: Decimal
    best_independent_quote: Decimal


@dataclass(frozen=True)
class LiquidationRow:
    liquidation_id: str
    started_at: datetime
    trigger: str
    target_utilisation: Decimal
    outcome: str = "running"  # running | target_reached | cured | deficit
    ended_at: datetime | None = None


@dataclass(frozen=True)
class LoanTotals:
    """What moved over the account's life, per currency (minor units)."""

    drawn: Balances = EMPTY
    repaid: Balances = EMPTY
    interest_accrued: Balances = EMPTY
    interest_capitalised: Balances = EMPTY
    fees_charged: Balances = EMPTY
    liquidation_proceeds_applied: Balances = EMPTY


@dataclass(frozen=True)
class AccountReport:
    client_id: str
    instant: datetime
    state: MarginAccount
    policy: CollateralPolicy
    valuation: Valuation | None  # None: a debt currency had no price
    utilisation: tuple[UtilisationPoint, ...]
    debt: tuple[DebtPoint, ...]
    loan_currency: str
    totals: LoanTotals
    calls: tuple[CallRow, ...]
    fills: tuple[FillRow, ...]
    liquidations: tuple[LiquidationRow, ...]
    events_replayed: int
    last_position: int
    chain_breaks: tuple[str, ...]


def _figures_of(event: ev.Event) -> ev.RiskFigures | None:
    """The risk figures a decision event recorded (after the decision), if it records any."""
    for name in ("risk_after", "risk"):
        figures = getattr(event, name, None)
        if isinstance(figures, ev.RiskFigures):
            return figures
    return None


@dataclass
class _AccountTimeline:
    """Folds one account's facts: the state, and the history the report charts and lists."""

    client_id: str
    state: MarginAccount = field(init=False)
    utilisation: list[UtilisationPoint] = field(default_factory=list)
    debt: list[DebtPoint] = field(default_factory=list)
    calls: dict[str, CallRow] = field(default_factory=dict)
    fills: list[FillRow] = field(default_factory=list)
    liquidations: dict[str, LiquidationRow] = field(default_factory=dict)
    totals: LoanTotals = field(default_factory=LoanTotals)

    def __post_init__(self) -> None:
        self.state = MarginAccount.initial(self.client_id)

    @property
    def loan_currency(self) -> str:
        limit = self.state.credit_limit
        return limit.asset.code if limit is not None else _HKD

    def feed(self, fact: Fact) -> None:
        event = fact.event
        self.state = evolve(self.state, event)
        figures = _figures_of(event)
        if figures is not None:
            self.utilisation.append(
                UtilisationPoint(fact.recorded_at, fact.position, type(event).__name__, figures)
            )
        if ev.journal_of(event) is not None:
            self._debt_after(fact)
        self._totals(event)
        self._calls_and_sales(fact)

    def _debt_after(self, fact: Fact) -> None:
        code = self.loan_currency
        self.debt.append(
            DebtPoint(
                fact.recorded_at,
                fact.position,
                type(fact.event).__name__,
                self.state.principal.get(code),
                self.state.accrued_interest.get(code),
                self.state.unpaid_fees.get(code),
            )
        )

    def _totals(self, event: ev.Event) -> None:
        t = self.totals
        match event:
            case ev.LoanAdvanced():
                t = replace(t, drawn=_plus(t.drawn, event.amount))
            case ev.LoanRepaid():
                t = replace(t, repaid=_plus(t.repaid, event.amount))
            case ev.InterestAccrued():
                t = replace(t, interest_accrued=_plus(t.interest_accrued, event.amount))
            case ev.InterestCapitalised():
                t = replace(t, interest_capitalised=_plus(t.interest_capitalised, event.amount))
            case ev.FeeCharged():
                t = replace(t, fees_charged=_plus(t.fees_charged, event.amount))
            case ev.LiquidationProceedsApplied():
                t = replace(
                    t,
                    liquidation_proceeds_applied=_plus(
                        t.liquidation_proceeds_applied, event.amount
                    ),
                )
        self.totals = t

    def _calls_and_sales(self, fact: Fact) -> None:
        event, at = fact.event, fact.recorded_at
        match event:
            case ev.MarginCallIssued():
                self.calls[event.call_id] = CallRow(
                    event.call_id, at, event.call_amount, event.deadline, event.risk.utilisation
                )
            case ev.MarginCallMet():
                self._call_ends(event.call_id, "met", at)
            case ev.MarginCallExpired():
                self._call_ends(event.call_id, "expired", at)
            case ev.LiquidationStarted():
                for call in list(self.calls.values()):
                    if call.outcome == "open":
                        self._call_ends(call.call_id, "liquidated", at)
                self.liquidations[event.liquidation_id] = LiquidationRow(
                    event.liquidation_id,
                    at,
                    event.trigger.value,
                    event.target_utilisation,
                )
            case ev.LiquidationFillExecuted():
                self.fills.append(_fill_row(event))
            case ev.LiquidationCompleted():
                self._sale_ends(event.liquidation_id, event.outcome, at)
            case ev.ShortfallRecognised():
                self._sale_ends(event.liquidation_id, "deficit", at)

    def _call_ends(self, call_id: str, outcome: str, at: datetime) -> None:
        call = self.calls.get(call_id)
        # A call expires, then is overtaken by the sale: its first ending is the outcome.
        if call is not None and call.outcome == "open":
            self.calls[call_id] = replace(call, outcome=outcome, outcome_at=at)

    def _sale_ends(self, liquidation_id: str, outcome: str, at: datetime) -> None:
        sale = self.liquidations.get(liquidation_id)
        if sale is not None:
            self.liquidations[liquidation_id] = replace(sale, outcome=outcome, ended_at=at)


def _fill_row(event: ev.LiquidationFillExecuted) -> FillRow:
    return FillRow(
        event.liquidation_id,
        event.fill_id,
        event.executed_at,
        event.quantity,
        event.price,
        event.proceeds,
        event.fee,
        event.venue,
        event.counterparty,
        event.affiliated,
        event.quote,
        event.best_independent_quote,
    )


def _plus(balances: Balances, amount: Money) -> Balances:
    return balances.add(amount.asset.code, amount.minor)


def build_account_report(
    client_id: str,
    facts: Iterable[Fact],
    *,
    prices: Mapping[str, ev.PricePoint],
    policy: CollateralPolicy,
    instant: datetime,
    chain_breaks: Sequence[str] = (),
) -> AccountReport:
    """The account report from its stream's facts (pure: the caller reads and verifies)."""
    timeline = _AccountTimeline(client_id)
    count, last = 0, 0
    for fact in facts:
        timeline.feed(fact)
        count, last = count + 1, fact.position
    valuation = _value(timeline.state, prices, policy, instant)
    utilisation = list(timeline.utilisation)
    if valuation is not None and timeline.state.exists:
        utilisation.append(
            UtilisationPoint(instant, 0, "valuation at the report instant", valuation.figures())
        )
    return AccountReport(
        client_id=client_id,
        instant=instant,
        state=timeline.state,
        policy=policy,
        valuation=valuation,
        # In time order: with --as-of in the past, "now" is still after every recorded point.
        utilisation=tuple(sorted(utilisation, key=lambda p: p.at)),
        debt=tuple(timeline.debt),
        loan_currency=timeline.loan_currency,
        totals=timeline.totals,
        calls=tuple(timeline.calls.values()),
        fills=tuple(timeline.fills),
        liquidations=tuple(timeline.liquidations.values()),
        events_replayed=count,
        last_position=last,
        chain_breaks=tuple(chain_breaks),
    )


def _value(
    account: MarginAccount,
    prices: Mapping[str, ev.PricePoint],
    policy: CollateralPolicy,
    instant: datetime,
) -> Valuation | None:
    try:
        return PriceBook(prices, policy, instant).value(holdings_of(account))
    except PriceUnavailable:
        return None


# ------------------------------------------------------------------------------ the book


@dataclass(frozen=True)
class AssetExposure:
    """One asset across the book: quantity held (cash and collateral), how many accounts hold
    it, and its value in HKD minor units as the accounts' valuations give it."""

    asset: str
    quantity: int
    holders: int
    market_value: int
    marginable_value: int  # before the VA share cap
    price: Decimal | None
    limit: Money | None  # the policy's limit.asset_exposure x capital, where it names one


@dataclass(frozen=True)
class Concentration:
    """A limit and how much of it is used (HKD, as the ledger's limit monitor measures it)."""

    name: str
    rule: str
    exposure: Money
    limit: Money

    @property
    def used(self) -> Decimal:
        """Share of the limit used, in percent (0 for a limit of zero)."""
        if self.limit.minor <= 0:
            return Decimal(0)
        return Decimal(self.exposure.minor) * _HUNDRED / Decimal(self.limit.minor)

    @property
    def used_text(self) -> str:
        return f"{self.used.quantize(_CENT)}%"


@dataclass(frozen=True)
class CallTally:
    issued: int = 0
    met: int = 0
    expired: int = 0
    liquidated: int = 0  # still open when a forced sale started
    open: int = 0


@dataclass(frozen=True)
class FillTally:
    fills: int = 0
    quantity: Balances = EMPTY
    proceeds: Balances = EMPTY
    fees: Balances = EMPTY
    # An affiliated fill below the best independent quote breaks the safeguard (should be 0).
    below_best_independent: int = 0


@dataclass(frozen=True)
class BookReport:
    instant: datetime
    events_read: int
    streams: int
    policy: CollateralPolicy
    accounts: int
    exposure_by_asset: tuple[AssetExposure, ...]
    loans: Balances  # outstanding principal per currency, from broker-exposure
    risk_states: tuple[tuple[str, int], ...]
    lifecycle: tuple[tuple[str, int], ...]
    suspended: int
    limit_breached: int
    concentration: tuple[Concentration, ...]
    calls: CallTally
    liquidations_started: tuple[tuple[str, int], ...]  # by trigger
    liquidations_ended: tuple[tuple[str, int], ...]  # by outcome
    liquidations_running: int
    affiliated: FillTally
    independent: FillTally
    unvalued_accounts: tuple[str, ...]  # a debt currency without a price
    undecodable_events: int


@dataclass
class BookFold:
    """Folds every fact of the store (in position order) into what the book report shows."""

    accounts: dict[str, _AccountTimeline] = field(default_factory=dict)
    policy_events: list[ev.Event] = field(default_factory=list)
    price_events: dict[str, list[ev.Event]] = field(default_factory=dict)
    exposure_events: list[ev.Event] = field(default_factory=list)
    streams: set[str] = field(default_factory=set)
    events_read: int = 0
    undecodable: int = 0

    def feed(self, fact: Fact) -> None:
        self.events_read += 1
        self.streams.add(fact.stream_id)
        stream = fact.stream_id
        if stream.startswith(ACCOUNT_PREFIX):
            client = stream.removeprefix(ACCOUNT_PREFIX)
            timeline = self.accounts.get(client)
            if timeline is None:
                timeline = self.accounts[client] = _AccountTimeline(client)
            timeline.feed(fact)
        elif stream == POLICY_STREAM:
            self.policy_events.append(fact.event)
        elif stream.startswith(PRICE_STREAM_PREFIX):
            self.price_events.setdefault(stream, []).append(fact.event)
        elif stream == EXPOSURE_STREAM:
            self.exposure_events.append(fact.event)

    def skip(self, recorded: RecordedEvent) -> None:
        """An event outside the vocabulary: counted, shown, and otherwise left out."""
        self.events_read += 1
        self.streams.add(recorded.stream_id)
        self.undecodable += 1

    def prices(self) -> dict[str, ev.PricePoint]:
        return _last_prices(self.price_events)

    def report(self, instant: datetime) -> BookReport:
        policy = rebuild_policy(self.policy_events).as_of(instant)
        prices = self.prices()
        onboarded = [t for t in self.accounts.values() if t.state.exists]
        exposure_by_asset, unvalued = _exposure_by_asset(onboarded, prices, policy, instant)
        exposure = replay_exposure(self.exposure_events)
        affiliated, independent = _fill_tallies(onboarded)
        started = Counter(sale.trigger for t in onboarded for sale in t.liquidations.values())
        ended = Counter(
            sale.outcome
            for t in onboarded
            for sale in t.liquidations.values()
            if sale.outcome != "running"
        )
        return BookReport(
            instant=instant,
            events_read=self.events_read,
            streams=len(self.streams),
            policy=policy,
            accounts=len(onboarded),
            exposure_by_asset=exposure_by_asset,
            loans=exposure.total,
            risk_states=_counted((t.state.risk.value for t in onboarded), RiskState),
            lifecycle=_counted(
                (t.state.status.value for t in onboarded),
                [kind for kind in Lifecycle if kind is not Lifecycle.NOT_ONBOARDED],
            ),
            suspended=sum(t.state.suspended for t in onboarded),
            limit_breached=sum(t.state.limit_breach for t in onboarded),
            concentration=_concentration(exposure, onboarded, prices, policy),
            calls=_call_tally(onboarded),
            liquidations_started=tuple(sorted(started.items())),
            liquidations_ended=tuple(sorted(ended.items())),
            liquidations_running=sum(
                sale.outcome == "running" for t in onboarded for sale in t.liquidations.values()
            ),
            affiliated=affiliated,
            independent=independent,
            unvalued_accounts=tuple(unvalued),
            undecodable_events=self.undecodable,
        )


def _last_prices(price_events: Mapping[str, Sequence[ev.Event]]) -> dict[str, ev.PricePoint]:
    prices: dict[str, ev.PricePoint] = {}
    for stream, events in price_events.items():
        track = rebuild_price(stream, events)
        if track.last is not None and track.last.quote_asset == _HKD:
            prices[track.asset] = track.last
    return prices


def _counted(values: Iterable[str], kinds: Iterable[Enum]) -> tuple[tuple[str, int], ...]:
    """Counts per state, every state in ``kinds`` listed (zero included) in its order."""
    counts = Counter(values)
    return tuple((kind.value, counts.get(kind.value, 0)) for kind in kinds)


def _exposure_by_asset(
    accounts: Sequence[_AccountTimeline],
    prices: Mapping[str, ev.PricePoint],
    policy: CollateralPolicy,
    instant: datetime,
) -> tuple[tuple[AssetExposure, ...], list[str]]:
    book = PriceBook(prices, policy, instant)
    quantity: Counter[str] = Counter()
    holders: Counter[str] = Counter()
    market: Counter[str] = Counter()
    marginable: Counter[str] = Counter()
    unvalued: list[str] = []
    for timeline in accounts:
        try:
            valuation = book.value(holdings_of(timeline.state))
        except PriceUnavailable:
            unvalued.append(timeline.client_id)
            continue
        for line in valuation.lines:
            quantity[line.asset] += line.quantity
            holders[line.asset] += 1
            market[line.asset] += line.market_value
            marginable[line.asset] += line.marginable_value
    rows = [
        AssetExposure(
            code,
            quantity[code],
            holders[code],
            market[code],
            marginable[code],
            None if code == _HKD or code not in prices else prices[code].price,
            policy.asset_exposure_limit(code),
        )
        for code in sorted(quantity, key=lambda c: (-market[c], c))
    ]
    return tuple(rows), unvalued


def _concentration(
    exposure: BrokerExposure,
    accounts: Sequence[_AccountTimeline],
    prices: Mapping[str, ev.PricePoint],
    policy: CollateralPolicy,
) -> tuple[Concentration, ...]:
    """The ledger's own limit figures (``harbour.ledger.limits.limit_report``, what the limit
    monitor measures): total loans against total_loans_multiple x capital, each asset with a
    policy limit against its multiple of capital, and the TOP_GROUPS groups with the least
    headroom against single_client x shareholders' funds."""
    held: Counter[str] = Counter()
    for timeline in accounts:
        for code, minor in timeline.state.collateral:
            held[code] += minor
    figures = limit_report(exposure, held, prices, policy)
    broker_wide = [f for f in figures if f.kind != SINGLE_CLIENT]
    groups = [f for f in figures if f.kind == SINGLE_CLIENT][:TOP_GROUPS]
    return tuple(_concentration_row(f, policy) for f in (*broker_wide, *groups))


def _concentration_row(figure: LimitFigure, policy: CollateralPolicy) -> Concentration:
    if figure.kind == TOTAL_LOANS:
        multiple = format_decimal(policy.total_loans_multiple.normalize())
        return Concentration(
            "total margin loans", f"{multiple} x capital", figure.measured, figure.limit
        )
    if figure.kind == SINGLE_CLIENT:
        share = format_decimal((policy.single_client_limit * _HUNDRED).normalize())
        rule = f"{share}% of shareholders' funds"
        return Concentration(f"group {figure.subject}", rule, figure.measured, figure.limit)
    multiple = format_decimal(policy.asset_exposure_limits[figure.subject].normalize())
    name = f"{figure.subject} held as collateral"
    return Concentration(name, f"{multiple} x capital", figure.measured, figure.limit)


def _call_tally(accounts: Sequence[_AccountTimeline]) -> CallTally:
    outcomes = Counter(call.outcome for t in accounts for call in t.calls.values())
    return CallTally(
        issued=sum(outcomes.values()),
        met=outcomes["met"],
        expired=outcomes["expired"],
        liquidated=outcomes["liquidated"],
        open=outcomes["open"],
    )


def _fill_tallies(accounts: Sequence[_AccountTimeline]) -> tuple[FillTally, FillTally]:
    affiliated, independent = FillTally(), FillTally()
    for timeline in accounts:
        for fill in timeline.fills:
            tally = affiliated if fill.affiliated else independent
            tally = FillTally(
                tally.fills + 1,
                _plus(tally.quantity, fill.quantity),
                _plus(tally.proceeds, fill.proceeds),
                _plus(tally.fees, fill.fee),
                tally.below_best_independent
                + (fill.affiliated and fill.price < fill.best_independent_quote),
            )
            if fill.affiliated:
                affiliated = tally
            else:
                independent = tally
    return affiliated, independent


# ------------------------------------------------------------------------------ reading


async def read_account_report(
    store: EventStore, client_id: str, *, instant: datetime, as_of: datetime | None
) -> AccountReport:
    """The account report from raw events recorded up to ``as_of`` (all of them: None), its
    chain verified; ``instant`` picks the policy in force and values the account."""
    recorded = await store.read_stream(f"{ACCOUNT_PREFIX}{client_id}", recorded_until=as_of)
    verifier = ChainVerifier()
    facts: list[Fact] = []
    for one in recorded:
        verifier.check(one)
        facts.append(fact_of(one))
    policy = rebuild_policy(await _events(store, POLICY_STREAM, as_of)).as_of(instant)
    held = {code for f in facts for code in _postings(f.event)}
    price_events = {
        price_stream(code): await _events(store, price_stream(code), as_of)
        for code in sorted(held)
        if code != _HKD
    }
    breaks = [f"position {b.position} (v{b.version}): {b.reason}" for b in verifier.breaks]
    return build_account_report(
        client_id,
        facts,
        prices=_last_prices(price_events),
        policy=policy,
        instant=instant,
        chain_breaks=breaks,
    )


def _postings(event: ev.Event) -> Iterable[str]:
    journal = ev.journal_of(event)
    return () if journal is None else journal.assets


async def _events(store: EventStore, stream_id: str, as_of: datetime | None) -> list[ev.Event]:
    return [domain_event(r) for r in await store.read_stream(stream_id, recorded_until=as_of)]


async def read_book_report(
    store: EventStore, *, instant: datetime, as_of: datetime | None
) -> BookReport:
    """The book report from every event recorded up to ``as_of`` (None: all of them)."""
    fold = BookFold()
    async for recorded in _every_event(store):
        if as_of is not None and recorded.recorded_at > as_of:
            continue  # positions are not in recording order across streams: read them all
        try:
            fold.feed(fact_of(recorded))
        except DecodeError:
            fold.skip(recorded)
    return fold.report(instant)


async def _every_event(store: EventStore) -> AsyncIterator[RecordedEvent]:
    after = 0
    while page := await store.read_all(after_position=after):
        for recorded in page:
            yield recorded
        after = page[-1].position


# ------------------------------------------------------------------------------ rendering


@cache
def _environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("harbour.audit", "templates"),
        autoescape=True,
        undefined=StrictUndefined,  # a misspelt figure fails the render, not shows blank
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(
        amount=amount_text,
        minor=minor_text,
        plain=plain_text,
        canonical=canonical,
        percent=percent_text,
        when=when_text,
        decimal=format_decimal,
    )
    return environment


def amount_text(money: Money) -> str:
    """``1,234,567.89 HKD``: exact, with thousands separators, every decimal of the scale."""
    return f"{_grouped(format_minor(money.asset, money.minor))} {money.asset.code}"


def minor_text(minor: int, code: str) -> str:
    return amount_text(Money(asset(code), minor))


def plain_text(minor: int, code: str) -> str:
    """The ledger's own text of ``minor`` units of ``code`` ("400000.00")."""
    return format_minor(asset(code), minor)


def canonical(money: Money) -> str:
    """The ledger's own text of an amount ("400000.00"): what ``data-value`` carries."""
    return format_minor(money.asset, money.minor)


def percent_text(ratio: Decimal | None) -> str:
    """A ratio as a percentage with two decimals ("91.25%"); None is unbounded ("∞")."""
    if ratio is None:
        return "∞"
    return f"{(ratio * _HUNDRED).quantize(_CENT)}%"


def when_text(at: datetime | None) -> str:
    return "" if at is None else at.strftime("%Y-%m-%d %H:%M:%S %Z").strip()


def _grouped(text: str) -> str:
    sign = "-" if text.startswith("-") else ""
    whole, _, fraction = text.lstrip("-").partition(".")
    return f"{sign}{int(whole):,}" + (f".{fraction}" if fraction else "")


def _utilisation_point(point: UtilisationPoint) -> Point:
    u = point.figures.utilisation
    return Point(point.at, None if u is None else u * _HUNDRED, percent_text(u))


def account_charts(report: AccountReport) -> dict[str, Markup]:
    """The account's charts by name (a chart with nothing to show is left out)."""
    charts: dict[str, Markup] = {}
    policy = report.policy
    if report.utilisation:
        charts["utilisation"] = line_chart(
            "utilisation",
            "Utilisation (debt / marginable value) over time",
            [Series("utilisation", tuple(_utilisation_point(p) for p in report.utilisation))],
            thresholds=[
                Threshold(policy.warning_utilisation * _HUNDRED, "early warning", "#d9822b"),
                Threshold(policy.margin_call_utilisation * _HUNDRED, "margin call", "#b22222"),
                Threshold(policy.forced_sale_utilisation * _HUNDRED, "forced sale", "#5a0000"),
            ],
            unit="%",
        )
    lines = [] if report.valuation is None else list(report.valuation.lines)
    if lines:
        charts["collateral"] = bar_chart(
            "collateral",
            "Collateral by asset: market value (HKD)",
            [
                Bar(line.asset, _hkd(line.market_value), minor_text(line.market_value, _HKD))
                for line in lines
            ],
        )
    if report.debt:
        code = report.loan_currency
        charts["loan"] = line_chart(
            "loan",
            f"Loan and interest ({code})",
            [
                Series("principal", _debt_series(report.debt, code, "principal")),
                Series("accrued interest", _debt_series(report.debt, code, "interest")),
                Series("unpaid fees", _debt_series(report.debt, code, "fees")),
            ],
        )
    return charts


def _debt_series(points: Sequence[DebtPoint], code: str, which: str) -> tuple[Point, ...]:
    unit = asset(code)
    out = []
    for p in points:
        minor = int(getattr(p, which))
        out.append(Point(p.at, Decimal(minor).scaleb(-unit.scale), minor_text(minor, code)))
    return tuple(out)


def _hkd(minor: int) -> Decimal:
    return Decimal(minor).scaleb(-REPORTING_CURRENCY.scale)


def book_charts(report: BookReport) -> dict[str, Markup]:
    charts: dict[str, Markup] = {}
    if report.exposure_by_asset:
        charts["exposure"] = bar_chart(
            "exposure",
            "Exposure by asset: market value held (HKD)",
            [
                Bar(row.asset, _hkd(row.market_value), minor_text(row.market_value, _HKD))
                for row in report.exposure_by_asset
            ],
        )
    charts["states"] = bar_chart(
        "states",
        "Accounts by risk state",
        [Bar(name, Decimal(count), str(count)) for name, count in report.risk_states],
    )
    charts["concentration"] = bar_chart(
        "concentration",
        "Concentration: share of each limit used",
        [Bar(row.name, row.used, f"{row.used_text} of {row.rule}") for row in report.concentration],
        limit=Threshold(_HUNDRED, "limit"),
    )
    calls = report.calls
    charts["calls"] = bar_chart(
        "calls",
        "Margin calls",
        [
            Bar(name, Decimal(count), str(count))
            for name, count in (
                ("issued", calls.issued),
                ("met", calls.met),
                ("expired", calls.expired),
                ("overtaken by a sale", calls.liquidated),
                ("open", calls.open),
            )
        ],
    )
    charts["fills"] = bar_chart(
        "fills",
        "Liquidation fills: proceeds (HKD)",
        [
            Bar(name, _hkd(tally.proceeds.get(_HKD)), f"{tally.fills} fills, " + proceeds)
            for name, tally in (
                ("affiliated", report.affiliated),
                ("independent", report.independent),
            )
            for proceeds in (minor_text(tally.proceeds.get(_HKD), _HKD),)
        ],
    )
    return charts


def render_account(report: AccountReport, *, generated_at: datetime) -> str:
    charts = account_charts(report)
    return (
        _environment()
        .get_template("account.html.j2")
        .render(
            report=report, charts=charts, chart_names=",".join(charts), generated_at=generated_at
        )
    )


def render_book(report: BookReport, *, generated_at: datetime) -> str:
    charts = book_charts(report)
    return (
        _environment()
        .get_template("book.html.j2")
        .render(
            report=report, charts=charts, chart_names=",".join(charts), generated_at=generated_at
        )
    )
