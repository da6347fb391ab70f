"""The accounts gRPC servicer: proto <-> command, nothing else.

Field validation turns malformed input into INVALID_ARGUMENT with the field's name (the
kernel's parsers raise those); decisions live in domain.py, persistence in handlers.py.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import grpc

from harbour.accounts import domain
from harbour.accounts.handlers import AccountHandlers, Outcome, evolve_recorded
from harbour.accounts.reconciliation import Reconciliations
from harbour.accounts.reconciliation_rpc import ReconciliationRpc
from harbour.api.v1 import accounts_pb2, accounts_pb2_grpc, common_pb2
from harbour.application import wire
from harbour.application.caller import current, require_role
from harbour.application.decoding import domain_event
from harbour.eventstore.encoding import canonical_json
from harbour.eventstore.store import EventStore
from harbour.ledger import events as ev
from harbour.ledger.account import Lifecycle, MarginAccount, RiskState
from harbour.ledger.assets import asset
from harbour.ledger.balances import Balances
from harbour.ledger.eligibility import is_professional_investor, who_may_borrow
from harbour.ledger.errors import AccountNotFound, InvalidArgument
from harbour.ledger.grades import CreditGrade, credit_grade
from harbour.ledger.ids import account_stream, check_id, client_id
from harbour.ledger.money import Money, format_minor
from harbour.ledger.postings import client_of

Context = grpc.aio.ServicerContext[Any, Any]
R = TypeVar("R")
MOVERS = ("trading-platform", "operator")
OPERATORS = ("operator",)
CREDIT = ("operator", "risk")  # credit assessments and limits
READERS = ("trading-platform", "operator", "risk", "auditor")
MAX_REFERENCE, MAX_REASON = 128, 500
# Stream versions are PostgreSQL integers, global positions bigints.
MAX_ORIGINAL = {"original_version": 2**31 - 1, "original_position": 2**63 - 1}

STATUS = {
    Lifecycle.NOT_ONBOARDED: accounts_pb2.ACCOUNT_STATUS_UNSPECIFIED,
    Lifecycle.APPLIED: accounts_pb2.ACCOUNT_STATUS_APPLIED,
    Lifecycle.ACTIVE: accounts_pb2.ACCOUNT_STATUS_ACTIVE,
    Lifecycle.CLOSED: accounts_pb2.ACCOUNT_STATUS_CLOSED,
}
RISK = {state: getattr(accounts_pb2, f"RISK_STATE_{state.name}") for state in RiskState}


class AccountsService(accounts_pb2_grpc.AccountsServiceServicer):
    def __init__(self, store: EventStore, handlers: AccountHandlers) -> None:
        self._store = store
        self._handlers = handlers
        self._reconciliation = ReconciliationRpc(
            Reconciliations(handlers.runner, clock=handlers.now)
        )

    # ------------------------------------------------------------------------- commands
    async def OnboardClient(
        self, request: accounts_pb2.OnboardClientRequest, context: Context
    ) -> accounts_pb2.OnboardClientResponse:
        require_role(*OPERATORS)
        command = domain.OnboardClient(
            client_id=client_id(request.client_id),
            securities_account_id=_optional_id(
                request.securities_margin_account_id, "securities_margin_account_id"
            ),
            credit_assessment_id=_optional_id(request.credit_assessment_id, "credit_assessment_id"),
            credit_grade=credit_grade(request.credit_grade) if request.credit_grade else None,
            credit_limit=(
                wire.money_field(request.credit_limit, "credit_limit", allow_zero=True)
                if request.HasField("credit_limit")
                else None
            ),
            agreement_version=_optional_id(
                request.margin_agreement_version, "margin_agreement_version"
            ),
            disclosure_version=_optional_id(
                request.risk_disclosure_version, "risk_disclosure_version"
            ),
            professional_investor=request.professional_investor,
            related_group_id=_optional_id(request.related_group_id, "related_group_id"),
        )
        grade = (await self._handlers.context()).minimum_grade
        outcome = await self._handle(command, request, respond=lambda s: _eligibility(s, grade))
        response = outcome.response or {}
        return accounts_pb2.OnboardClientResponse(
            result=wire.command_result(outcome),
            may_borrow=bool(response.get("may_borrow")),
            borrowing_refusals=list(response.get("borrowing_refusals", ())),
            fact_proposal_ids=list(response.get("fact_proposal_ids", ())),
        )

    async def DepositCash(
        self, request: accounts_pb2.DepositCashRequest, context: Context
    ) -> accounts_pb2.DepositCashResponse:
        return await self._move(
            request, domain.DepositCash, "amount", accounts_pb2.DepositCashResponse
        )

    async def WithdrawCash(
        self, request: accounts_pb2.WithdrawCashRequest, context: Context
    ) -> accounts_pb2.WithdrawCashResponse:
        return await self._move(
            request, domain.WithdrawCash, "amount", accounts_pb2.WithdrawCashResponse
        )

    async def DepositCollateral(
        self, request: accounts_pb2.DepositCollateralRequest, context: Context
    ) -> accounts_pb2.DepositCollateralResponse:
        return await self._move(
            request, domain.DepositCollateral, "quantity", accounts_pb2.DepositCollateralResponse
        )

    async def WithdrawCollateral(
        self, request: accounts_pb2.WithdrawCollateralRequest, context: Context
    ) -> accounts_pb2.WithdrawCollateralResponse:
        return await self._move(
            request, domain.WithdrawCollateral, "quantity", accounts_pb2.WithdrawCollateralResponse
        )

    async def _move(
        self,
        request: Any,
        command: Callable[[str, Money, str], domain.Command],
        amount_field: str,
        response: Callable[..., R],
    ) -> R:
        """Every cash and collateral movement: client, amount, reference -> one command."""
        require_role(*MOVERS)
        decided = command(
            client_id(request.client_id),
            wire.money_field(getattr(request, amount_field), amount_field),
            wire.text(request.reference, "reference", MAX_REFERENCE),
        )
        return response(result=wire.command_result(await self._handle(decided, request)))

    async def SuspendAccount(
        self, request: accounts_pb2.SuspendAccountRequest, context: Context
    ) -> accounts_pb2.SuspendAccountResponse:
        require_role(*OPERATORS)
        command = domain.SuspendAccount(
            client_id(request.client_id), wire.text(request.reason, "reason", MAX_REASON, True)
        )
        return accounts_pb2.SuspendAccountResponse(
            result=wire.command_result(await self._handle(command, request))
        )

    async def ResumeAccount(
        self, request: accounts_pb2.ResumeAccountRequest, context: Context
    ) -> accounts_pb2.ResumeAccountResponse:
        require_role(*OPERATORS)
        command = domain.ResumeAccount(
            client_id(request.client_id), wire.text(request.reason, "reason", MAX_REASON, True)
        )
        return accounts_pb2.ResumeAccountResponse(
            result=wire.command_result(await self._handle(command, request))
        )

    async def CloseAccount(
        self, request: accounts_pb2.CloseAccountRequest, context: Context
    ) -> accounts_pb2.CloseAccountResponse:
        require_role(*OPERATORS)
        command = domain.CloseAccount(client_id(request.client_id))
        return accounts_pb2.CloseAccountResponse(
            result=wire.command_result(await self._handle(command, request))
        )

    # ------------------------------------------------------------------------- corrections
    async def ProposeCorrection(
        self, request: accounts_pb2.ProposeCorrectionRequest, context: Context
    ) -> accounts_pb2.ProposeCorrectionResponse:
        require_role(*OPERATORS)
        client = client_id(request.client_id)
        correction = check_id(request.correction_id, "correction_id")
        reason = wire.text(request.reason, "reason", MAX_REASON, True)
        which = request.WhichOneof("original")
        if which is None:
            raise InvalidArgument.for_field(
                "original_version", "name the movement by original_version or original_position"
            )
        named = getattr(request, which)
        if not 1 <= named <= MAX_ORIGINAL[which]:
            raise InvalidArgument.for_field(which, f"must be from 1 to {MAX_ORIGINAL[which]}")
        version = (
            named
            if which == "original_version"
            else await self._handlers.movement_version(client, named)
        )
        command = domain.ProposeCorrection(client, correction, version, reason)
        return accounts_pb2.ProposeCorrectionResponse(
            result=wire.command_result(await self._handle(command, request)),
            original_version=version,
        )

    async def ApproveCorrection(
        self, request: accounts_pb2.ApproveCorrectionRequest, context: Context
    ) -> accounts_pb2.ApproveCorrectionResponse:
        require_role(*OPERATORS)
        command = domain.ApproveCorrection(
            client_id(request.client_id), check_id(request.correction_id, "correction_id")
        )
        return accounts_pb2.ApproveCorrectionResponse(
            result=wire.command_result(await self._handle(command, request))
        )

    async def RejectCorrection(
        self, request: accounts_pb2.RejectCorrectionRequest, context: Context
    ) -> accounts_pb2.RejectCorrectionResponse:
        require_role(*OPERATORS)
        command = domain.RejectCorrection(
            client_id(request.client_id),
            check_id(request.correction_id, "correction_id"),
            wire.text(request.reason, "reason", MAX_REASON, True),
        )
        return accounts_pb2.RejectCorrectionResponse(
            result=wire.command_result(await self._handle(command, request))
        )

    # ------------------------------------------------------------------------- credit facts
    async def ProposeClientFact(
        self, request: accounts_pb2.ProposeClientFactRequest, context: Context
    ) -> accounts_pb2.ProposeClientFactResponse:
        require_role(*CREDIT)
        command = domain.ProposeClientFact(
            client_id(request.client_id),
            check_id(request.proposal_id, "proposal_id"),
            _credit_fact(request),
        )
        return accounts_pb2.ProposeClientFactResponse(
            result=wire.command_result(await self._handle(command, request))
        )

    async def ApproveClientFact(
        self, request: accounts_pb2.ApproveClientFactRequest, context: Context
    ) -> accounts_pb2.ApproveClientFactResponse:
        require_role(*CREDIT)
        command = domain.ApproveClientFact(
            client_id(request.client_id), check_id(request.proposal_id, "proposal_id")
        )
        now = await self._handlers.context()
        outcome = await self._handle(
            command, request, respond=lambda s: _eligibility(s, now.minimum_grade, now.now)
        )
        response = outcome.response or {}
        return accounts_pb2.ApproveClientFactResponse(
            result=wire.command_result(outcome),
            may_borrow=bool(response.get("may_borrow")),
            borrowing_refusals=list(response.get("borrowing_refusals", ())),
            advances_suspended=bool(response.get("advances_suspended")),
        )

    async def RejectClientFact(
        self, request: accounts_pb2.RejectClientFactRequest, context: Context
    ) -> accounts_pb2.RejectClientFactResponse:
        require_role(*CREDIT)
        command = domain.RejectClientFact(
            client_id(request.client_id),
            check_id(request.proposal_id, "proposal_id"),
            wire.text(request.reason, "reason", MAX_REASON, True),
        )
        return accounts_pb2.RejectClientFactResponse(
            result=wire.command_result(await self._handle(command, request))
        )

    # ------------------------------------------------------------------------- client facts
    # RecordCreditAssessment, SetCreditLimit and SetProfessionalInvestorStatus are deprecated:
    # the domain refuses them (maker_checker_required) once their input is well-formed.
    async def RecordCreditAssessment(
        self, request: accounts_pb2.RecordCreditAssessmentRequest, context: Context
    ) -> accounts_pb2.RecordCreditAssessmentResponse:
        require_role(*CREDIT)
        command = domain.RecordCreditAssessment(
            client_id(request.client_id),
            check_id(request.assessment_id, "assessment_id"),
            credit_grade(request.grade, "grade"),
            _day(request.assessed_on, "assessed_on"),
            _optional_day(request.expires_on, "expires_on"),
        )
        return accounts_pb2.RecordCreditAssessmentResponse(
            result=wire.command_result(await self._handle(command, request))
        )

    async def SetCreditLimit(
        self, request: accounts_pb2.SetCreditLimitRequest, context: Context
    ) -> accounts_pb2.SetCreditLimitResponse:
        require_role(*CREDIT)
        command = domain.SetCreditLimit(
            client_id(request.client_id),
            wire.money_field(request.limit, "limit", allow_zero=True),
        )
        return accounts_pb2.SetCreditLimitResponse(
            result=wire.command_result(await self._handle(command, request))
        )

    async def SignMarginAgreement(
        self, request: accounts_pb2.SignMarginAgreementRequest, context: Context
    ) -> accounts_pb2.SignMarginAgreementResponse:
        require_role(*OPERATORS)
        command = domain.SignMarginAgreement(
            client_id(request.client_id),
            check_id(request.version, "version"),
            _day(request.signed_on, "signed_on"),
        )
        return accounts_pb2.SignMarginAgreementResponse(
            result=wire.command_result(await self._handle(command, request))
        )

    async def AcknowledgeRiskDisclosure(
        self, request: accounts_pb2.AcknowledgeRiskDisclosureRequest, context: Context
    ) -> accounts_pb2.AcknowledgeRiskDisclosureResponse:
        require_role(*OPERATORS)
        command = domain.AcknowledgeRiskDisclosure(
            client_id(request.client_id),
            check_id(request.version, "version"),
            _day(request.acknowledged_on, "acknowledged_on"),
        )
        return accounts_pb2.AcknowledgeRiskDisclosureResponse(
            result=wire.command_result(await self._handle(command, request))
        )

    async def SetProfessionalInvestorStatus(
        self, request: accounts_pb2.SetProfessionalInvestorStatusRequest, context: Context
    ) -> accounts_pb2.SetProfessionalInvestorStatusResponse:
        require_role(*OPERATORS)
        command = domain.SetProfessionalInvestorStatus(
            client_id(request.client_id),
            request.professional,
            wire.text(request.evidence, "evidence", MAX_REFERENCE),
            _optional_day(request.expires_on, "expires_on"),
        )
        return accounts_pb2.SetProfessionalInvestorStatusResponse(
            result=wire.command_result(await self._handle(command, request))
        )

    async def SetRelatedGroup(
        self, request: accounts_pb2.SetRelatedGroupRequest, context: Context
    ) -> accounts_pb2.SetRelatedGroupResponse:
        require_role(*OPERATORS)
        command = domain.SetRelatedGroup(
            client_id(request.client_id), _optional_id(request.group_id, "group_id")
        )
        return accounts_pb2.SetRelatedGroupResponse(
            result=wire.command_result(await self._handle(command, request))
        )

    async def LinkSecuritiesAccount(
        self, request: accounts_pb2.LinkSecuritiesAccountRequest, context: Context
    ) -> accounts_pb2.LinkSecuritiesAccountResponse:
        require_role(*OPERATORS)
        command = domain.LinkSecuritiesAccount(
            client_id(request.client_id),
            check_id(request.securities_margin_account_id, "securities_margin_account_id"),
        )
        return accounts_pb2.LinkSecuritiesAccountResponse(
            result=wire.command_result(await self._handle(command, request))
        )

    async def UnlinkSecuritiesAccount(
        self, request: accounts_pb2.UnlinkSecuritiesAccountRequest, context: Context
    ) -> accounts_pb2.UnlinkSecuritiesAccountResponse:
        require_role(*OPERATORS)
        command = domain.UnlinkSecuritiesAccount(client_id(request.client_id))
        return accounts_pb2.UnlinkSecuritiesAccountResponse(
            result=wire.command_result(await self._handle(command, request))
        )

    # ------------------------------------------------------------------------- queries
    async def GetEligibility(
        self, request: accounts_pb2.GetEligibilityRequest, context: Context
    ) -> accounts_pb2.GetEligibilityResponse:
        """Replays the stream up to ``as_of`` and judges the facts at that instant (the
        policy's minimum grade is the one in force now)."""
        require_role(*READERS)
        client = client_id(request.client_id)
        policy = await self._handlers.context()
        as_of = wire.instant(request.as_of, "as_of") if request.HasField("as_of") else policy.now
        recorded = await self._store.read_stream(account_stream(client), recorded_until=as_of)
        state = MarginAccount.initial(client)
        for event in recorded:
            state = evolve_recorded(state, event)
        state = _existing(state)
        refusals = who_may_borrow(state, policy.minimum_grade, as_of)
        return accounts_pb2.GetEligibilityResponse(
            may_borrow=not refusals,
            borrowing_refusals=list(refusals),
            professional_investor=is_professional_investor(state, as_of),
        )

    async def GetAccount(
        self, request: accounts_pb2.GetAccountRequest, context: Context
    ) -> accounts_pb2.GetAccountResponse:
        require_role(*READERS)
        client = client_id(request.client_id)
        if request.min_position < 0:
            raise InvalidArgument.for_field("min_position", "must not be negative")
        # The account is read from its own stream, which holds every committed write: any
        # min_position the caller got from a command on this account is already included.
        loaded = await self._handlers.load(client)
        state = _existing(loaded.state)
        (head,) = await self._store.read_stream(
            account_stream(client), after_version=loaded.version - 1
        )
        now = await self._handlers.context()
        return accounts_pb2.GetAccountResponse(
            account=self._account(state, loaded.version, head.position, now.minimum_grade, now.now)
        )

    async def GetBalances(
        self, request: accounts_pb2.GetBalancesRequest, context: Context
    ) -> accounts_pb2.GetBalancesResponse:
        require_role(*READERS)
        client = client_id(request.client_id)
        which = request.WhichOneof("as_of")
        if which == "position" and request.position < 0:
            raise InvalidArgument.for_field("position", "must not be negative")
        events = await self._store.read_stream(
            account_stream(client),
            up_to_position=request.position if which == "position" else None,
            recorded_until=request.at.ToDatetime(tzinfo=UTC) if which == "at" else None,
        )
        if not events and not (await self._handlers.load(client)).state.exists:
            raise AccountNotFound(f"client {client} has no margin account")
        totals: dict[tuple[str, str], int] = defaultdict(int)
        for recorded in events:
            for posting in ev.journal_of(domain_event(recorded)) or ():
                owner = client_of(posting.ledger_account)
                if owner is not None and owner[0] == client:
                    totals[(posting.ledger_account, posting.asset)] += posting.amount
        return accounts_pb2.GetBalancesResponse(
            balances=[
                accounts_pb2.LedgerBalance(
                    ledger_account=account,
                    balance=wire.amount(code, minor),
                )
                for (account, code), minor in sorted(totals.items())
                if minor
            ],
            version=events[-1].version if events else 0,
        )

    async def GetStatement(
        self, request: accounts_pb2.GetStatementRequest, context: Context
    ) -> accounts_pb2.GetStatementResponse:
        require_role(*READERS)
        client = client_id(request.client_id)
        size = wire.page_size(request.page.page_size)
        after = _page_token(request.page.page_token)
        start = request.from_time.ToDatetime(tzinfo=UTC) if request.HasField("from_time") else None
        end = request.to_time.ToDatetime(tzinfo=UTC) if request.HasField("to_time") else None
        entries: list[accounts_pb2.StatementEntry] = []
        last_version = after
        while len(entries) < size:
            batch = await self._store.read_stream(
                account_stream(client), after_version=last_version, recorded_until=end, limit=size
            )
            if not batch:
                break
            for recorded in batch:
                last_version = recorded.version
                if (start is None or recorded.recorded_at >= start) and (
                    end is None or recorded.recorded_at < end
                ):
                    entries.append(_entry(recorded))
                    if len(entries) == size:
                        break
        more = len(entries) == size
        return accounts_pb2.GetStatementResponse(
            entries=entries,
            page=common_pb2.PageInfo(next_page_token=str(last_version) if more else ""),
        )

    async def Subscribe(
        self, request: accounts_pb2.AccountsServiceSubscribeRequest, context: Context
    ) -> AsyncIterator[accounts_pb2.AccountsServiceSubscribeResponse]:
        require_role(*wire.WHOLE_FEED_READERS)  # deprecated: FeedService.Subscribe
        async for reply in wire.subscription(
            self._store, request, accounts_pb2.AccountsServiceSubscribeResponse
        ):
            yield reply

    # ------------------------------------------------------------------------- reconciliation
    async def ReconcileStatement(
        self, request: accounts_pb2.ReconcileStatementRequest, context: Context
    ) -> accounts_pb2.ReconcileStatementResponse:
        return await self._reconciliation.reconcile(request)

    async def GetReconciliationRun(
        self, request: accounts_pb2.GetReconciliationRunRequest, context: Context
    ) -> accounts_pb2.GetReconciliationRunResponse:
        return await self._reconciliation.get(request)

    # ------------------------------------------------------------------------- helpers
    async def _handle(
        self,
        command: domain.Command,
        request: Any,
        respond: Callable[[MarginAccount], Mapping[str, Any] | None] = lambda _: None,
    ) -> Outcome:
        request_id, payload = wire.command_request(request)
        return await self._handlers.handle(
            command,
            request_id=request_id,
            request=payload,
            metadata=current().event_metadata(),
            respond=respond,
            actor=current().principal.name,
        )

    def _account(
        self,
        state: MarginAccount,
        version: int,
        position: int,
        grade: CreditGrade,
        now: datetime,
    ) -> accounts_pb2.Account:
        refusals = who_may_borrow(state, grade, now)
        return accounts_pb2.Account(
            client_id=state.client_id,
            status=STATUS[state.status],
            risk_state=RISK[state.risk],
            suspended=state.suspended,
            may_borrow=not refusals,
            borrowing_refusals=list(refusals),
            credit_grade=state.credit_grade.value if state.credit_grade else "",
            credit_limit=wire.money(state.credit_limit) if state.credit_limit else None,
            cash=_amounts(state.cash),
            collateral=_amounts(state.collateral),
            loan_principal=_owed(state.principal),
            accrued_interest=_owed(state.accrued_interest),
            version=version,
            position=position,
        )


def _eligibility(
    state: MarginAccount, grade: CreditGrade, now: datetime | None = None
) -> Mapping[str, Any]:
    """Who may borrow, under the policy's minimum grade in force now; the credit facts that
    await a checker; whether advances are suspended."""
    refusals = who_may_borrow(state, grade, now)
    return {
        "may_borrow": not refusals,
        "borrowing_refusals": list(refusals),
        "fact_proposal_ids": [p.proposal_id for p in state.pending_fact_proposals],
        "advances_suspended": state.advances_suspended,
    }


def _credit_fact(request: accounts_pb2.ProposeClientFactRequest) -> domain.CreditFact:
    """The one fact a proposal carries (its oneof), checked field by field."""
    match request.WhichOneof("fact"):
        case "credit_assessment":
            fact = request.credit_assessment
            return ev.ProposedCreditAssessment(
                check_id(fact.assessment_id, "credit_assessment.assessment_id"),
                credit_grade(fact.grade, "credit_assessment.grade"),
                _day(fact.assessed_on, "credit_assessment.assessed_on"),
                _optional_day(fact.expires_on, "credit_assessment.expires_on"),
            )
        case "credit_limit":
            return wire.money_field(
                request.credit_limit.limit, "credit_limit.limit", allow_zero=True
            )
        case "professional_investor_status":
            status = request.professional_investor_status
            return ev.ProposedProfessionalInvestorStatus(
                status.professional,
                wire.text(status.evidence, "professional_investor_status.evidence", MAX_REFERENCE),
                _optional_day(status.expires_on, "professional_investor_status.expires_on"),
            )
    raise InvalidArgument.for_field(
        "fact", "propose one of credit_assessment, credit_limit, professional_investor_status"
    )


def _existing(state: MarginAccount) -> MarginAccount:
    if not state.exists:
        raise AccountNotFound(f"client {state.client_id} has no margin account")
    return state


def _day(value: str, field: str) -> date:
    """A YYYY-MM-DD day field."""
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise InvalidArgument.for_field(field, "must be a day as YYYY-MM-DD")


def _optional_day(value: str, field: str) -> date | None:
    return _day(value, field) if value else None


def _optional_id(value: str, field: str) -> str | None:
    return check_id(value, field) if value else None


def _page_token(token: str) -> int:
    if not token:
        return 0
    if not token.isdigit() or len(token) > 12:
        raise InvalidArgument.for_field("page.page_token", "is not a token this service issued")
    return int(token)


def _owed(balances: Balances) -> common_pb2.Amount:
    """A debt figure in its currency (the reporting currency while nothing is owed)."""
    owed = [(code, minor) for code, minor in sorted(balances) if minor]
    code, minor = owed[0] if owed else (domain.REPORTING_CURRENCY, 0)
    return wire.amount(code, minor)


def _amounts(balances: Balances) -> list[common_pb2.Amount]:
    return [wire.amount(code, minor) for code, minor in sorted(balances) if minor]


def _entry(recorded: Any) -> accounts_pb2.StatementEntry:
    journal = ev.journal_of(domain_event(recorded))
    entry = accounts_pb2.StatementEntry(
        position=recorded.position,
        version=recorded.version,
        type=recorded.type,
        data_json=canonical_json(recorded.stored_data),
        postings=[
            accounts_pb2.Posting(
                ledger_account=p.ledger_account,
                amount=common_pb2.Amount(
                    asset=p.asset, value=format_minor(asset(p.asset), p.amount)
                ),
            )
            for p in journal or ()
        ],
    )
    entry.recorded_at.FromDatetime(recorded.recorded_at)
    return entry


def register(
    server: grpc.aio.Server, store: EventStore, handlers: AccountHandlers
) -> tuple[str, ...]:
    # Generated servicer helpers are untyped (grpcio-tools emits no stubs for them).
    accounts_pb2_grpc.add_AccountsServiceServicer_to_server(  # type: ignore[no-untyped-call]
        AccountsService(store, handlers), server
    )
    return (accounts_pb2.DESCRIPTOR.services_by_name["AccountsService"].full_name,)
