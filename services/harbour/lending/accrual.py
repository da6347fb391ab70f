"""A day's interest for every borrower, many accounts per statement.

The per-account path (:meth:`LendingHandlers.accrue`) reads and decodes each account's whole
history to find the principal at the end of each day, then appends one command: a few hundred
accounts a second. Here the borrowers are walked in keyset pages of the ``loans`` read model;
per page ONE query returns each account's row (its version, and what the accrual rule reads of
its folded state), the instant its head event was recorded and, for an account that has never
accrued, the instant of its first advance. The same pure rule decides (``decide`` with
``AccrueInterest``), and ONE ``append_batch`` writes every account of the page, each as its
own command: its command-log row, the same request id and fingerprint as the per-account path,
and its expected version = the row's version.

Why it is exactly once and exact:

* A day is accrued once: ``days_to_accrue`` starts after the state's ``last_accrual_date``, and
  the append only lands if the stream is still at the version that state was folded to.
* A read model behind its stream (the projector lags) or a command that lands meanwhile (a
  draw) moves the stream past the row's version: the batch's version check refuses it
  (``BatchNotApplied`` naming the streams), and those accounts go to the per-account path,
  which reads the stream itself. The rest of the page is tried again in bulk.
* The principal and rate of each day come from the row only when the head event was recorded
  before the end of the first day to accrue (see :func:`_terms_from_row`); otherwise the
  per-account path works them out from the history.
* The request id is ``f"{prefix}:{client}"`` with the per-account path's fingerprint, so the two
  paths answer each other's repeats and never accrue a day twice between them.

A month end capitalises interest, which moves ``broker-exposure``: those capitalisations go in
the same batch, on the exposure stream at the version read under this process's hold on it
(group commit waits for the batch; another process's draw makes the version check refuse it,
and the page is tried again).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any, NamedTuple

import sqlalchemy as sa

from harbour.application.market import market_and_calendar
from harbour.application.outcome import new_event
from harbour.application.streams import EXPOSURE
from harbour.collector import collector_paused
from harbour.eventstore.errors import BatchNotApplied
from harbour.eventstore.model import CommandWrite, StreamWrite
from harbour.eventstore.outage import is_database_outage
from harbour.eventstore.store import request_fingerprint
from harbour.ledger import events as ev
from harbour.ledger.account import (
    SNAPSHOT_VERSION,
    Lifecycle,
    MarginAccount,
    RiskState,
    changed,
)
from harbour.ledger.assets import asset
from harbour.ledger.balances import Balances
from harbour.ledger.errors import DomainError, InvalidArgument
from harbour.ledger.exposure import EXPOSURE_STREAM, BrokerExposure
from harbour.ledger.ids import account_stream
from harbour.ledger.interest import AccrualDay, business_date, days_to_accrue, end_of_day
from harbour.ledger.money import Money
from harbour.lending.domain import AccrueInterest, Context, decide
from harbour.lending.handlers import LendingHandlers, accrual_request
from harbour.metrics import INTEREST_ACCRUED_THROUGH, INTEREST_NOT_ACCRUED

log = logging.getLogger("harbour.lending.accrual")

CHUNK = 1000  # accounts per page and per statement
IN_FLIGHT = 2  # batches being written at once
YIELD_EVERY = 100  # rows decided between two turns of the event loop
BULK_ATTEMPTS = 3  # a page refused by the version check is tried again without the movers

# One page of borrowers: the row, the instant of the stream's event at the row's version, and
# (only for an account that has never accrued) the instant of its first advance. Keyset on
# client_id; both event reads are unique-index lookups.
# The accrual rule reads these of a MarginAccount, and nothing else: ``_accrue`` (exists, the
# facility, rate and credit limit, the risk state, the last accrual), ``accrual_events`` (the
# principal and accrued interest in the loan currency, the last capitalisation) and
# ``exposure_change`` (the related group). The row's columns hold most of them (the Loans
# projection writes them from the same folded state as its ``state`` document); the rest are
# read out of that document. Decoding the whole document instead cost ~3x the rest of a bulk
# run (measured: decode_dataclass was 70% of it). A state with only these set decides exactly
# what the whole state decides: tests/integration/test_bulk_accrual.py compares the two paths
# event for event.
PAGE_SQL = sa.text(
    """
    SELECT l.client_id, l.version, (l.state ->> 'snapshot_version')::integer,
           l.state -> 'state' ->> 'status', l.risk_state, l.state -> 'state' ->> 'related_group_id',
           l.currency, l.credit_limit, l.facility_id, l.state -> 'state' ->> 'annual_rate',
           l.principal, l.accrued_interest, l.last_accrual_date,
           l.state -> 'state' ->> 'last_capitalisation_date',
           h.recorded_at AS head_at,
           CASE WHEN l.last_accrual_date IS NULL THEN (
               SELECT a.recorded_at FROM events a
                WHERE a.stream_id = 'account-' || l.client_id AND a.type = 'LoanAdvanced'
                ORDER BY a.version LIMIT 1
           ) END AS first_advance_at
      FROM loans l
      LEFT JOIN events h ON h.stream_id = 'account-' || l.client_id AND h.version = l.version
     WHERE l.client_id > :after AND l.facility_id IS NOT NULL
     ORDER BY l.client_id
     LIMIT :chunk
    """
)


@dataclass
class AccrualRun:
    """What a run did. ``bulk`` accounts were written in batches, ``one_by_one`` went to the
    per-account path (a stale row, a draw meanwhile, a day the row cannot decide)."""

    through: date
    accounts: int = 0  # borrowers looked at
    bulk: int = 0
    one_by_one: int = 0
    days_accrued: int = 0  # InterestAccrued written
    capitalisations: int = 0  # InterestCapitalised written
    batches: int = 0  # append_batch statements that landed
    # Clients not accrued: the per-account path refused them, or could not read their history.
    refused: list[str] = field(default_factory=list)

    @property
    def events(self) -> int:
        """Account events written (what ``accrue_all`` has always returned)."""
        return self.days_accrued + self.capitalisations

    def count(self, events: Sequence[ev.Event]) -> None:
        self.days_accrued += sum(isinstance(e, ev.InterestAccrued) for e in events)
        self.capitalisations += sum(isinstance(e, ev.InterestCapitalised) for e in events)


# The fields the row does not set are an empty account's: copied from one (account.changed,
# held equal to dataclasses.replace by its test) rather than running MarginAccount's 33-field
# __init__ for every borrower (7.4 -> 2.3 us a row).
_EMPTY_ACCOUNT = MarginAccount.initial("empty")


class _Row(NamedTuple):
    """A page's row as PAGE_SQL returns it: a tuple, built in C (0.3 us), where a frozen
    dataclass's ``__init__`` set its 16 fields one by one (1.7 us)."""

    client: str
    version: int
    snapshot_version: int | None
    status: str | None
    risk: str
    related_group_id: str | None
    currency: str
    credit_limit: Decimal
    facility_id: str | None
    annual_rate: str | None  # the state's own text: the rate exactly as decided on
    principal: Decimal
    accrued_interest: Decimal
    last_accrual_date: date | None
    last_capitalisation_date: str | None
    head_at: datetime | None
    first_advance_at: datetime | None

    def state(self) -> MarginAccount:
        """What the accrual rule reads of the client's state (ValueError on a malformed row)."""
        code = asset(self.currency).code
        return changed(
            _EMPTY_ACCOUNT,
            client_id=self.client,
            status=Lifecycle(self.status),
            risk=RiskState(self.risk),
            related_group_id=self.related_group_id,
            credit_limit=Money(asset(code), int(self.credit_limit)),
            facility_id=self.facility_id,
            annual_rate=None if self.annual_rate is None else Decimal(self.annual_rate),
            principal=Balances.of({code: int(self.principal)}),
            accrued_interest=Balances.of({code: int(self.accrued_interest)}),
            last_accrual_date=self.last_accrual_date,
            last_capitalisation_date=(
                None
                if self.last_capitalisation_date is None
                else date.fromisoformat(self.last_capitalisation_date)
            ),
        )


