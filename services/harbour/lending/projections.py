"""The lending service's read models, kept from the feed.

* ``loans`` — one row per client with a facility or a loan: terms, what is owed, risk state;
* ``margin_calls`` — one row per call, from issue to its end.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from harbour.application.decoding import domain_event
from harbour.application.folded_readmodels import AccountStateProjection, account_events
from harbour.eventstore.model import RecordedEvent
from harbour.ledger import events as ev
from harbour.ledger.account import MarginAccount
from harbour.lending.schema import loans, margin_calls

CALL_EVENTS = frozenset(
    {"MarginCallIssued", "MarginCallMet", "MarginCallExpired", "LiquidationStarted"}
)


class Loans(AccountStateProjection):
    name = "loans"
    table = loans

    def row(self, state: MarginAccount, head: RecordedEvent) -> dict[str, Any] | None:
        if state.credit_limit is None or (state.facility_id is None and not state.has_debt):
            return None
        code = state.credit_limit.asset.code
        return {
            "client_id": state.client_id,
            "facility_id": state.facility_id,
            "currency": code,
            "credit_limit": state.credit_limit.minor,
            "annual_rate": state.annual_rate,
            "principal": state.principal.get(code),
            "accrued_interest": state.accrued_interest.get(code),
            "unpaid_fees": state.unpaid_fees.get(code),
            "last_accrual_date": state.last_accrual_date,
            "risk_state": state.risk.value,
            "advances_suspended": state.advances_suspended,
            "version": head.version,
        }


class MarginCalls:
    name = "margin_calls"
    tables: Sequence[sa.Table] = (margin_calls,)

    async def apply(self, conn: AsyncConnection, events: Sequence[RecordedEvent]) -> None:
        for recorded in account_events(events):
            if recorded.type not in CALL_EVENTS:
                continue
            event = domain_event(recorded)
            match event:
                case ev.MarginCallIssued():
                    await conn.execute(
                        sa.insert(margin_calls).values(
                            call_id=event.call_id,
                            client_id=event.client_id,
                            amount=event.call_amount.minor,
                            deadline=event.deadline,
                            state="open",
                            issued_at=recorded.recorded_at,
                            position=recorded.position,
                        )
                    )
                case ev.MarginCallMet():
                    await self._close(conn, event.call_id, "met", recorded)
                case ev.MarginCallExpired():
                    await self._close(conn, event.call_id, "expired", recorded)
                case ev.LiquidationStarted():
                    # The client's open or expired call (if any) ends in liquidation.
                    await conn.execute(
                        sa.update(margin_calls)
                        .where(
                            margin_calls.c.client_id == event.client_id,
                            margin_calls.c.state.in_(("open", "expired")),
                        )
                        .values(state="liquidating", closed_at=recorded.recorded_at)
                    )

    @staticmethod
    async def _close(
        conn: AsyncConnection, call_id: str, state: str, recorded: RecordedEvent
    ) -> None:
        await conn.execute(
            sa.update(margin_calls)
            .where(margin_calls.c.call_id == call_id)
            .values(state=state, closed_at=recorded.recorded_at)
        )
