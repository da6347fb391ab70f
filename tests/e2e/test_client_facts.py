"""Client facts recorded after onboarding, over gRPC: accounts and lending servers on loopback,
one real PostgreSQL, a manual clock shared by all (the Stack of the lending tests)."""

from __future__ import annotations

from datetime import timedelta

import grpc
import pytest

from harbour.api.v1 import accounts_pb2 as pb
from harbour.api.v1.common_pb2 import Amount
from tests.e2e import test_lending_service as lending
from tests.e2e.callers import OPERATOR, PLATFORM, RISK, at, rid
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


async def test_a_client_onboarded_unsigned_becomes_active_on_signing(stack: Stack) -> None:
    await stack.accounts.OnboardClient(
        pb.OnboardClientRequest(
            request_id=rid(),
            client_id="C1",
            securities_margin_account_id="SMA-1",
            credit_grade="A",
            credit_limit=Amount(asset="HKD", value="100000.00"),
        ),
        metadata=OPERATOR,
    )
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


async def test_an_expired_credit_assessment_stops_advances(stack: Stack) -> None:
    await stack.borrower("C1")
    today = stack.clock.now.date()
    await stack.accounts.RecordCreditAssessment(
        pb.RecordCreditAssessmentRequest(
            request_id=rid(),
            client_id="C1",
            assessment_id="CA-2",
            grade="AA",
            assessed_on=today.isoformat(),
            expires_on=(today + timedelta(days=2)).isoformat(),
        ),
        metadata=RISK,
    )
    await stack.draw("C1", "1000.00")
    before_expiry = stack.clock.now
    stack.clock.now += timedelta(days=3)
    events = await stack.event_count()
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stack.draw("C1", "1000.00")
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert details(refused.value)[0] == "not_eligible"
    assert "credit_assessment_expired" in (refused.value.details() or "")
    assert await stack.event_count() == events
    now = await eligibility(stack, "C1")
    assert not now.may_borrow and list(now.borrowing_refusals) == ["credit_assessment_expired"]
    assert (await eligibility(stack, "C1", before_expiry)).may_borrow


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
    await stack.accounts.SetProfessionalInvestorStatus(
        pb.SetProfessionalInvestorStatusRequest(
            request_id=rid(),
            client_id="C1",
            professional=True,
            evidence="PI-CERT-7",
            expires_on=expiry.isoformat(),
        ),
        metadata=OPERATOR,
    )
    assert (await eligibility(stack, "C1")).professional_investor
    stack.clock.now += timedelta(days=31)
    assert not (await eligibility(stack, "C1")).professional_investor


@pytest.mark.parametrize(
    ("method", "request_", "field"),
    [
        (
            "RecordCreditAssessment",
            pb.RecordCreditAssessmentRequest(
                client_id="C1", assessment_id="CA", grade="Q", assessed_on="2026-01-01"
            ),
            "grade",
        ),
        (
            "RecordCreditAssessment",
            pb.RecordCreditAssessmentRequest(
                client_id="C1", assessment_id="CA", grade="A", assessed_on="2026-02-30"
            ),
            "assessed_on",
        ),
        (
            "RecordCreditAssessment",
            pb.RecordCreditAssessmentRequest(
                client_id="C1",
                assessment_id="CA",
                grade="A",
                assessed_on="2026-02-01",
                expires_on="2026-01-01",
            ),
            "expires_on",
        ),
        (
            "SetCreditLimit",
            pb.SetCreditLimitRequest(client_id="C1", limit=Amount(asset="HKD", value="-5")),
            "limit",
        ),
        (
            "SetProfessionalInvestorStatus",
            pb.SetProfessionalInvestorStatusRequest(
                client_id="C1", professional=True, expires_on="2099-01-01"
            ),
            "evidence",
        ),
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


async def test_the_trading_platform_may_not_record_credit(stack: Stack) -> None:
    await stack.borrower("C1")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stack.accounts.SetCreditLimit(
            pb.SetCreditLimitRequest(
                request_id=rid(), client_id="C1", limit=Amount(asset="HKD", value="1.00")
            ),
            metadata=PLATFORM,
        )
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