@dataclass(frozen=True)
class _Decided:
    """One account's decision, ready to append at the row's version."""

    client: str
    version: int
    account: list[ev.Event]
    exposure: list[ev.Event]


async def accrue_in_bulk(
    handlers: LendingHandlers,
    through: date,
    *,
    request_prefix: str,
    metadata: Mapping[str, Any],
    chunk: int = CHUNK,
) -> AccrualRun:
    """Accrue every borrower up to ``through`` (a past Hong Kong business date). One borrower's
    refusal or fault on the per-account path is logged and skipped; a database outage is
    raised (the run is idempotent: run it again)."""
    if through >= business_date(handlers.now()):
        raise InvalidArgument.for_field(
            "through", "must be a past business date: today's interest accrues tomorrow"
        )
    # The collector is paused for the run: each page's decisions and encodings are acyclic and
    # live until their batch lands, so collections only rescanned them and the service's heap
    # (45% of the run's Python time at 20,000 borrowers; bench/lending.py).
    with collector_paused():
        run = await _accrue_pages(handlers, AccrualRun(through), request_prefix, metadata, chunk)
    _report(run)
    return run


def _report(run: AccrualRun) -> None:
    """The run's summary in the log, and its date in the metrics (an operator's re-run of an
    older day does not move the metric back)."""
    done = (
        f"interest through {run.through}: {run.accounts} borrowers read, {run.days_accrued} "
        f"days accrued, {run.capitalisations} capitalised, {len(run.refused)} not accrued"
    )
    if run.refused:
        log.warning("%s (%s; the next run tries them again)", done, ", ".join(run.refused[:20]))
    else:
        log.info(done)
    global _accrued_through
    if _accrued_through is None or run.through > _accrued_through:
        _accrued_through = run.through
        INTEREST_ACCRUED_THROUGH.set(datetime.combine(run.through, time(0), UTC).timestamp())


