"""Who may call what: the one role x RPC table, enforced for every call by the interceptor.

Each RPC of every service names the roles that may call it; a caller holding none of them is
refused PERMISSION_DENIED before the servicer runs. An RPC without an entry is refused to
everyone (secure by default), and tests/e2e/test_authorization_matrix.py walks every RPC of
every generated service descriptor against this table, so a new RPC must be given its roles
here before it can ship (an entry whose RPC is gone is harmless: nothing matches it). The
servicers still check the same roles (``require_role``) as a second line; the matrix test fails
if the two disagree.
"""

from __future__ import annotations

from collections.abc import Mapping

from harbour.application.caller import Principal
from harbour.feed.scope import FULL_READERS
from harbour.ledger.errors import PermissionDenied

PACKAGE = "harbour.api.v1"

# The roles a principal may hold: a token's ``roles`` claim, a client certificate's OU values.
TRADING_PLATFORM = "trading-platform"
RISK = "risk"
PRICE_FEED = "price-feed"
POLICY_ADMIN = "policy-admin"
AUDITOR = "auditor"
OPERATOR = "operator"
ROLES = frozenset({TRADING_PLATFORM, RISK, PRICE_FEED, POLICY_ADMIN, AUDITOR, OPERATOR})

# The groups the servicers name, so each row below reads as the business rule it is.
OPERATORS = frozenset({OPERATOR})
MOVERS = frozenset({TRADING_PLATFORM, OPERATOR})  # cash and collateral in and out, loans
CREDIT = frozenset({OPERATOR, RISK})  # credit facts (maker and checker), facilities
CONTROLLERS = frozenset({OPERATOR, RISK})  # run risk and interest, steer liquidations
READERS = frozenset({TRADING_PLATFORM, OPERATOR, RISK, AUDITOR})
FEEDS = frozenset({PRICE_FEED})
POLICY_ADMINS = frozenset({POLICY_ADMIN})
POLICY_READERS = READERS | POLICY_ADMINS  # the collateral service's readers
AUDIT_READERS = frozenset({AUDITOR, OPERATOR})
# The roles the FeedService leaves unscoped (harbour.feed.scope): the only callers of the
# deprecated per-service Subscribe RPCs, which stream every client's events unfiltered. A
# trading platform follows its clients through FeedService.Subscribe, which scopes it.
WHOLE_FEED_READERS = frozenset(FULL_READERS)
FEED_SUBSCRIBE = f"/{PACKAGE}.FeedService/Subscribe"


def _service(name: str, rows: Mapping[str, frozenset[str]]) -> dict[str, frozenset[str]]:
    return {f"/{PACKAGE}.{name}/{method}": roles for method, roles in rows.items()}


