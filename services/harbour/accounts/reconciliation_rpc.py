"""The accounts service's reconciliation RPCs: proto <-> command, nothing else.

``ReconcileStatement`` runs and records a reconciliation and answers with the first page of its
breaks; ``GetReconciliationRun`` pages through a recorded run's breaks (a page token is the
index of the next break). Both read the breaks from the recorded event, so the pages of a run
never change.
"""

from __future__ import annotations

from harbour.accounts.reconciliation import ReconcileStatement, Reconciliations
from harbour.api.v1 import accounts_pb2, common_pb2
from harbour.application import wire
from harbour.application.caller import current, require_role
from harbour.ledger import events as ev
from harbour.ledger.errors import InvalidArgument
from harbour.ledger.ids import check_id

RECONCILERS = ("operator",)
READERS = ("trading-platform", "operator", "risk", "auditor")
MAX_FILE_NAME = 200

SOURCES: dict[int, str] = {
    accounts_pb2.STATEMENT_SOURCE_CUSTODIAN: "custodian",
    accounts_pb2.STATEMENT_SOURCE_BANK: "bank",
    accounts_pb2.STATEMENT_SOURCE_SECURITIES: "securities",
}
SOURCE_ENUMS: dict[str, accounts_pb2.StatementSource] = {
    "custodian": accounts_pb2.STATEMENT_SOURCE_CUSTODIAN,
    "bank": accounts_pb2.STATEMENT_SOURCE_BANK,
    "securities": accounts_pb2.STATEMENT_SOURCE_SECURITIES,
}


class ReconciliationRpc:
    def __init__(self, reconciliations: Reconciliations) -> None:
        self._reconciliations = reconciliations

    async def reconcile(
        self, request: accounts_pb2.ReconcileStatementRequest
    ) -> accounts_pb2.ReconcileStatementResponse:
        require_role(*RECONCILERS)
        command = ReconcileStatement(
            run_id=check_id(request.run_id, "run_id"),
            source=_source(request.source),
            statement=request.statement,
            file_name=wire.text(request.file_name, "file_name", MAX_FILE_NAME),
            statement_at=(
                wire.instant(request.statement_at, "statement_at")
                if request.HasField("statement_at")
                else None
            ),
        )
        size = wire.page_size(request.page_size)
        request_id, payload = wire.command_request(request)
        outcome, run = await self._reconciliations.run(
            command,
            actor=current().principal.name,
            request_id=request_id,
            request=payload,
            metadata=current().event_metadata(),
        )
        breaks, token = _page(run, 0, size)
        return accounts_pb2.ReconcileStatementResponse(
            result=wire.command_result(outcome),
            run=reconciliation_run(run),
            breaks=breaks,
            page=common_pb2.PageInfo(next_page_token=token),
        )

    async def get(
        self, request: accounts_pb2.GetReconciliationRunRequest
    ) -> accounts_pb2.GetReconciliationRunResponse:
        require_role(*READERS)
        run = await self._reconciliations.recorded(check_id(request.run_id, "run_id"))
        breaks, token = _page(
            run, _start(request.page.page_token), wire.page_size(request.page.page_size)
        )
        return accounts_pb2.GetReconciliationRunResponse(
            run=reconciliation_run(run),
            breaks=breaks,
            page=common_pb2.PageInfo(next_page_token=token),
        )


def _source(value: int) -> str:
    found = SOURCES.get(value)
    if found is None:
        raise InvalidArgument.for_field("source", "must be CUSTODIAN, BANK or SECURITIES")
    return found


def _start(token: str) -> int:
    if not token:
        return 0
    if not token.isdigit() or len(token) > 9:
        raise InvalidArgument.for_field("page.page_token", "is not a token this service issued")
    return int(token)


def _page(
    run: ev.ReconciliationRun, start: int, size: int
) -> tuple[list[accounts_pb2.ReconciliationBreak], str]:
    chosen = run.breaks[start : start + size]
    after = start + len(chosen)
    return [reconciliation_break(b) for b in chosen], str(after) if after < len(run.breaks) else ""


def reconciliation_break(found: ev.ReconciliationBreak) -> accounts_pb2.ReconciliationBreak:
    return accounts_pb2.ReconciliationBreak(
        cause=found.cause,
        line=found.line,
        client_id=found.client_id,
        asset=found.asset,
        ledger_amount=found.ledger_amount,
        statement_amount=found.statement_amount,
        difference=found.difference,
        detail=found.detail,
    )


def reconciliation_run(run: ev.ReconciliationRun) -> accounts_pb2.ReconciliationRun:
    message = accounts_pb2.ReconciliationRun(
        run_id=run.run_id,
        source=SOURCE_ENUMS[run.source],
        file_sha256=run.file_sha256,
        file_name=run.file_name,
        requested_by=run.requested_by,
        lines_read=run.lines_read,
        balances_compared=run.balances_compared,
        balances_matched=run.balances_matched,
        breaks_found=run.breaks_found,
        breaks_recorded=len(run.breaks),
        ledger_position=run.ledger_position,
    )
    message.statement_at.FromDatetime(run.statement_at)
    message.run_at.FromDatetime(run.run_at)
    return message
