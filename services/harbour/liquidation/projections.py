"""The liquidation service's read models, kept from the feed.

* ``liquidations`` — one row per liquidation: state, outcome, proceeds, fees, shortfall;
* ``liquidation_fills`` — every fill with its venue, counterparty, affiliation and quotes;
* ``deficits`` — the deficit book: what was recognised, recovered, written off, outstanding.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from harbour.application.decoding import domain_event
from harbour.application.folded_readmodels import account_events
from harbour.eventstore.model import RecordedEvent
from harbour.ledger import events as ev
from harbour.liquidation.schema import deficits, liquidation_fills, liquidations

EVENTS = frozenset(
    {
        "LiquidationStarted",
        "LiquidationOrderPlaced",
        "LiquidationOrderSettled",
        "LiquidationFillExecuted",
        "FeeCharged",
        "LiquidationPaused",
        "LiquidationResumed",
        "LiquidationCompleted",
        "ShortfallRecognised",
        "DeficitSettlementProposed",
        "DeficitSettlementRejected",
        "DebtRecovered",
        "DebtWrittenOff",
    }
)


class Liquidations:
    name = "liquidations"
    tables: Sequence[sa.Table] = (liquidations, liquidation_fills, deficits)

    async def apply(self, conn: AsyncConnection, events: Sequence[RecordedEvent]) -> None:
        for recorded in account_events(events):
            if recorded.type in EVENTS:
                await _apply_one(conn, domain_event(recorded), recorded)


async def _apply_one(conn: AsyncConnection, event: ev.Event, recorded: RecordedEvent) -> None:
    row = liquidations.c
    match event:
        case ev.LiquidationStarted():
            await conn.execute(
                sa.insert(liquidations).values(
                    liquidation_id=event.liquidation_id,
                    client_id=event.client_id,
                    state="selling",
                    trigger=event.trigger.value,
                    reason=event.reason,
                    target_utilisation=event.target_utilisation,
                    utilisation_at_start=event.risk.utilisation,
                    orders_open=0,
                    proceeds=0,
                    fees=0,
                    shortfall=0,
                    started_at=recorded.recorded_at,
                    position=recorded.position,
                )
            )
        case ev.LiquidationOrderPlaced():
            await _update(conn, event.liquidation_id, recorded, orders_open=row.orders_open + 1)
        case ev.LiquidationOrderSettled():
            await _update(conn, event.liquidation_id, recorded, orders_open=row.orders_open - 1)
        case ev.LiquidationFillExecuted():
            await _insert_fill(conn, event, recorded)
            await _update(
                conn, event.liquidation_id, recorded, proceeds=row.proceeds + event.proceeds.minor
            )
        case ev.FeeCharged() if event.fee_kind == "liquidation":
            await conn.execute(
                sa.update(liquidations)
                .where(row.client_id == event.client_id, row.state.in_(("selling", "paused")))
                .values(fees=row.fees + event.amount.minor, position=recorded.position)
            )
        case ev.LiquidationPaused():
            await _update(
                conn, event.liquidation_id, recorded, state="paused", pause_reason=event.reason
            )
        case ev.LiquidationResumed():
            await _update(conn, event.liquidation_id, recorded, state="selling", pause_reason=None)
        case ev.LiquidationCompleted():
            await _update(
                conn,
                event.liquidation_id,
                recorded,
                state="completed",
                outcome=event.outcome,
                ended_at=recorded.recorded_at,
            )
        case ev.ShortfallRecognised():
            await _update(
                conn,
                event.liquidation_id,
                recorded,
                state="deficit",
                outcome="shortfall",
                shortfall=row.shortfall + event.shortfall.minor,
                ended_at=recorded.recorded_at,
            )
            await _deficit_recognised(conn, event, recorded)
        case ev.DeficitSettlementProposed():
            await _deficit(conn, event.client_id, event.amount.asset.code, recorded, pending=1)
        case ev.DeficitSettlementRejected():
            await conn.execute(
                sa.update(deficits)
                .where(deficits.c.client_id == event.client_id, deficits.c.pending_proposals > 0)
                .values(
                    pending_proposals=deficits.c.pending_proposals - 1,
                    updated_at=recorded.recorded_at,
                )
            )
        case ev.DebtRecovered():
            await _deficit(
                conn,
                event.client_id,
                event.amount.asset.code,
                recorded,
                pending=-1,
                recovered=event.amount.minor,
            )
        case ev.DebtWrittenOff():
            await _deficit(
                conn,
                event.client_id,
                event.amount.asset.code,
                recorded,
                pending=-1,
                written_off=event.amount.minor,
            )


async def _update(
    conn: AsyncConnection, liquidation_id: str, recorded: RecordedEvent, **values: object
) -> None:
    await conn.execute(
        sa.update(liquidations)
        .where(liquidations.c.liquidation_id == liquidation_id)
        .values(position=recorded.position, **values)
    )


async def _insert_fill(
    conn: AsyncConnection, event: ev.LiquidationFillExecuted, recorded: RecordedEvent
) -> None:
    await conn.execute(
        sa.insert(liquidation_fills).values(
            fill_id=event.fill_id,
            liquidation_id=event.liquidation_id,
            client_id=event.client_id,
            asset=event.quantity.asset.code,
            quantity=event.quantity.minor,
            price=event.price,
            proceeds=event.proceeds.minor,
            fee=event.fee.minor,
            venue=event.venue,
            counterparty=event.counterparty,
            affiliated=event.affiliated,
            quote=event.quote,
            best_independent_quote=event.best_independent_quote,
            executed_at=event.executed_at,
            position=recorded.position,
        )
    )


async def _deficit_recognised(
    conn: AsyncConnection, event: ev.ShortfallRecognised, recorded: RecordedEvent
) -> None:
    insert = pg_insert(deficits).values(
        client_id=event.client_id,
        currency=event.shortfall.asset.code,
        liquidation_id=event.liquidation_id,
        recognised=event.shortfall.minor,
        recovered=0,
        written_off=0,
        outstanding=event.shortfall.minor,
        state="open",
        pending_proposals=0,
        updated_at=recorded.recorded_at,
    )
    excluded = insert.excluded
    await conn.execute(
        insert.on_conflict_do_update(
            index_elements=[deficits.c.client_id, deficits.c.currency],
            set_={
                "liquidation_id": excluded.liquidation_id,
                "recognised": deficits.c.recognised + excluded.recognised,
                "outstanding": deficits.c.outstanding + excluded.outstanding,
                "state": "open",
                "updated_at": excluded.updated_at,
            },
        )
    )


async def _deficit(
    conn: AsyncConnection,
    client_id: str,
    currency: str,
    recorded: RecordedEvent,
    *,
    pending: int,
    recovered: int = 0,
    written_off: int = 0,
) -> None:
    c = deficits.c
    outstanding = c.outstanding - recovered - written_off
    state = sa.case(
        (outstanding > 0, "open"),
        (sa.literal(written_off > 0), "written_off"),
        else_=sa.case((c.written_off > 0, "written_off"), else_="recovered"),
    )
    await conn.execute(
        sa.update(deficits)
        .where(c.client_id == client_id, c.currency == currency)
        .values(
            recovered=c.recovered + recovered,
            written_off=c.written_off + written_off,
            outstanding=outstanding,
            state=state,
            pending_proposals=sa.func.greatest(c.pending_proposals + pending, 0),
            updated_at=recorded.recorded_at,
        )
    )