RPC_ROLES: dict[str, frozenset[str]] = {
    **_service(
        "AccountsService",
        {
            "OnboardClient": OPERATORS,
            "DepositCash": MOVERS,
            "WithdrawCash": MOVERS,
            "DepositCollateral": MOVERS,
            "WithdrawCollateral": MOVERS,
            "SuspendAccount": OPERATORS,
            "ResumeAccount": OPERATORS,
            "CloseAccount": OPERATORS,
            "ProposeCorrection": OPERATORS,
            "ApproveCorrection": OPERATORS,
            "RejectCorrection": OPERATORS,
            "RecordCreditAssessment": CREDIT,  # deprecated: refused, ProposeClientFact
            "SetCreditLimit": CREDIT,  # deprecated: refused, ProposeClientFact
            "SignMarginAgreement": OPERATORS,
            "AcknowledgeRiskDisclosure": OPERATORS,
            "SetProfessionalInvestorStatus": OPERATORS,  # deprecated: refused, ProposeClientFact
            # Maker and checker: two different principals (same_maker_and_checker otherwise).
            "ProposeClientFact": CREDIT,
            "ApproveClientFact": CREDIT,
            "RejectClientFact": CREDIT,
            "SetRelatedGroup": OPERATORS,
            "LinkSecuritiesAccount": OPERATORS,
            "UnlinkSecuritiesAccount": OPERATORS,
            "GetEligibility": READERS,
            "GetAccount": READERS,
            "GetBalances": READERS,
            "GetStatement": READERS,
            "Subscribe": WHOLE_FEED_READERS,  # deprecated: FeedService.Subscribe
            "ReconcileStatement": OPERATORS,
            "GetReconciliationRun": READERS,
        },
    ),
    **_service(
        "AuditService",
        {
            "ReadStream": AUDIT_READERS,
            "VerifyStream": AUDIT_READERS,
            "VerifyAll": AUDIT_READERS,
            "Subscribe": AUDIT_READERS,  # deprecated: FeedService.Subscribe
            "CreateCheckpoint": AUDIT_READERS,
            "VerifyAgainstCheckpoint": AUDIT_READERS,
            "ReplayState": AUDIT_READERS,
            "RederiveDecisions": AUDIT_READERS,
        },
    ),
    **_service(
        "CollateralService",
        {
            "RecordPrice": FEEDS,
            "StreamPrices": FEEDS,
            "GetPrice": POLICY_READERS | FEEDS,
            "ProposePolicyChange": POLICY_ADMINS,
            "ApprovePolicyChange": POLICY_ADMINS,
            "RejectPolicyChange": POLICY_ADMINS,
            "GetPolicy": POLICY_READERS,
            "ListPolicyVersions": POLICY_READERS,
            "ValueAccount": POLICY_READERS,
            "ValueAccounts": POLICY_READERS,
            "Subscribe": WHOLE_FEED_READERS,  # deprecated: FeedService.Subscribe
            "RecordMarketClosure": frozenset({OPERATOR, RISK}),
            "GetMarketCalendar": POLICY_READERS | FEEDS,
            "RunStressTest": frozenset({RISK}),
            "GetStressTestRun": frozenset({RISK, OPERATOR, AUDITOR}),
        },
    ),
    **_service(
        "LendingService",
        {
            "ApproveFacility": CREDIT,
            "DrawLoan": MOVERS,
            "RepayLoan": MOVERS,
            "AccrueInterest": CONTROLLERS,
            "CheckRisk": CONTROLLERS,
            "GetLoan": READERS,
            "ListLoans": READERS,
            "ListMarginCalls": READERS,
            "GetBrokerExposure": READERS,
            "GetLimitReport": READERS,
            "Subscribe": WHOLE_FEED_READERS,  # deprecated: FeedService.Subscribe
        },
    ),
    **_service(
        "LiquidationService",
        {
            "GetLiquidation": READERS,
            "ListLiquidations": READERS,
            "StartLiquidation": OPERATORS,
            "ResumeLiquidation": CONTROLLERS,
            "ListDeficits": READERS,
            "ProposeDeficitSettlement": CONTROLLERS,
            "ApproveDeficitSettlement": CONTROLLERS,
            "RejectDeficitSettlement": CONTROLLERS,
            "SubscribeLiquidationEvents": READERS,
        },
    ),
    # Every role that reads events; what each sees is scoped by harbour.feed.scope.
    **_service("FeedService", {"Subscribe": READERS | FEEDS}),
}

# Deprecated RPCs and the one that replaces each: a refusal names it.
REPLACED_BY: dict[str, str] = {
    f"/{PACKAGE}.{service}/Subscribe": FEED_SUBSCRIBE
    for service in ("AccountsService", "AuditService", "CollateralService", "LendingService")
}


def roles_for(method: str) -> frozenset[str]:
    """The roles that may call ``method`` (``/package.Service/Method``); none if it has no
    entry."""
    return RPC_ROLES.get(method, frozenset())


def authorize(principal: Principal, method: str) -> None:
    """Refuse the call (PERMISSION_DENIED) unless ``principal`` holds a role ``method`` allows."""
    allowed = roles_for(method)
    if not allowed:
        raise PermissionDenied(
            f"no role may call {method}: it has no entry in the authorization table "
            "(harbour.runtime.authorization.RPC_ROLES)"
        )
    if principal.roles.isdisjoint(allowed):
        held = ", ".join(sorted(principal.roles)) or "no role"
        message = (
            f"{principal.name} may not call {method}: it needs one of the roles "
            f"{', '.join(sorted(allowed))} (it holds {held})"
        )
        replacement = REPLACED_BY.get(method)
        if replacement is not None:
            message += (
                f"; {method} is deprecated: use {replacement}, which streams the events of "
                "the clients a trading platform names (docs/feed.md)"
            )
        raise PermissionDenied(message)
