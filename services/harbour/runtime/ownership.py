"""Which service may append which event types — enforced by the database.

Each service process logs in as its own PostgreSQL role (``harbour_<service>``), which
inherits ``harbour_service``'s privileges (only INSERT/SELECT on the events) but may not
``SET ROLE`` to it or to any other role (migration 0009). A trigger refuses an event whose
type the login role (or the current one) does not own, so a service writing another's facts
is stopped at the last line, whatever the code does. The same map is written into the
database by migration 0005; a test holds the two equal, so a new event type needs a migration
that grants it.
"""

from __future__ import annotations

import sqlalchemy as sa

GENERIC_ROLE = "harbour_service"  # the projector, the CLI's tools: no appends in production

EVENT_OWNERS: dict[str, frozenset[str]] = {
    "accounts": frozenset(
        {
            "ClientOnboarded",
            "SecuritiesMarginAccountLinked",
            "CreditAssessed",
            "CreditLimitSet",
            "MarginAgreementSigned",
            "RiskDisclosureAcknowledged",
            "ProfessionalInvestorStatusSet",
            "AccountSuspended",
            "AccountResumed",
            "AccountClosed",
            "CashDeposited",
            "CashWithdrawn",
            "CollateralDeposited",
            "CollateralWithdrawn",
            "CorrectionProposed",  # migration 0011
            "MovementReversed",  # migration 0011
            "CorrectionRejected",  # migration 0011
            "SecuritiesMarginAccountUnlinked",  # migration 0012
            "RelatedGroupChanged",  # migration 0012
            "ReconciliationRun",  # migration 0014
            "ClientFactProposed",  # migration 0019
            "ClientFactApproved",  # migration 0019
            "ClientFactRejected",  # migration 0019
            "AdvancesSuspended",  # migration 0019: an approved assessment's credit hold
            "AdvancesResumed",  # migration 0019
        }
    ),
    "audit": frozenset(),  # reads only
    "feed": frozenset(),  # reads only (migration 0015)
    "collateral": frozenset(
        {
            "PriceObserved",
            "PriceRejected",
            "PolicyChangeProposed",
            "PolicyChangeApproved",
            "PolicyChangeRejected",
            "StressTestRun",
            "PriceFeedStale",  # migration 0008
            "MarketClosureRecorded",  # migration 0008
            "StressTestAccountsListed",  # migration 0018
        }
    ),
    "lending": frozenset(
        {
            "MarginFacilityApproved",
            "LoanAdvanced",
            "LoanRepaid",
            "InterestAccrued",
            "InterestCapitalised",
            "FeeCharged",
            "EarlyWarningIssued",
            "EarlyWarningCleared",
            "MarginCallIssued",
            "MarginCallMet",
            "MarginCallExpired",
            "AdvancesSuspended",
            "AdvancesResumed",
            "ConcentrationLimitBreached",
            "ConcentrationLimitCleared",
            "LiquidationStarted",
            "BrokerExposureChanged",
            "BrokerLimitBreached",  # migration 0013
            "BrokerLimitCleared",  # migration 0013
        }
    ),
    "liquidation": frozenset(
        {
            "LiquidationStarted",
            "LiquidationOrderPlaced",
            "LiquidationOrderSettled",
            "LiquidationProceedsApplied",
            "LiquidationPaused",
            "LiquidationResumed",
            "DeficitSettlementProposed",
            "DeficitSettlementRejected",
            "AdvancesResumed",
            "LiquidationFillExecuted",
            "LiquidationCompleted",
            "ShortfallRecognised",
            "DebtRecovered",
            "DebtWrittenOff",
            "FeeCharged",
            "LoanRepaid",
            "BrokerExposureChanged",
        }
    ),
}


def service_role(service: str) -> str:
    return f"harbour_{service}"


metadata = sa.MetaData()
service_roles = sa.Table("service_roles", metadata, sa.Column("role", sa.Text, primary_key=True))
event_type_owners = sa.Table(
    "event_type_owners",
    metadata,
    sa.Column("role", sa.Text, sa.ForeignKey("service_roles.role"), primary_key=True),
    sa.Column("event_type", sa.Text, primary_key=True),
)