_accrued_through: date | None = None  # the latest day a run of this process completed


async def _accrue_pages(
    handlers: LendingHandlers,
    run: AccrualRun,
    request_prefix: str,
    metadata: Mapping[str, Any],
    chunk: int,
) -> AccrualRun:
    # Pages' batches are written while the next page is read and decided, two at a time: the
    # database works on two statements (an insert per event, with its hash-chain check and
    # its indexes: one CPU each) while this process decides. The pages hold different
    # accounts, so the order in which their batches land does not matter (month ends take
    # turns on the exposure stream). The next page is read meanwhile too: its query goes out
    # at the decision's first turn of the event loop (``YIELD_EVERY``), where this process used
    # to wait for it after each page (measured at 20,000 borrowers, alternated runs:
    # 9,500-10,300 -> 10,800-11,100 accounts/s).
    writing: deque[asyncio.Task[list[str]]] = deque()
    reading = asyncio.create_task(_page(handlers, "", chunk))
    try:
        while True:
            rows = await reading
            if rows:  # the next page is read while this one is decided
                reading = asyncio.create_task(_page(handlers, rows[-1].client, chunk))
            decided, slow = await _decide_page(handlers, rows, run.through, request_prefix)
            while writing and (len(writing) >= IN_FLIGHT or not rows):
                slow = await writing.popleft() + slow
            for client in slow:
                await _accrue_one(handlers, client, run, request_prefix, metadata)
            if not rows:
                return run
            run.accounts += len(rows)
            writing.append(
                asyncio.create_task(_write_page(handlers, decided, run, request_prefix, metadata))
            )
            log.info("interest through %s: %d borrowers read", run.through, run.accounts)
    finally:
        reading.cancel()
        for task in writing:
            task.cancel()


