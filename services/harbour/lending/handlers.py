"""The lending service's command handling: load the account, the broker's exposure, the
policy and the prices; decide; append the account and exposure events in one statement.

Prices and the policy are read from their own streams (through the runner's cache), never
from a read model, so every decision rests on every committed fact; the decision event
records which ones it used.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from harbour.application.decoding import domain_event
from harbour.application.group_commit import Decide, Unprepared
from harbour.application.market import load_account, market_and_calendar
from harbour.application.outcome import Outcome
from harbour.application.runner import CommandRunner
from harbour.application.streams import ACCOUNTS, EXPOSURE
from harbour.collector import collector_paused_for
from harbour.ledger import events as ev
from harbour.ledger.account import MarginAccount, evolve
from harbour.ledger.assets import FIXED_ASSETS
from harbour.ledger.errors import AccountNotFound, DomainError, InvalidArgument
from harbour.ledger.exposure import EXPOSURE_STREAM, BrokerExposure
from harbour.ledger.ids import account_stream
from harbour.ledger.interest import (
    AccrualDay,
    business_date,
    days_to_accrue,
    is_month_end,
    terms_by_day,
)
from harbour.lending.domain import (
    AccrueInterest,
    CheckRisk,
    Command,
    Context,
    DrawLoan,
    RepayLoan,
    decide,
)
from harbour.lending.schema import loans

Clock = Callable[[], datetime]
# Accounts screened between two turns of the event loop: a price move screens every borrower
# holding the asset (~0.3 ms each), and a draw waiting behind the whole screen would wait for
# all of them.
SCREEN_SLICE = 32
# What a loan may be drawn in (a credit limit is in a cash asset).
LOAN_CODES = frozenset(a.code for a in FIXED_ASSETS.values() if a.is_cash)


class LendingHandlers:
    def __init__(self, runner: CommandRunner, *, clock: Clock) -> None:
        self.runner = runner
        self._clock = clock

    def now(self) -> datetime:
        return self._clock()

    async def handle(
        self,
        command: Command,
        *,
        request_id: str,
        request: Mapping[str, Any],
        metadata: Mapping[str, Any],
        respond: Callable[[MarginAccount], Mapping[str, Any] | None] = lambda _: None,
        events: list[ev.Event] | None = None,
    ) -> Outcome:
        """Apply ``command`` once. ``events``, when given, receives the account events the
        decision produced (a risk check reports them)."""

        hot = _moves_exposure(command)

        async def prepare(
            state: MarginAccount, _: BrokerExposure, reads: dict[str, int] | None
        ) -> Decide:
            # Every read happens here, before the command queues for the hot stream; the
            # decision below is pure. The broker's total may be owed in any loan currency by
            # the time the decision runs, so every loan currency is priced. With ``reads``
            # the market is the cached one, and the append checks it is still current.
            now = self._clock()
            codes = _codes(state, command) | (LOAN_CODES if hot else frozenset())
            policy, prices, calendar = await market_and_calendar(self.runner, now, codes, reads)

            def decide_now(
                state: MarginAccount, exposure: BrokerExposure
            ) -> tuple[list[ev.Event], list[ev.Event]]:
                if not _codes(state, command) <= codes:
                    raise Unprepared  # an earlier command of a batch brought a new asset
                decision = decide(
                    state, command, Context(now, policy, prices, exposure, request_id, calendar)
                )
                if events is not None:
                    events[:] = decision.account
                return decision.account, decision.exposure

            return decide_now

        if hot:
            return await self.runner.run_grouped(
                (ACCOUNTS, account_stream(command.client_id)),
                (EXPOSURE, EXPOSURE_STREAM),
                prepare,
                request_id=request_id,
                request=request,
                metadata=metadata,
                respond=respond,
            )

        async def decide_alone(
            state: MarginAccount, reads: dict[str, int] | None
        ) -> Sequence[ev.Event]:
            # Neither reads nor writes the broker's exposure: it stays off the hot stream.
            decide_now = await prepare(state, BrokerExposure(), reads)
            account, exposure = decide_now(state, BrokerExposure())
            if exposure:  # pragma: no cover - a decider change would have to update _moves
                raise AssertionError(f"{type(command).__name__} moved the broker's exposure")
            return account

        return await self.runner.run_reading(
            ACCOUNTS,
            account_stream(command.client_id),
            decide_alone,
            request_id=request_id,
            request=request,
            metadata=metadata,
            respond=respond,
        )

    async def needing_action(
        self, clients: Sequence[str], seen: Mapping[str, int] | None = None
    ) -> list[str]:
        """Of ``clients``, those whose risk check would change something (issue, meet or
        escalate a margin call): every account and the market read in two round trips and
        decided in memory. The checks themselves then go through :meth:`handle`, which
        decides again on the state it appends to; a client whose check would write nothing
        is spared its reads. ``seen``: the version of each client's stream the caller has
        seen (a follower's page); a cached account at or past it is not read again."""
        if not clients:
            return []
        # A screen of the book folds thousands of accounts, every state of which lives on (in
        # the cache, and until decided): collections meanwhile only rescanned them, 26-31% of
        # a cold screen (harbour.collector; 704-974 -> 1,103-1,370 accounts/s at 4,000,
        # alternated in a /tmp harness).
        with collector_paused_for(clients):
            return await self._needing_action(clients, seen)

    async def _needing_action(
        self, clients: Sequence[str], seen: Mapping[str, int] | None
    ) -> list[str]:
        states = await self.runner.load_many(
            [(ACCOUNTS, account_stream(client)) for client in clients],
            {account_stream(client): version for client, version in (seen or {}).items()},
        )
        now = self._clock()
        codes: set[str] = set()
        for client, state in zip(clients, states, strict=True):
            codes |= _codes(state, CheckRisk(client))
        policy, prices, calendar = await market_and_calendar(self.runner, now, codes)
        # One context for all: they share its valuation book (the reference only names the
        # events a check would write, and the screen writes none).
        context = Context(now, policy, prices, BrokerExposure(), "screen", calendar)
        due = []
        for n, (client, state) in enumerate(zip(clients, states, strict=True), start=1):
            if n % SCREEN_SLICE == 0:
                await asyncio.sleep(0)  # let queued commands run between slices of the screen
            try:
                acts = bool(decide(state, CheckRisk(client), context).account)
            except DomainError:
                acts = True  # let the check itself meet the refusal (and log it)
            if acts:
                due.append(client)
        return due

    async def exposure(self) -> BrokerExposure:
        return (await self.runner.load(EXPOSURE, EXPOSURE_STREAM)).state

    async def account(self, client_id: str) -> tuple[MarginAccount, int]:
        account, version = await load_account(self.runner, client_id)
        if not account.exists:
            raise AccountNotFound(f"client {client_id} has no margin account")
        return account, version

    # ------------------------------------------------------------------------- interest
    async def accrue(
        self, client_id: str, through: date, *, request_id: str, metadata: Mapping[str, Any]
    ) -> list[ev.Event]:
        """Accrue each day not yet accrued up to ``through`` for one client; returns the
        events written (none when everything was already accrued)."""
        if through >= business_date(self._clock()):
            raise InvalidArgument.for_field(
                "through", "must be a past business date: today's interest accrues tomorrow"
            )
        days = await self._accrual_days(client_id, through)
        if not days:
            return []
        written: list[ev.Event] = []
        await self.handle(
            AccrueInterest(client_id, tuple(days)),
            request_id=request_id,
            request=accrual_request(client_id, through),
            metadata=metadata,
            events=written,
        )
        return written

    async def _accrual_days(self, client_id: str, through: date) -> list[AccrualDay]:
        """Every day to accrue with the principal recorded at its end, from the stream."""
        stream = account_stream(client_id)
        history = await self.runner.store.read_stream(stream)
        state = MarginAccount.initial(client_id)
        timeline: list[tuple[datetime, int, Decimal | None]] = []
        first_day: date | None = None
        for recorded in history:
            event = domain_event(recorded)
            state = evolve(state, event)
            if state.credit_limit is None:
                continue
            principal = state.principal.get(state.credit_limit.asset.code)
            timeline.append((recorded.recorded_at, principal, state.annual_rate))
            if first_day is None and isinstance(event, ev.LoanAdvanced):
                first_day = business_date(recorded.recorded_at)
        if state.facility_id is None or state.annual_rate is None:
            return []
        days = days_to_accrue(state.last_accrual_date, first_day, through)
        # Each day at the principal and the rate recorded before its end: a re-approval with
        # new terms applies from then on, never to days already past.
        return terms_by_day(timeline, days)

    async def borrowers(self) -> list[str]:
        """Every client with a facility, from the loans read model."""
        async with self.runner.store.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(loans.c.client_id)
                .where(loans.c.facility_id.is_not(None))
                .order_by(loans.c.client_id)
            )
            return [row[0] for row in rows]


def accrual_request(client_id: str, through: date) -> dict[str, Any]:
    """What an accrual of one client up to ``through`` is, for its request fingerprint: the
    per-account path and the bulk run (harbour.lending.accrual) send the same, so either one
    answers a repeat of the other."""
    return {"rpc": "AccrueInterest", "client_id": client_id, "through": str(through)}


def _moves_exposure(command: Command) -> bool:
    """Whether a decision may read or move ``broker-exposure`` (the hot stream): advances,
    repayments, and interest runs that reach a month end (capitalisation)."""
    if isinstance(command, DrawLoan | RepayLoan):
        return True
    if isinstance(command, AccrueInterest):
        return any(is_month_end(day.day) for day in command.days)
    return False


def _codes(account: MarginAccount, command: Command) -> set[str]:
    """Every asset the decision may value: holdings, debts, the loan currency, the amount."""
    codes = {code for code, _ in account.cash} | {code for code, _ in account.collateral}
    codes |= {code for code, _ in account.debt}
    if account.credit_limit is not None:
        codes.add(account.credit_limit.asset.code)
    amount = getattr(command, "amount", None) or getattr(command, "credit_limit", None)
    if amount is not None:
        codes.add(amount.asset.code)
    return codes
