"""The liquidation gRPC servicer: proto <-> command, nothing else."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import grpc
import sqlalchemy as sa

from harbour.api.v1 import common_pb2, liquidation_pb2, liquidation_pb2_grpc
from harbour.application import wire
from harbour.application.caller import current, require_role
from harbour.eventstore.store import EventStore
from harbour.ledger import events as ev
from harbour.ledger.assets import REPORTING_CURRENCY, asset
from harbour.ledger.errors import InvalidArgument, NotFound
from harbour.ledger.ids import account_stream, check_id, client_id
from harbour.ledger.money import format_decimal, parse_price
from harbour.liquidation import domain
from harbour.liquidation.handlers import LiquidationHandlers
from harbour.liquidation.projections import EVENTS
from harbour.liquidation.schema import deficits, liquidation_fills, liquidations

Context = grpc.aio.ServicerContext[Any, Any]
OPERATORS = ("operator",)
CONTROLLERS = ("operator", "risk")
READERS = ("trading-platform", "operator", "risk", "auditor")
STATES = ("selling", "paused", "completed", "deficit")
DEFICIT_STATES = ("open", "recovered", "written_off")
MAX_EVENTS = 10_000  # one subscription call; resume from the last position for more
MAX_IDLE_SECONDS = 300
DEFAULT_IDLE_SECONDS = 30
POLL_SECONDS = 0.5
SUBSCRIBED = EVENTS | {"LiquidationProceedsApplied", "AdvancesResumed"}
_HKD = REPORTING_CURRENCY.code


class LiquidationService(liquidation_pb2_grpc.LiquidationServiceServicer):
    def __init__(self, store: EventStore, handlers: LiquidationHandlers) -> None:
        self._store = store
        self._handlers = handlers

    # ------------------------------------------------------------------------- commands
    async def StartLiquidation(
        self, request: liquidation_pb2.StartLiquidationRequest, context: Context
    ) -> liquidation_pb2.StartLiquidationResponse:
        require_role(*OPERATORS)
        command = domain.StartLiquidation(
            client_id(request.client_id), wire.text(request.reason, "reason", domain.MAX_REASON)
        )
        written: list[ev.Event] = []
        outcome = await self._handle(command, request, written)
        started = [e for e in written if isinstance(e, ev.LiquidationStarted)]
        return liquidation_pb2.StartLiquidationResponse(
            result=wire.command_result(outcome),
            liquidation_id=started[0].liquidation_id if started else f"liq-{request.request_id}",
        )

    async def ResumeLiquidation(
        self, request: liquidation_pb2.ResumeLiquidationRequest, context: Context
    ) -> liquidation_pb2.ResumeLiquidationResponse:
        require_role(*CONTROLLERS)
        code = asset(request.asset, "asset").code if request.asset else ""
        floor = parse_price(request.floor_price, "floor_price") if request.floor_price else None
        command = domain.ResumeLiquidation(
            client_id(request.client_id),
            code,
            floor,
            wire.text(request.reason, "reason", domain.MAX_REASON),
        )
        outcome = await self._handle(command, request)
        return liquidation_pb2.ResumeLiquidationResponse(result=wire.command_result(outcome))

    async def ProposeDeficitSettlement(
        self, request: liquidation_pb2.ProposeDeficitSettlementRequest, context: Context
    ) -> liquidation_pb2.ProposeDeficitSettlementResponse:
        require_role(*CONTROLLERS)
        command = domain.ProposeSettlement(
            client_id(request.client_id),
            check_id(request.proposal_id, "proposal_id"),
            wire.text(request.kind, "kind", 20, required=True),
            wire.money_field(request.amount, "amount"),
            wire.text(request.source, "source", 20),
            wire.text(request.reference, "reference", 128),
        )
        outcome = await self._handle(command, request)
        return liquidation_pb2.ProposeDeficitSettlementResponse(result=wire.command_result(outcome))

    async def ApproveDeficitSettlement(
        self, request: liquidation_pb2.ApproveDeficitSettlementRequest, context: Context
    ) -> liquidation_pb2.ApproveDeficitSettlementResponse:
        require_role(*CONTROLLERS)
        command = domain.ApproveSettlement(
            client_id(request.client_id), check_id(request.proposal_id, "proposal_id")
        )
        outcome = await self._handle(command, request)
        return liquidation_pb2.ApproveDeficitSettlementResponse(result=wire.command_result(outcome))

    async def RejectDeficitSettlement(
        self, request: liquidation_pb2.RejectDeficitSettlementRequest, context: Context
    ) -> liquidation_pb2.RejectDeficitSettlementResponse:
        require_role(*CONTROLLERS)
        command = domain.RejectSettlement(
            client_id(request.client_id),
            check_id(request.proposal_id, "proposal_id"),
            wire.text(request.reason, "reason", domain.MAX_REASON),
        )
        outcome = await self._handle(command, request)
        return liquidation_pb2.RejectDeficitSettlementResponse(result=wire.command_result(outcome))

    # ------------------------------------------------------------------------- queries
    async def GetLiquidation(
        self, request: liquidation_pb2.GetLiquidationRequest, context: Context
    ) -> liquidation_pb2.GetLiquidationResponse:
        require_role(*READERS)
        liquidation_id = check_id(request.liquidation_id, "liquidation_id")
        async with self._store.engine.connect() as conn:
            row = (
                (
                    await conn.execute(
                        sa.select(liquidations).where(
                            liquidations.c.liquidation_id == liquidation_id
                        )
                    )
                )
                .mappings()
                .first()
            )
            if row is None:
                raise LiquidationNotFound(f"no liquidation {liquidation_id}")
            fills = (
                (
                    await conn.execute(
                        sa.select(liquidation_fills)
                        .where(liquidation_fills.c.liquidation_id == liquidation_id)
                        .order_by(liquidation_fills.c.position, liquidation_fills.c.fill_id)
                    )
                )
                .mappings()
                .all()
            )
        message = _liquidation(row)
        message.fills.extend(_fill(fill) for fill in fills)
        return liquidation_pb2.GetLiquidationResponse(liquidation=message)

    async def ListLiquidations(
        self, request: liquidation_pb2.ListLiquidationsRequest, context: Context
    ) -> liquidation_pb2.ListLiquidationsResponse:
        require_role(*READERS)
        size = wire.page_size(request.page.page_size)
        before = _position_token(request.page.page_token)
        query = sa.select(liquidations).order_by(liquidations.c.position.desc()).limit(size)
        if request.state:
            if request.state not in STATES:
                raise InvalidArgument.for_field("state", f"must be one of {', '.join(STATES)}")
            query = query.where(liquidations.c.state == request.state)
        if request.client_id:
            query = query.where(liquidations.c.client_id == client_id(request.client_id))
        if before is not None:
            query = query.where(liquidations.c.position < before)
        async with self._store.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        token = str(rows[-1]["position"]) if len(rows) == size else ""
        return liquidation_pb2.ListLiquidationsResponse(
            liquidations=[_liquidation(row) for row in rows],
            page=common_pb2.PageInfo(next_page_token=token),
        )

    async def ListDeficits(
        self, request: liquidation_pb2.ListDeficitsRequest, context: Context
    ) -> liquidation_pb2.ListDeficitsResponse:
        require_role(*READERS)
        size = wire.page_size(request.page.page_size)
        after = request.page.page_token
        query = sa.select(deficits).order_by(deficits.c.client_id, deficits.c.currency).limit(size)
        if request.state:
            if request.state not in DEFICIT_STATES:
                raise InvalidArgument.for_field(
                    "state", f"must be one of {', '.join(DEFICIT_STATES)}"
                )
            query = query.where(deficits.c.state == request.state)
        if after:
            query = query.where(deficits.c.client_id > check_id(after, "page.page_token"))
        async with self._store.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        token = rows[-1]["client_id"] if len(rows) == size else ""
        return liquidation_pb2.ListDeficitsResponse(
            deficits=[_deficit(row) for row in rows],
            page=common_pb2.PageInfo(next_page_token=token),
        )

    async def SubscribeLiquidationEvents(
        self, request: liquidation_pb2.SubscribeLiquidationEventsRequest, context: Context
    ) -> AsyncIterator[liquidation_pb2.SubscribeLiquidationEventsResponse]:
        """One client's liquidation events, read from that client's own stream (no feed
        listener per subscriber: a subscription costs a cheap indexed poll, and is capped in
        events and in idle time)."""
        require_role(*READERS)
        stream = account_stream(client_id(request.client_id))
        after = request.after_position
        if after < 0:
            raise InvalidArgument.for_field("after_position", "must not be negative")
        limit = _bounded(request.max_events, "max_events", MAX_EVENTS, MAX_EVENTS)
        idle = _bounded(
            request.idle_seconds, "idle_seconds", DEFAULT_IDLE_SECONDS, MAX_IDLE_SECONDS
        )
        version, sent, quiet = 0, 0, 0.0
        while sent < limit and quiet < idle:
            batch = await self._store.read_stream(stream, after_version=version, limit=500)
            if not batch:
                await asyncio.sleep(POLL_SECONDS)
                quiet += POLL_SECONDS
                continue
            quiet = 0.0
            version = batch[-1].version
            for event in batch:
                if event.position > after and event.type in SUBSCRIBED and sent < limit:
                    sent += 1
                    yield liquidation_pb2.SubscribeLiquidationEventsResponse(
                        event=wire.recorded_event(event)
                    )

    # ------------------------------------------------------------------------- helpers
    async def _handle(
        self, command: domain.Command, request: Any, events: list[ev.Event] | None = None
    ) -> Any:
        request_id, payload = wire.command_request(request)
        return await self._handlers.handle(
            command,
            request_id=request_id,
            request=payload,
            metadata=current().event_metadata(),
            events=events,
        )


class LiquidationNotFound(NotFound):
    reason = "liquidation_not_found"


def _bounded(value: int, field: str, default: int, maximum: int) -> int:
    if value < 0:
        raise InvalidArgument.for_field(field, "must not be negative")
    return min(value or default, maximum)


def _position_token(token: str) -> int | None:
    if not token:
        return None
    if not token.isdigit() or len(token) > 18:
        raise InvalidArgument.for_field("page.page_token", "is not a token this service issued")
    return int(token)


def _text(value: Decimal | None) -> str:
    return "" if value is None else format_decimal(value)


def _liquidation(row: sa.RowMapping) -> liquidation_pb2.Liquidation:
    message = liquidation_pb2.Liquidation(
        liquidation_id=row["liquidation_id"],
        client_id=row["client_id"],
        state=row["state"],
        trigger=row["trigger"],
        reason=row["reason"],
        target_utilisation=_text(row["target_utilisation"]),
        utilisation_at_start=_text(row["utilisation_at_start"]),
        outcome=row["outcome"] or "",
        pause_reason=row["pause_reason"] or "",
        orders_open=row["orders_open"],
        proceeds=wire.amount(_HKD, int(row["proceeds"])),
        fees=wire.amount(_HKD, int(row["fees"])),
        shortfall=wire.amount(_HKD, int(row["shortfall"])),
    )
    message.started_at.FromDatetime(row["started_at"])
    if row["ended_at"] is not None:
        message.ended_at.FromDatetime(row["ended_at"])
    return message


def _fill(row: sa.RowMapping) -> liquidation_pb2.LiquidationFill:
    fill = liquidation_pb2.LiquidationFill(
        fill_id=row["fill_id"],
        quantity=wire.amount(row["asset"], int(row["quantity"])),
        price=format_decimal(row["price"]),
        proceeds=wire.amount(_HKD, int(row["proceeds"])),
        fee=wire.amount(_HKD, int(row["fee"])),
        venue=row["venue"],
        counterparty=row["counterparty"],
        affiliated=row["affiliated"],
        quote=format_decimal(row["quote"]),
        best_independent_quote=format_decimal(row["best_independent_quote"]),
    )
    fill.executed_at.FromDatetime(row["executed_at"])
    return fill


def _deficit(row: sa.RowMapping) -> liquidation_pb2.Deficit:
    code = row["currency"]
    return liquidation_pb2.Deficit(
        client_id=row["client_id"],
        liquidation_id=row["liquidation_id"],
        recognised=wire.amount(code, int(row["recognised"])),
        recovered=wire.amount(code, int(row["recovered"])),
        written_off=wire.amount(code, int(row["written_off"])),
        outstanding=wire.amount(code, int(row["outstanding"])),
        state=row["state"],
        pending_proposals=row["pending_proposals"],
    )


def register(
    server: grpc.aio.Server, store: EventStore, handlers: LiquidationHandlers
) -> tuple[str, ...]:
    # Generated servicer helpers are untyped (grpcio-tools emits no stubs for them).
    liquidation_pb2_grpc.add_LiquidationServiceServicer_to_server(  # type: ignore[no-untyped-call]
        LiquidationService(store, handlers), server
    )
    return (liquidation_pb2.DESCRIPTOR.services_by_name["LiquidationService"].full_name,)
