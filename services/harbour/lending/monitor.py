"""The lending service's own work: the risk monitor and the interest scheduler.

The risk monitor follows the feed like a projection (its checkpoint is stored the same way),
but instead of writing rows it runs a risk check for every account an event may have moved:
the account's own movements, and every borrower holding an asset whose price changed. It
also checks every open margin call whose deadline has passed. Checks are idempotent (each
has a request id derived from the event that caused it, and a check that finds nothing to
change writes nothing), so a crash or a second replica repeats work, never effects.

Time lapses credit assessments without an event: once a UTC day (an assessment lapses on its
expiry day) and whenever the policy's minimum grade changes, the monitor finds in the ``loans``
read model every borrower whose recorded credit hold disagrees with its assessment (lapsed or
below the minimum and not held, or held and acceptable again) and runs ``CheckCredit`` for it,
which records ``AdvancesSuspended``/``AdvancesResumed`` with the reason on the exact state.

The scheduler accrues interest for every borrower up to yesterday (Hong Kong business date)
once an hour; accrual is idempotent per account and day.

An event the monitor cannot apply (a malformed one: its account cannot be loaded) must not stop
risk for every other account. The monitor is a follower, not a read model, so it skips such an
event: the runner records it in ``projection_status`` (``harbour projections status``) and logs
it, and the monitor goes on. An account that cannot be loaded is left out of a screen's checks
(logged) instead of failing the whole tick.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from harbour.application.market import market
from harbour.application.runner import CommandRunner
from harbour.application.streams import ACCOUNT_STREAM_PREFIX
from harbour.eventstore.model import RecordedEvent
from harbour.eventstore.notify import FeedListener
from harbour.eventstore.outage import is_database_outage
from harbour.eventstore.projections import OnPoison, ProjectionRunner, is_poison
from harbour.ledger.account import CREDIT_HOLD, Lifecycle
from harbour.ledger.errors import DomainError
from harbour.ledger.grades import CreditGrade
from harbour.ledger.interest import business_date
from harbour.ledger.prices import PRICE_STREAM_PREFIX
from harbour.lending.accrual import accrue_in_bulk
from harbour.lending.domain import CheckCredit, CheckRisk, Command
from harbour.lending.handlers import LendingHandlers
from harbour.lending.schema import loans, margin_calls
from harbour.metrics import RISK_CHECKS, RISK_TICKS
from harbour.risk.book import RiskBook
from harbour.risk.loader import (
    clients_in,
    clients_touched_since,
    load_book,
    refresh,
    versions_in,
)

log = logging.getLogger("harbour.lending")
POLL_SECONDS = 1.0
ACCRUAL_EVERY = timedelta(hours=1)

# Account events that move utilisation (risk events themselves do not: no feedback loop).
TRIGGERS = frozenset(
    {
        "CashDeposited",
        "CashWithdrawn",
        "CollateralDeposited",
        "CollateralWithdrawn",
        "LoanAdvanced",
        "LoanRepaid",
        "InterestAccrued",
        "InterestCapitalised",
        "FeeCharged",
    }
)

MONITOR_METADATA = {"actor": "risk-monitor", "service": "lending"}
SCHEDULER_METADATA = {"actor": "interest-scheduler", "service": "lending"}


class RiskMonitor:
    name = "risk_monitor"
    tables: Sequence[sa.Table] = ()
    on_poison = OnPoison.SKIP  # risk for everyone goes on past an event it cannot apply

    def __init__(self, handlers: LendingHandlers) -> None:
        self._handlers = handlers
        # Every account's positions, debts and recorded risk state in memory (harbour.risk):
        # built from the read models on the first page, then set from the exact state of
        # every account an event touches. A price move screens all of it at once.
        self._book: RiskBook | None = None
        # The day and minimum grade the credit holds were last brought in line for.
        self._credit_checked: tuple[date, CreditGrade] | None = None

    async def apply(self, conn: AsyncConnection, events: Sequence[RecordedEvent]) -> None:
        book = await self._current_book(conn, events)
        due: dict[str, str] = {}  # client -> request id of its check
        seen = versions_in(events)  # client -> the version of its stream this page reached
        priced_at = 0  # position of the latest price in this page
        for event in events:
            if event.stream_id.startswith(ACCOUNT_STREAM_PREFIX) and event.type in TRIGGERS:
                client = event.stream_id[len(ACCOUNT_STREAM_PREFIX) :]
                due[client] = f"risk-{client}-{event.position}"
            elif event.type == "PriceObserved" and event.stream_id.startswith(PRICE_STREAM_PREFIX):
                priced_at = max(priced_at, event.position)
        if priced_at:
            RISK_TICKS.inc()
            # Every account revalued at once; only those whose exact check may record
            # something are loaded and decided exactly below.
            for client in await self._screen(book):
                due.setdefault(client, f"risk-{client}-{priced_at}")
        for client in await self._needing_action(list(due), seen):
            await self.check(client, due[client])

    async def _needing_action(self, clients: list[str], seen: dict[str, int]) -> list[str]:
        """Of ``clients``, those whose check would change something — all at once, or, when
        an account among them cannot be loaded (a malformed event in its stream), one by one
        without that account: one bad stream never hides a margin call on another. An
        account this process's commands left at or past the version ``seen`` in the page is
        not read again (the command that moved it cached its state)."""
        try:
            return await self._handlers.needing_action(clients, seen)
        except Exception as failure:
            if not is_poison(failure):
                raise
        due: list[str] = []
        for client in clients:
            try:
                due += await self._handlers.needing_action([client])
            except Exception as failure:
                if not is_poison(failure):
                    raise
                log.error(
                    "risk check of %s impossible: its account cannot be loaded: %s", client, failure
                )
        return due

    async def _current_book(
        self, conn: AsyncConnection, events: Sequence[RecordedEvent]
    ) -> RiskBook:
        """The book with every account of ``events`` set from its exact current state. The
        first time, built from the read models and brought past their checkpoint; kept only
        once complete, so a failure builds it again with the page."""
        runner = self._handlers.runner
        touched = clients_in(events)
        if self._book is not None:
            await refresh(self._book, runner, touched, versions_in(events))
            return self._book
        loaded = await load_book(conn)
        since = await clients_touched_since(runner.store, conn, loaded.exact_through)
        # An account of this page that cannot be loaded fails the page (the runner finds and
        # skips its event, recorded); one from before it is left as the read models had it.
        await _refresh_loadable(loaded.book, runner, sorted(since - set(touched)))
        await refresh(loaded.book, runner, touched)
        self._book = loaded.book
        return loaded.book

    async def _screen(self, book: RiskBook) -> list[str]:
        """The clients whose risk check may record something at the latest prices."""
        policy, points = await market(
            self._handlers.runner, self._handlers.now(), {*book.assets, *book.currencies}
        )
        return book.screen({code: point.price for code, point in points.items()}, policy)

    async def check(self, client: str, request_id: str, command: Command | None = None) -> None:
        """Run ``command`` (default: the risk check) for ``client``; a refusal or a fault of
        one account is logged, never raised (a database outage is)."""
        command = command or CheckRisk(client)
        if isinstance(command, CheckRisk):
            RISK_CHECKS.inc()
        try:
            await self._handlers.handle(
                command,
                request_id=request_id,
                request={"rpc": type(command).__name__, "client_id": client},
                metadata=MONITOR_METADATA,
            )
        except DomainError as refusal:  # e.g. an account closed meanwhile: nothing to check
            log.info("risk check of %s skipped: %s", client, refusal)
        except Exception as failure:  # one account's fault never stops the book's monitoring
            if is_database_outage(failure):
                raise  # the loop's supervisor restarts it; the page is checked again
            log.exception("risk check of %s failed; its next event checks it again", client)

    async def expire_due_calls(self) -> int:
        """Check every open call whose deadline has passed (time moves without events)."""
        now = self._handlers.now()
        async with self._handlers.runner.store.engine.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(margin_calls.c.client_id, margin_calls.c.call_id).where(
                        margin_calls.c.state == "open", margin_calls.c.deadline <= now
                    )
                )
            ).all()
        for client, call_id in rows:
            await self.check(client, f"deadline-{call_id}")
        return len(rows)

    async def check_credit_holds(self) -> int:
        """Once a UTC day and when the minimum grade changes: CheckCredit for every borrower
        whose credit hold, as the ``loans`` read model last folded it, disagrees with its
        assessment. One scan of the read model each time; the decision is on the exact state,
        so a row behind its stream only costs a check that records nothing."""
        now = self._handlers.now()
        policy, _ = await market(self._handlers.runner, now, ())
        key = (now.date(), policy.minimum_credit_grade)
        if key == self._credit_checked:
            return 0
        rows = await _credit_candidates(self._handlers, now.date(), policy.minimum_credit_grade)
        for client, version in rows:
            await self.check(client, f"credit-{client}-{version}-{now.date()}", CheckCredit(client))
        self._credit_checked = key
        return len(rows)


async def _credit_candidates(
    handlers: LendingHandlers, today: date, minimum: CreditGrade
) -> list[tuple[str, int]]:
    """(client, row version) of every open borrower whose assessment lapsed by ``today`` or is
    below ``minimum`` without a credit hold recorded, or the other way round."""
    doc = loans.c.state["state"]  # the folded account (harbour.ledger.account.to_snapshot)
    below = [grade.value for grade in CreditGrade if not grade.at_least(minimum)]
    lapsed = sa.or_(
        doc["credit_expires_on"].astext <= today.isoformat(), doc["credit_grade"].astext.in_(below)
    )
    held = doc["advance_holds"].contains([CREDIT_HOLD])
    query = sa.select(loans.c.client_id, loans.c.version).where(
        loans.c.facility_id.is_not(None),
        doc["status"].astext != Lifecycle.CLOSED.value,
        sa.func.coalesce(lapsed, sa.false()) != sa.func.coalesce(held, sa.false()),
    )
    async with handlers.runner.store.engine.connect() as conn:
        return [(client, version) for client, version in await conn.execute(query)]


async def _refresh_loadable(book: RiskBook, runner: CommandRunner, clients: list[str]) -> None:
    """``refresh`` of every client whose account can be loaded; the others are logged."""
    try:
        await refresh(book, runner, clients)
        return
    except Exception as failure:
        if not is_poison(failure):
            raise
    for client in clients:
        try:
            await refresh(book, runner, [client])
        except Exception as failure:
            if not is_poison(failure):
                raise
            log.error(
                "account %s cannot be loaded; the risk book keeps its read-model row: %s",
                client,
                failure,
            )


async def accrue_all(handlers: LendingHandlers, *, request_prefix: str, through: Any) -> int:
    """Accrue every borrower up to ``through``, many accounts per statement
    (harbour.lending.accrual); returns the account events written. One borrower's refusal or
    fault is logged and skipped; a database outage stops the run (raised)."""
    run = await accrue_in_bulk(
        handlers, through, request_prefix=request_prefix, metadata=SCHEDULER_METADATA
    )
    return run.events


def _no_heartbeat() -> None:
    """For a loop run without a supervisor."""


async def run_background(
    handlers: LendingHandlers, *, pace: float = 0.0, heartbeat: Callable[[], None] = _no_heartbeat
) -> None:
    """The risk monitor, until cancelled (the server's stop); ``pace``: the least seconds
    between two rounds (see FeedListener); ``heartbeat`` is called after every round.

    A failure of the database (or of the LISTEN connection) is raised, not swallowed: the
    supervisor (harbour.runtime.supervisor) starts the loop again with a new connection, and
    it catches up from its checkpoint."""
    store = handlers.runner.store
    monitor = RiskMonitor(handlers)
    runner = ProjectionRunner(store, clock=handlers.now)
    async with FeedListener.for_database(store.database, pace=pace) as listener:
        while True:
            await runner.catch_up(monitor)
            await monitor.expire_due_calls()
            await monitor.check_credit_holds()
            heartbeat()
            await listener.wait(POLL_SECONDS)


async def run_interest_scheduler(
    handlers: LendingHandlers, *, heartbeat: Callable[[], None] = _no_heartbeat
) -> None:
    """Accrue every borrower up to yesterday (Hong Kong business date) at start and then every
    ``ACCRUAL_EVERY`` of the service's clock, until cancelled. Accrual is idempotent per account
    and day, so a restart (after a failure raised to the supervisor) repeats work, never
    effects."""
    next_accrual = handlers.now()
    while True:
        if handlers.now() >= next_accrual:
            yesterday = business_date(handlers.now()) - timedelta(days=1)
            await accrue_all(handlers, request_prefix=f"accrue-{yesterday}", through=yesterday)
            next_accrual = handlers.now() + ACCRUAL_EVERY
        heartbeat()
        await asyncio.sleep(POLL_SECONDS)  # the clock is checked often: tests move it