async def _page(handlers: LendingHandlers, after: str, chunk: int) -> list[_Row]:
    async with handlers.runner.store.engine.connect() as conn:
        result = await conn.execute(PAGE_SQL, {"after": after, "chunk": chunk})
        return [_Row(*row) for row in result]


async def _decide_page(
    handlers: LendingHandlers, rows: Sequence[_Row], through: date, prefix: str
) -> tuple[list[_Decided], list[str]]:
    """Each row's decision; and the clients the per-account path must decide instead."""
    if not rows:
        return [], []
    now = handlers.now()
    # What _accrue reads of its context is the policy's version and the reference (the request
    # id, set per account below); the rest is the same for every account of the page.
    policy, prices, calendar = await market_and_calendar(handlers.runner, now, ())
    context = Context(now, policy, prices, BrokerExposure(), "", calendar)
    decided: list[_Decided] = []
    slow: list[str] = []
    for n, row in enumerate(rows):
        if n % YIELD_EVERY == 0:
            await asyncio.sleep(0)  # let the next page's query and the writes go out meanwhile
        outcome = _decide_row(row, through, context, prefix)
        if outcome is None:
            slow.append(row.client)
        elif outcome.account:
            decided.append(outcome)
    return decided, slow


async def _write_page(
    handlers: LendingHandlers,
    decided: list[_Decided],
    run: AccrualRun,
    prefix: str,
    metadata: Mapping[str, Any],
) -> list[str]:
    """Append a page's decisions in one statement; returns the clients left to the
    per-account path (their streams moved past their rows)."""
    slow: list[str] = []
    for _ in range(BULK_ATTEMPTS):
        if not decided:
            return slow
        try:
            await _append(handlers, decided, prefix, metadata, run)
        except BatchNotApplied as refused:
            if not refused.stale:
                break  # not a version: a request id already logged, a lost race
            # Those whose stream moved past their row decide again on their own history; the
            # rest (and a moved exposure, read again) are tried again in bulk.
            moved = {s.removeprefix("account-") for s in refused.stale if s != EXPOSURE_STREAM}
            slow += [d.client for d in decided if d.client in moved]
            decided = [d for d in decided if d.client not in moved]
            continue
        run.bulk += len(decided)
        return slow
    return slow + [d.client for d in decided]


def _decide_row(row: _Row, through: date, context: Context, prefix: str) -> _Decided | None:
    """The decision on one row; None when the per-account path must decide (the row cannot
    be read, or its state may not hold every day's terms)."""
    if row.snapshot_version != SNAPSHOT_VERSION:
        return None  # a row of an older state shape
    try:
        state = row.state()
    except (ValueError, DomainError):
        return None  # not readable here: the per-account path reads the stream
    if state.facility_id is None or state.annual_rate is None or state.credit_limit is None:
        return _Decided(row.client, row.version, [], [])  # nothing to accrue, as per account
    first_day = business_date(row.first_advance_at) if row.first_advance_at is not None else None
    days = days_to_accrue(state.last_accrual_date, first_day, through)
    if not days:
        return _Decided(row.client, row.version, [], [])
    terms = _terms_from_row(state, row.head_at, days)
    if terms is None:
        return None
    request_id = f"{prefix}:{row.client}"
    try:
        decision = decide(
            state, AccrueInterest(row.client, terms), replace(context, reference=request_id)
        )
    except DomainError:
        return None  # the per-account path meets the refusal and logs it
    return _Decided(row.client, row.version, decision.account, decision.exposure)


