"""Stress tests over the whole book: the risk book screens, the exact rule counts.

``StressTests.run`` builds the in-memory risk book from the read models
(:func:`harbour.risk.loader.load_book`: ``balances``, ``accounts``, ``margin_calls``), moves the
latest prices by the scenario, lets the book's vectorised float pass name the accounts that may
be above the warning level or short (``RiskBook.stresses``), reads those accounts' exact
balances from the same snapshot of the read models and values them exactly
(``harbour.ledger.stress``). Every other account is provably healthy with nothing short, so
the figures are the exact rule's over the whole book, and a book of a million accounts costs
one float pass plus the exact valuation of the few it names.

It decides nothing on any account: ``StressTestRun`` on ``stress-<run_id>`` and, in the same
append, the ``StressTestAccountsListed`` pages naming every account moved out of healthy with
its implied state and shortfall (``harbour.ledger.stress``); that first (and only) append makes
the run id unique. A repeated request_id returns the first run's figures without running it
again. :meth:`StressTests.accounts` pages through a recorded run's accounts: a cursor is a
page event and the index in it, so a page of the answer reads one or two events.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from harbour.application.decoding import domain_event
from harbour.application.market import market
from harbour.application.outcome import Outcome
from harbour.application.runner import CommandRunner
from harbour.application.streams import STRESS_RUNS, stress_stream
from harbour.collector import collector_paused_for
from harbour.eventstore.model import RecordedEvent
from harbour.eventstore.store import request_fingerprint
from harbour.ledger import events as ev
from harbour.ledger import stress
from harbour.ledger.errors import AlreadyExists, NotFound
from harbour.ledger.postings import CLIENT_ACCOUNT_KINDS
from harbour.ledger.valuation import Holdings
from harbour.risk.loader import HELD_KINDS, OWED_KINDS, load_book

Clock = Callable[[], datetime]
# Flagged accounts whose exact balances are read per query.
EXACT_PAGE = 10_000
EXACT_BALANCES = sa.text(
    "SELECT ledger_account, asset, amount FROM balances WHERE ledger_account = ANY(:names)"
).bindparams(sa.bindparam("names", type_=postgresql.ARRAY(sa.Text)))


class StressRunExists(AlreadyExists):
    reason = "stress_run_already_exists"


class StressRunNotFound(NotFound):
    reason = "stress_run_not_found"


@dataclass(frozen=True)
class Cursor:
    """Where a page of a run's listed accounts starts: a page event (1-based) and an index
    into its accounts."""

    page: int = 1
    index: int = 0


@dataclass(frozen=True)
class Computed:
    """A run's figures and the pages listing its accounts, not yet recorded."""

    run: ev.StressTestRun
    pages: tuple[ev.StressTestAccountsListed, ...]


@dataclass(frozen=True)
class RunStressTest:
    run_id: str
    scenario: stress.Scenario
    worst: int = 10


