"""The accounts service's read models, kept from the feed (see harbour.eventstore.projections).

* ``balances`` — every posting of every journal, summed per ledger account and asset;
* ``accounts`` — one row per client: the evolved margin account and its headline figures.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from harbour.accounts.schema import accounts, balances
from harbour.application.decoding import domain_event
from harbour.application.folded_readmodels import AccountStateProjection
from harbour.eventstore.model import RecordedEvent
from harbour.ledger import events as ev
from harbour.ledger.account import MarginAccount
from harbour.ledger.eligibility import who_may_borrow
from harbour.ledger.grades import CreditGrade


class Balances:
    name = "balances"
    tables: Sequence[sa.Table] = (balances,)

    async def apply(self, conn: AsyncConnection, events: Sequence[RecordedEvent]) -> None:
        deltas: dict[tuple[str, str], int] = defaultdict(int)
        for recorded in events:
            if recorded.type not in ev.VALUE_MOVING_EVENT_TYPES:
                continue
            journal = ev.journal_of(domain_event(recorded))
            for posting in journal or ():
                deltas[(posting.ledger_account, posting.asset)] += posting.amount
        if not deltas:
            return
        insert = pg_insert(balances)
        upsert = insert.on_conflict_do_update(
            index_elements=[balances.c.ledger_account, balances.c.asset],
            set_={"amount": balances.c.amount + insert.excluded.amount},
        )
        rows = [{"ledger_account": a, "asset": s, "amount": d} for (a, s), d in deltas.items()]
        await conn.execute(upsert, rows)


class Accounts(AccountStateProjection):
    name = "accounts"
    table = accounts

    def __init__(self, minimum_grade: CreditGrade = CreditGrade.BBB) -> None:
        self._minimum_grade = minimum_grade

    def row(self, state: MarginAccount, head: RecordedEvent) -> dict[str, Any]:
        return {
            "client_id": state.client_id,
            "status": state.status.value,
            "risk_state": state.risk.value,
            "suspended": state.suspended,
            "may_borrow": not who_may_borrow(state, self._minimum_grade),
            "version": head.version,
            "last_position": head.position,
        }


TRIAL_BALANCE_SQL = "SELECT asset, sum(amount) FROM balances GROUP BY asset HAVING sum(amount) <> 0"