def _terms_from_row(
    state: MarginAccount, head_at: datetime | None, days: Sequence[date]
) -> tuple[AccrualDay, ...] | None:
    """Each day's principal and rate from the row's state, when that is what the history says.

    ``terms_by_day`` gives a day the principal and rate after the last event recorded strictly
    before ``end_of_day(day)``. When the head event (the row's version, which the append checks
    is still the head) was recorded before the end of the *first* day, every event of the
    stream was, and so before the end of every later day: the last event before each day's end
    is the head, and each day's terms are the state's own — its principal in the loan currency
    and its annual rate. Otherwise (an advance or repayment recorded during the days, or no
    head to go by) None: the per-account path reads the history.
    """
    if head_at is None or head_at >= end_of_day(days[0]):
        return None
    assert state.credit_limit is not None and state.annual_rate is not None  # checked by caller
    principal = state.principal.get(state.credit_limit.asset.code)
    return tuple(AccrualDay(day, principal, state.annual_rate) for day in days)


async def _append(
    handlers: LendingHandlers,
    decided: Sequence[_Decided],
    prefix: str,
    metadata: Mapping[str, Any],
    run: AccrualRun,
) -> None:
    """One statement for the page. Capitalisations move broker-exposure: then the page holds
    this process's lock on it (group commit waits) and appends at its current version."""
    runner = handlers.runner
    if not any(d.exposure for d in decided):
        await runner.store.append_batch(_commands(decided, prefix, metadata, run.through, 0))
        _counted(decided, run)
        return
    async with runner.holding([EXPOSURE_STREAM]):
        version = await runner.store.stream_version(EXPOSURE_STREAM)
        loaded = await runner.hot_state(EXPOSURE, EXPOSURE_STREAM, trust=True)
        if loaded.version != version:  # another process moved it: read it up to date
            loaded = await runner.load(EXPOSURE, EXPOSURE_STREAM)
        await runner.store.append_batch(
            _commands(decided, prefix, metadata, run.through, loaded.version)
        )
        # The cache takes the capitalisations as written (folded here, not read back and
        # decoded: that was a sixth of a month end's Python time), so the next decision on
        # the exposure, a draw's or the next page's, starts from where this batch left it.
        await runner.grown(
            EXPOSURE, EXPOSURE_STREAM, loaded, [e for each in decided for e in each.exposure]
        )
    _counted(decided, run)


def _counted(decided: Sequence[_Decided], run: AccrualRun) -> None:
    run.batches += 1
    for each in decided:
        run.count(each.account)


def _commands(
    decided: Sequence[_Decided],
    prefix: str,
    metadata: Mapping[str, Any],
    through: date,
    exposure_version: int,
) -> list[CommandWrite]:
    commands = []
    for each in decided:
        writes = [
            StreamWrite(
                account_stream(each.client), [new_event(e) for e in each.account], each.version
            )
        ]
        if each.exposure:
            writes.append(
                StreamWrite(
                    EXPOSURE_STREAM, [new_event(e) for e in each.exposure], exposure_version
                )
            )
            exposure_version += len(each.exposure)
        commands.append(
            CommandWrite(
                writes,
                request_id=f"{prefix}:{each.client}",
                fingerprint=request_fingerprint(accrual_request(each.client, through)),
                metadata=metadata,
            )
        )
    return commands


async def _accrue_one(
    handlers: LendingHandlers,
    client: str,
    run: AccrualRun,
    prefix: str,
    metadata: Mapping[str, Any],
) -> None:
    """The per-account path for one client (its history read and decided alone)."""
    run.one_by_one += 1
    try:
        written = await handlers.accrue(
            client, run.through, request_id=f"{prefix}:{client}", metadata=metadata
        )
    except DomainError as refusal:
        log.warning("interest for %s not accrued: %s", client, refusal)
        _not_accrued(run, client)
        return
    except Exception as failure:
        if is_database_outage(failure):
            raise  # the scheduler's supervisor restarts it; accrual is idempotent
        log.exception("interest for %s not accrued; the next run tries again", client)
        _not_accrued(run, client)
        return
    run.count(written)


def _not_accrued(run: AccrualRun, client: str) -> None:
    run.refused.append(client)
    INTEREST_NOT_ACCRUED.inc()
