"""Client facts recorded after onboarding, over gRPC: accounts and lending servers on loopback,
one real PostgreSQL, a manual clock shared by all (the Stack of the lending tests). The credit
facts go through a maker and a checker (ProposeClientFact, ApproveClientFact)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import grpc
import pytest

from harbour.api.v1 import accounts_pb2 as pb
from harbour.api.v1.common_pb2 import Amount
from harbour.lending.projections import Loans
from harbour.testing.credit import approve_client_facts
from tests.e2e import test_lending_service as lending
from tests.e2e.callers import OPERATOR, PLATFORM, RISK, at, rid
from tests.e2e.followers import caught_up
from tests.e2e.test_audit_service import details
from tests.e2e.test_lending_service import Stack

stack = lending.stack  # the lending tests' fixture: accounts, collateral and lending servers


async def status(stack: Stack, client: str) -> int:
    response = await stack.accounts.GetAccount(
        pb.GetAccountRequest(client_id=client), metadata=RISK
    )
    return int(response.account.status)


async def eligibility(stack: Stack, client: str, as_of: object = None) -> pb.GetEligibilityResponse:
    request = pb.GetEligibilityRequest(client_id=client)
    if as_of is not None:
        request.as_of.CopyFrom(at(as_of))  # type: ignore[arg-type]
    response: pb.GetEligibilityResponse = await stack.accounts.GetEligibility(
        request, metadata=RISK
    )
    return response


async def propose(
    stack: Stack, fact: pb.ProposeClientFactRequest, proposal: str, metadata: object = RISK
) -> pb.ProposeClientFactResponse:
    fact.request_id, fact.client_id, fact.proposal_id = rid(), "C1", proposal
    response: pb.ProposeClientFactResponse = await stack.accounts.ProposeClientFact(
        fact, metadata=metadata
    )
    return response


async def approve(
    stack: Stack, proposal: str, metadata: object = OPERATOR
) -> pb.ApproveClientFactResponse:
    request = pb.ApproveClientFactRequest(request_id=rid(), client_id="C1", proposal_id=proposal)
    response: pb.ApproveClientFactResponse = await stack.accounts.ApproveClientFact(
        request, metadata=metadata
    )
    return response


def assessment(grade: str, assessed_on: str, expires_on: str = "") -> pb.ProposeClientFactRequest:
    fact = pb.CreditAssessmentFact(
        assessment_id=f"CA-{grade}", grade=grade, assessed_on=assessed_on, expires_on=expires_on
    )
    return pb.ProposeClientFactRequest(credit_assessment=fact)


async def refusal(call: object) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await call  # type: ignore[misc]
    return refused.value.code(), details(refused.value)[0]


async def test_credit_facts_take_effect_only_when_a_second_person_approves(stack: Stack) -> None:
    await stack.borrower("C1")
    await stack.draw("C1", "1000.00")
    today = stack.clock.now.date().isoformat()
    # The maker (the risk desk) proposes a downgrade below the minimum grade: nothing changes.
    proposed = await propose(stack, assessment("BB", today), "CR-1")
    assert proposed.result.stream_id == "account-C1"
    assert (await eligibility(stack, "C1")).may_borrow
    # Direct recording is refused, naming the maker-checker RPCs.
    code, reason = await refusal(
        stack.accounts.RecordCreditAssessment(
            pb.RecordCreditAssessmentRequest(
                request_id=rid(), client_id="C1", assessment_id="CA", grade="A", assessed_on=today
            ),
            metadata=RISK,
        )
    )
    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "maker_checker_required")
    # The maker may not approve its own proposal; a trading platform may not decide at all.
    assert await refusal(approve(stack, "CR-1", RISK)) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "same_maker_and_checker",
    )
    assert (await refusal(approve(stack, "CR-1", PLATFORM)))[0] == grpc.StatusCode.PERMISSION_DENIED
    assert await refusal(approve(stack, "CR-9")) == (
        grpc.StatusCode.NOT_FOUND,
        "fact_proposal_not_found",
    )
    # The checker (an operator) approves: the downgrade is in effect and suspends advances.
    approved = await approve(stack, "CR-1")
    assert not approved.may_borrow and approved.advances_suspended
    assert list(approved.borrowing_refusals) == ["credit_grade_below_minimum"]
    assert await refusal(approve(stack, "CR-1")) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "proposal_not_pending",
    )
    tail = (await stack.store.read_stream("account-C1"))[-3:]
    assert [e.type for e in tail] == ["ClientFactApproved", "CreditAssessed", "AdvancesSuspended"]
    assert tail[0].metadata["actor"] == "ops"
    assert tail[2].data["reason"] == "credit_grade_below_minimum"
    code, reason = await refusal(stack.draw("C1", "1.00"))
    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "not_eligible")
    # A rejected upgrade never takes effect; an approved one resumes advances.
    await propose(stack, assessment("AA", today), "CR-2")
    await stack.accounts.RejectClientFact(
        pb.RejectClientFactRequest(
            request_id=rid(), client_id="C1", proposal_id="CR-2", reason="evidence missing"
        ),
        metadata=OPERATOR,
    )
    assert not (await eligibility(stack, "C1")).may_borrow
    await propose(stack, assessment("AA", today), "CR-3")
    resumed = await approve(stack, "CR-3")
    assert resumed.may_borrow and not resumed.advances_suspended
    history = [e.type for e in await stack.store.read_stream("account-C1")]
    assert history[-3:] == ["ClientFactApproved", "CreditAssessed", "AdvancesResumed"]
    assert "ClientFactRejected" in history
    await stack.draw("C1", "1000.00")


async def test_a_client_onboarded_unsigned_becomes_active_on_signing(stack: Stack) -> None:
    opened = await stack.accounts.OnboardClient(
        pb.OnboardClientRequest(
            request_id=rid(),
            client_id="C1",
            securities_margin_account_id="SMA-1",
            credit_grade="A",
            credit_limit=Amount(asset="HKD", value="100000.00"),
        ),
        metadata=OPERATOR,
    )
    await approve_client_facts(stack.accounts, "C1", opened.fact_proposal_ids)
    assert await status(stack, "C1") == pb.ACCOUNT_STATUS_APPLIED
    sign = pb.SignMarginAgreementRequest(
        request_id=rid(), client_id="C1", version="MA-2026", signed_on="2026-11-20"
    )
    first = await stack.accounts.SignMarginAgreement(sign, metadata=OPERATOR)
    events = await stack.event_count()
    again = await stack.accounts.SignMarginAgreement(sign, metadata=OPERATOR)
    assert again.result.stream_version == first.result.stream_version
    assert await stack.event_count() == events  # idempotent by request_id
    assert await status(stack, "C1") == pb.ACCOUNT_STATUS_ACTIVE
    assert list((await eligibility(stack, "C1")).borrowing_refusals) == ["risk_disclosure_missing"]
    await stack.accounts.AcknowledgeRiskDisclosure(
        pb.AcknowledgeRiskDisclosureRequest(
            request_id=rid(), client_id="C1", version="VARD-1", acknowledged_on="2026-11-21"
        ),
        metadata=OPERATOR,
    )
    assert (await eligibility(stack, "C1")).may_borrow


async def test_an_expired_credit_assessment_suspends_advances_with_the_reason(
    stack: Stack,
) -> None:
    await stack.borrower("C1")
    today = stack.clock.now.date()
    expiry = (today + timedelta(days=2)).isoformat()
    await propose(stack, assessment("AA", today.isoformat(), expiry), "CR-1")
    await approve(stack, "CR-1")
    await stack.draw("C1", "1000.00")
    await caught_up(stack.store, [Loans()], clock=stack.clock)  # the monitor reads the loans
    before_expiry = stack.clock.now
    stack.clock.now += timedelta(days=3)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stack.draw("C1", "1000.00")
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert details(refused.value)[0] == "not_eligible"
    assert "credit_assessment_expired" in (refused.value.details() or "")
    now = await eligibility(stack, "C1")
    assert not now.may_borrow and list(now.borrowing_refusals) == ["credit_assessment_expired"]
    assert (await eligibility(stack, "C1", before_expiry)).may_borrow
    # Time moved without an event: the lending service's risk monitor records the suspension.
    for _ in range(200):
        last = (await stack.store.read_stream("account-C1"))[-1]
        if last.type == "AdvancesSuspended":
            break
        await asyncio.sleep(0.05)
    assert last.type == "AdvancesSuspended", last.type
    assert last.data["reason"] == "credit_assessment_expired"
    assert last.metadata["actor"] == "risk-monitor"
    assert (await stack.loan("C1")).advances_suspended


async def test_unlinking_the_securities_account_makes_the_client_ineligible(stack: Stack) -> None:
    await stack.borrower("C1")
    await stack.accounts.UnlinkSecuritiesAccount(
        pb.UnlinkSecuritiesAccountRequest(request_id=rid(), client_id="C1"), metadata=OPERATOR
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stack.draw("C1", "1000.00")
    assert "no_securities_margin_account" in (refused.value.details() or "")


async def test_professional_investor_status_expires(stack: Stack) -> None:
    await stack.borrower("C1")
    expiry = stack.clock.now.date() + timedelta(days=30)
    status = pb.ProfessionalInvestorStatusFact(
        professional=True, evidence="PI-CERT-7", expires_on=expiry.isoformat()
    )
    await propose(stack, pb.ProposeClientFactRequest(professional_investor_status=status), "PI-1")
    assert not (await eligibility(stack, "C1")).professional_investor
    await approve(stack, "PI-1")
    assert (await eligibility(stack, "C1")).professional_investor
    stack.clock.now += timedelta(days=31)
    assert not (await eligibility(stack, "C1")).professional_investor


def _fact(request: pb.ProposeClientFactRequest) -> pb.ProposeClientFactRequest:
    request.client_id, request.proposal_id = "C1", "P-BAD"
    return request


@pytest.mark.parametrize(
    ("method", "request_", "field"),
    [
        ("ProposeClientFact", _fact(assessment("Q", "2026-01-01")), "grade"),
        ("ProposeClientFact", _fact(assessment("A", "2026-02-30")), "assessed_on"),
        ("ProposeClientFact", _fact(assessment("A", "2026-02-01", "2026-01-01")), "expires_on"),
        (
            "ProposeClientFact",
            _fact(
                pb.ProposeClientFactRequest(
                    credit_limit=pb.CreditLimitFact(limit=Amount(asset="HKD", value="-5"))
                )
            ),
            "limit",
        ),
        (
            "ProposeClientFact",
            _fact(
                pb.ProposeClientFactRequest(
                    professional_investor_status=pb.ProfessionalInvestorStatusFact(
                        professional=True, expires_on="2099-01-01"
                    )
                )
            ),
            "evidence",
        ),
        ("ProposeClientFact", _fact(pb.ProposeClientFactRequest()), "fact"),
        (
            "SetRelatedGroup",
            pb.SetRelatedGroupRequest(client_id="C1", group_id="bad id"),
            "group_id",
        ),
        (
            "SignMarginAgreement",
            pb.SignMarginAgreementRequest(client_id="C1", version="MA", signed_on="yesterday"),
            "signed_on",
        ),
    ],
)
async def test_bad_input_is_invalid_and_appends_nothing(
    stack: Stack, method: str, request_: object, field: str
) -> None:
    await stack.borrower("C1")
    before = await stack.event_count()
    request_.request_id = rid()  # type: ignore[attr-defined]
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await getattr(stack.accounts, method)(request_, metadata=OPERATOR)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert any(field in name for name in details(refused.value)[1])
    assert await stack.event_count() == before


async def test_the_trading_platform_may_not_propose_credit(stack: Stack) -> None:
    await stack.borrower("C1")
    limit = pb.CreditLimitFact(limit=Amount(asset="HKD", value="1.00"))
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await propose(stack, pb.ProposeClientFactRequest(credit_limit=limit), "L-1", PLATFORM)
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
