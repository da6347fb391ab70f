"""The lending gRPC servicer: proto <-> command, nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

import grpc
import sqlalchemy as sa

from harbour.api.v1 import common_pb2, lending_pb2, lending_pb2_grpc
from harbour.application import wire
from harbour.application.caller import current, require_role
from harbour.application.market import market
from harbour.eventstore.store import EventStore
from harbour.ledger import events as ev
from harbour.ledger.account import MarginAccount, RiskState, from_snapshot
from harbour.ledger.assets import REPORTING_CURRENCY
from harbour.ledger.errors import InvalidArgument
from harbour.ledger.exposure import check_broker_limits
from harbour.ledger.ids import check_id, client_id
from harbour.ledger.money import Money, format_decimal, parse_decimal
from harbour.lending import domain
from harbour.lending.accrual import accrue_in_bulk
from harbour.lending.handlers import LendingHandlers
from harbour.lending.limits import limit_report
from harbour.lending.schema import loans, margin_calls

Context = grpc.aio.ServicerContext[Any, Any]
CREDIT = ("risk", "operator")
MOVERS = ("trading-platform", "operator")
RUNNERS = ("operator", "risk")
READERS = ("trading-platform", "operator", "risk", "auditor")
# Borrowers an interest run names in its answer when it could not accrue them (all are
# counted, and logged): a bounded message however many fail.
NOT_ACCRUED_NAMED = 1000


class LendingService(lending_pb2_grpc.LendingServiceServicer):
    def __init__(self, store: EventStore, handlers: LendingHandlers) -> None:
        self._store = store
        self._handlers = handlers

    # ------------------------------------------------------------------------- commands
    async def ApproveFacility(
        self, request: lending_pb2.ApproveFacilityRequest, context: Context
    ) -> lending_pb2.ApproveFacilityResponse:
        require_role(*CREDIT)
        command = domain.ApproveFacility(
            client_id=client_id(request.client_id),
            facility_id=check_id(request.facility_id, "facility_id"),
            credit_limit=wire.money_field(request.credit_limit, "credit_limit"),
            annual_rate=parse_decimal(request.annual_rate, "annual_rate", maximum=Decimal(1)),
        )
        outcome = await self._handle(command, request)
        return lending_pb2.ApproveFacilityResponse(result=wire.command_result(outcome))

    async def DrawLoan(
        self, request: lending_pb2.DrawLoanRequest, context: Context
    ) -> lending_pb2.DrawLoanResponse:
        require_role(*MOVERS)
        command = domain.DrawLoan(
            client_id(request.client_id), wire.money_field(request.amount, "amount")
        )
        written: list[ev.Event] = []
        outcome = await self._handle(
            command, request, respond=lambda _: _advance(written), events=written
        )
        response = outcome.response or {}
        return lending_pb2.DrawLoanResponse(
            result=wire.command_result(outcome),
            utilisation_after=str(response.get("utilisation_after", "")),
            policy_version=int(response.get("policy_version", 0)),
        )

    async def RepayLoan(
        self, request: lending_pb2.RepayLoanRequest, context: Context
    ) -> lending_pb2.RepayLoanResponse:
        require_role(*MOVERS)
        amount = wire.money_field(request.amount, "amount")
        command = domain.RepayLoan(client_id(request.client_id), amount)
        written: list[ev.Event] = []
        outcome = await self._handle(
            command, request, respond=lambda _: _repayment(written), events=written
        )
        split = outcome.response or {}
        code = amount.asset.code
        return lending_pb2.RepayLoanResponse(
            result=wire.command_result(outcome),
            interest_paid=wire.amount(code, int(split.get("interest", 0))),
            fees_paid=wire.amount(code, int(split.get("fees", 0))),
            principal_paid=wire.amount(code, int(split.get("principal", 0))),
        )

    async def AccrueInterest(
        self, request: lending_pb2.AccrueInterestRequest, context: Context
    ) -> lending_pb2.AccrueInterestResponse:
        require_role(*RUNNERS)
        prefix, _ = wire.command_request(request)
        through = _date(request.through, "through")
        metadata = current().event_metadata()
        if not request.client_id:  # every borrower: many accounts per statement
            run = await accrue_in_bulk(
                self._handlers, through, request_prefix=prefix, metadata=metadata
            )
            return lending_pb2.AccrueInterestResponse(
                accounts=run.accounts,
                days_accrued=run.days_accrued,
                capitalisations=run.capitalisations,
                not_accrued=run.refused[:NOT_ACCRUED_NAMED],
                not_accrued_count=len(run.refused),
            )
        clients = [client_id(request.client_id)]
        response = lending_pb2.AccrueInterestResponse(accounts=len(clients))
        for client in clients:
            written = await self._handlers.accrue(
                client, through, request_id=f"{prefix}:{client}", metadata=metadata
            )
            response.days_accrued += sum(isinstance(e, ev.InterestAccrued) for e in written)
            response.capitalisations += sum(isinstance(e, ev.InterestCapitalised) for e in written)
        return response

    async def CheckRisk(
        self, request: lending_pb2.CheckRiskRequest, context: Context
    ) -> lending_pb2.CheckRiskResponse:
        require_role(*RUNNERS)
        written: list[ev.Event] = []
        outcome = await self._handle(
            domain.CheckRisk(client_id(request.client_id)), request, events=written
        )
        return lending_pb2.CheckRiskResponse(
            result=wire.command_result(outcome), events=[type(e).__name__ for e in written]
        )

    # ------------------------------------------------------------------------- queries
    async def GetLoan(
        self, request: lending_pb2.GetLoanRequest, context: Context
    ) -> lending_pb2.GetLoanResponse:
        require_role(*READERS)
        account, version = await self._handlers.account(client_id(request.client_id))
        return lending_pb2.GetLoanResponse(loan=_loan(account, version))

    async def ListLoans(
        self, request: lending_pb2.ListLoansRequest, context: Context
    ) -> lending_pb2.ListLoansResponse:
        require_role(*READERS)
        size = wire.page_size(request.page.page_size)
        after = request.page.page_token
        if after:
            check_id(after, "page.page_token")
        query = sa.select(loans.c.state, loans.c.version).order_by(loans.c.client_id).limit(size)
        if after:
            query = query.where(loans.c.client_id > after)
        async with self._store.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        items = [_loan(from_snapshot(state), version) for state, version in rows]
        token = items[-1].client_id if len(items) == size else ""
        return lending_pb2.ListLoansResponse(
            loans=items, page=common_pb2.PageInfo(next_page_token=token)
        )

    async def ListMarginCalls(
        self, request: lending_pb2.ListMarginCallsRequest, context: Context
    ) -> lending_pb2.ListMarginCallsResponse:
        require_role(*READERS)
        size = wire.page_size(request.page.page_size)
        offset = _offset(request.page.page_token)
        query = sa.select(margin_calls).order_by(margin_calls.c.position.desc())
        if request.open_only:
            query = query.where(margin_calls.c.state == "open")
        async with self._store.engine.connect() as conn:
            rows = (await conn.execute(query.offset(offset).limit(size))).mappings().all()
        calls = [_call_row(row) for row in rows]
        token = str(offset + size) if len(calls) == size else ""
        return lending_pb2.ListMarginCallsResponse(
            calls=calls, page=common_pb2.PageInfo(next_page_token=token)
        )

    async def GetBrokerExposure(
        self, request: lending_pb2.GetBrokerExposureRequest, context: Context
    ) -> lending_pb2.GetBrokerExposureResponse:
        require_role(*READERS)
        exposure = await self._handlers.exposure()
        now = self._handlers.now()
        policy, prices = await market(self._handlers.runner, now, [c for c, _ in exposure.total])
        hkd = REPORTING_CURRENCY.code
        zero = Money.zero(REPORTING_CURRENCY)
        total = check_broker_limits(exposure, "", zero, prices, policy).total_after
        largest_id, largest = "", zero
        for group in exposure.by_group:
            figures = check_broker_limits(exposure, group, zero, prices, policy)
            if figures.group_after > largest:
                largest_id, largest = group, figures.group_after
        return lending_pb2.GetBrokerExposureResponse(
            outstanding=[wire.amount(code, minor) for code, minor in sorted(exposure.total)],
            total=wire.money(total),
            total_limit=wire.money(policy.total_loans_limit),
            single_client_limit=wire.money(policy.single_client_limit_amount),
            largest_group=wire.money(largest) if largest_id else wire.amount(hkd, 0),
            largest_group_id=largest_id,
            policy_version=policy.version,
        )

    async def GetLimitReport(
        self, request: lending_pb2.GetLimitReportRequest, context: Context
    ) -> lending_pb2.GetLimitReportResponse:
        require_role(*READERS)
        as_of = wire.instant(request.as_of, "as_of") if request.HasField("as_of") else None
        report = await limit_report(self._handlers.runner, now=self._handlers.now(), as_of=as_of)
        response = lending_pb2.GetLimitReportResponse(
            policy_version=report.policy_version,
            limits=[
                lending_pb2.LimitStatus(
                    kind=figure.kind,
                    subject=figure.subject,
                    measured=wire.money(figure.measured),
                    limit=wire.money(figure.limit),
                    headroom=wire.money(figure.headroom),
                    breached=figure.breached,
                )
                for figure in report.figures
            ],
        )
        response.as_of.FromDatetime(report.as_of)
        return response

    async def Subscribe(
        self, request: lending_pb2.LendingServiceSubscribeRequest, context: Context
    ) -> AsyncIterator[lending_pb2.LendingServiceSubscribeResponse]:
        require_role(*wire.WHOLE_FEED_READERS)  # deprecated: FeedService.Subscribe
        async for reply in wire.subscription(
            self._store, request, lending_pb2.LendingServiceSubscribeResponse
        ):
            yield reply

    # ------------------------------------------------------------------------- helpers
    async def _handle(
        self,
        command: domain.Command,
        request: Any,
        *,
        respond: Any = lambda _: None,
        events: list[ev.Event] | None = None,
    ) -> Any:
        request_id, payload = wire.command_request(request)
        return await self._handlers.handle(
            command,
            request_id=request_id,
            request=payload,
            metadata=current().event_metadata(),
            respond=respond,
            events=events,
        )


def _advance(written: list[ev.Event]) -> Mapping[str, Any]:
    """The response kept for a replay: what the advance test found."""
    for event in written:
        if isinstance(event, ev.LoanAdvanced):
            utilisation = event.risk_after.utilisation
            return {
                "utilisation_after": "" if utilisation is None else format_decimal(utilisation),
                "policy_version": event.basis.policy_version,
            }
    return {}


REPAID_LEGS = {"interest_receivable": "interest", "fees_receivable": "fees", "loan": "principal"}


def _repayment(written: list[ev.Event]) -> Mapping[str, Any]:
    """How the repayment was split, read off its journal (interest, fees, principal)."""
    split = dict.fromkeys(REPAID_LEGS.values(), 0)
    for event in written:
        if isinstance(event, ev.LoanRepaid):
            for posting in event.journal:
                kind = posting.ledger_account.rsplit(":", 1)[-1]
                if kind in REPAID_LEGS:
                    split[REPAID_LEGS[kind]] += posting.amount
    return split


def _date(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text) if len(text) == 10 else date.fromisoformat("x")
    except ValueError:
        raise InvalidArgument.for_field(field, "a date such as 2026-11-24") from None


def _offset(token: str) -> int:
    if not token:
        return 0
    if not token.isdigit() or len(token) > 9:
        raise InvalidArgument.for_field("page.page_token", "is not a token this service issued")
    return int(token)


def _loan(account: MarginAccount, version: int) -> lending_pb2.Loan:
    limit = account.credit_limit
    code = limit.asset.code if limit else REPORTING_CURRENCY.code
    loan = lending_pb2.Loan(
        client_id=account.client_id,
        facility_id=account.facility_id or "",
        annual_rate=format_decimal(account.annual_rate) if account.annual_rate is not None else "",
        principal=wire.amount(code, account.principal.get(code)),
        accrued_interest=wire.amount(code, account.accrued_interest.get(code)),
        unpaid_fees=wire.amount(code, account.unpaid_fees.get(code)),
        last_accrual_date=account.last_accrual_date.isoformat()
        if account.last_accrual_date
        else "",
        risk_state=account.risk.value,
        advances_suspended=account.advances_suspended,
        version=version,
    )
    if limit is not None:
        loan.credit_limit.CopyFrom(wire.money(limit))
    if account.margin_call is not None:
        call = account.margin_call
        loan.margin_call.CopyFrom(
            lending_pb2.MarginCall(
                call_id=call.call_id,
                client_id=account.client_id,
                amount=wire.money(call.amount),
                state=_call_state(account),
            )
        )
        loan.margin_call.deadline.FromDatetime(call.deadline)
        if call.issued_at is not None:
            loan.margin_call.issued_at.FromDatetime(call.issued_at)
    return loan


def _call_state(account: MarginAccount) -> str:
    """The call's state as ListMarginCalls reports it: a call that turned into a
    liquidation is "liquidating", whatever its deadline did."""
    if account.risk is RiskState.LIQUIDATING:
        return "liquidating"
    call = account.margin_call
    return "expired" if call is not None and call.expired else "open"


def _iso(day: date | None) -> str:
    return day.isoformat() if day else ""


def _call_row(row: sa.RowMapping) -> lending_pb2.MarginCall:
    call = lending_pb2.MarginCall(
        call_id=row["call_id"],
        client_id=row["client_id"],
        amount=wire.amount(REPORTING_CURRENCY.code, int(row["amount"])),
        state=row["state"],
    )
    call.deadline.FromDatetime(row["deadline"])
    call.issued_at.FromDatetime(row["issued_at"])
    return call


def register(
    server: grpc.aio.Server, store: EventStore, handlers: LendingHandlers
) -> tuple[str, ...]:
    # Generated servicer helpers are untyped (grpcio-tools emits no stubs for them).
    lending_pb2_grpc.add_LendingServiceServicer_to_server(  # type: ignore[no-untyped-call]
        LendingService(store, handlers), server
    )
    return (lending_pb2.DESCRIPTOR.services_by_name["LendingService"].full_name,)