class StressTests:
    def __init__(self, runner: CommandRunner, *, clock: Clock) -> None:
        self.runner = runner
        self._clock = clock

    async def run(
        self,
        command: RunStressTest,
        *,
        actor: str,
        request_id: str,
        request: Mapping[str, Any],
        metadata: Mapping[str, Any],
    ) -> tuple[Outcome, ev.StressTestRun]:
        """Run the scenario over the book and record it; the outcome and the recorded run."""
        first = await self.runner.replay(request_id, request_fingerprint(request))
        if first is not None:  # a repeat: the first figures, not a second run
            return first, await self.recorded(command.run_id)
        computed = await self.compute(command, actor=actor)

        def decide(runs: int) -> list[ev.Event]:
            if runs:
                raise StressRunExists(f"stress test {command.run_id} was run already")
            return [computed.run, *computed.pages]

        outcome = await self.runner.run(
            STRESS_RUNS,
            stress_stream(command.run_id),
            decide,
            request_id=request_id,
            request=request,
            metadata=metadata,
            respond=lambda _: {"run_id": command.run_id},
        )
        if outcome.result.replayed:  # a concurrent repeat won the race: its run stands
            return outcome, await self.recorded(command.run_id)
        return outcome, computed.run

    async def recorded(self, run_id: str) -> ev.StressTestRun:
        """The run recorded under ``run_id`` (its first event), read back from its stream."""
        found = await self.runner.store.read_stream(stress_stream(run_id), limit=1)
        if not found:
            raise StressRunNotFound(f"no stress test {run_id}")
        run = domain_event(found[0])
        assert isinstance(run, ev.StressTestRun)
        return run

    async def last_event(self, run: ev.StressTestRun) -> RecordedEvent:
        """The last event the run's append wrote (its last page, or the run itself)."""
        found = await self.runner.store.read_stream(
            stress_stream(run.run_id), after_version=run.account_pages, limit=1
        )
        return found[0]

    async def accounts(
        self, run: ev.StressTestRun, start: Cursor, size: int
    ) -> tuple[list[ev.StressedAccount], Cursor | None]:
        """Up to ``size`` of the run's listed accounts from ``start``, and where the next
        ones start (None: none left). A cursor past the listing gives nothing."""
        chosen: list[ev.StressedAccount] = []
        page, index = start.page, start.index
        while len(chosen) < size and 1 <= page <= run.account_pages:
            found = await self.runner.store.read_stream(
                stress_stream(run.run_id), after_version=page, limit=1
            )
            listed = domain_event(found[0]) if found else None
            if not isinstance(listed, ev.StressTestAccountsListed) or listed.page != page:
                raise AssertionError(f"stress-{run.run_id} version {page + 1} is not page {page}")
            taken = listed.accounts[index : index + size - len(chosen)]
            chosen.extend(taken)
            index += len(taken)
            if index >= len(listed.accounts):
                page, index = page + 1, 0
        more = bool(chosen) and 1 <= page <= run.account_pages
        return chosen, Cursor(page, index) if more else None

    async def compute(self, command: RunStressTest, *, actor: str = "") -> Computed:
        """The run's figures and pages, as of one snapshot of the read models; records
        nothing."""
        now = self._clock()
        async with self.runner.store.engine.connect() as conn:
            # One snapshot for the book and the exact balances of the accounts it names.
            await conn.execute(sa.text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
            loaded = await load_book(conn)
            book = loaded.book
            policy, prices = await market(self.runner, now, [*book.assets, *book.currencies])
            shocked = stress.shocked_prices(prices, command.scenario)
            named = book.stresses({c: p.price for c, p in shocked.items()}, policy)
            holdings = await exact_holdings(conn, named)
        with collector_paused_for(holdings):
            stressed = stress.stress_accounts(holdings, shocked, policy, now)
        summary = stress.summarise(len(book), stressed, worst=command.worst)
        run = stress.stress_test_run(
            command.run_id,
            command.scenario,
            policy,
            shocked,
            summary,
            now=now,
            book_position=loaded.exact_through.position,
            requested_by=actor,
        )
        return Computed(run, tuple(stress.listed_pages(command.run_id, summary)))


async def exact_holdings(conn: AsyncConnection, clients: Sequence[str]) -> list[Holdings]:
    """The exact holdings of ``clients`` (in that order) from the balances read model, in
    ``conn``'s snapshot."""
    held: dict[str, dict[str, int]] = defaultdict(dict)
    owed: dict[str, dict[str, int]] = defaultdict(dict)
    for start in range(0, len(clients), EXACT_PAGE):
        names = [
            f"client:{client}:{kind}"
            for client in clients[start : start + EXACT_PAGE]
            for kind in CLIENT_ACCOUNT_KINDS
        ]
        rows = await conn.execute(EXACT_BALANCES, {"names": names})
        for ledger_account, code, amount in rows:
            _, client, kind = ledger_account.split(":")
            minor = int(amount)
            if kind in HELD_KINDS:
                held[client][code] = held[client].get(code, 0) + minor
            elif kind in OWED_KINDS:  # the ledger account goes negative as the client owes
                owed[client][code] = owed[client].get(code, 0) - minor
    return [
        Holdings(
            client,
            {c: q for c, q in sorted(held.get(client, {}).items()) if q},
            {c: q for c, q in sorted(owed.get(client, {}).items()) if q},
        )
        for client in clients
    ]
