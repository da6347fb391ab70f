"""Per-service roles, and the database refusing an event type its role does not own.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25

The owners are written here as they stood at this revision (a migration is a frozen fact);
``harbour.runtime.ownership`` holds the same map and a test keeps the two equal.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SERVICE_ROLE = "harbour_service"
OWNERS: dict[str, tuple[str, ...]] = {
    "harbour_accounts": (
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
    ),
    "harbour_audit": (),
    "harbour_collateral": (
        "PriceObserved",
        "PriceRejected",
        "PolicyChangeProposed",
        "PolicyChangeApproved",
        "PolicyChangeRejected",
        "StressTestRun",
    ),
    "harbour_lending": (
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
    ),
    "harbour_liquidation": (
        "LiquidationFillExecuted",
        "LiquidationCompleted",
        "ShortfallRecognised",
        "DebtRecovered",
        "DebtWrittenOff",
        "FeeCharged",
        "LoanRepaid",
        "BrokerExposureChanged",
    ),
}

CHECK_OWNER = """
CREATE FUNCTION harbour_check_event_owner() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT FROM service_roles WHERE role = current_user)
       AND NOT EXISTS (SELECT FROM event_type_owners
                        WHERE role = current_user AND event_type = NEW.type) THEN
        RAISE EXCEPTION '% may not append % events: another service owns that type',
            current_user, NEW.type USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
"""


def upgrade() -> None:
    op.create_table("service_roles", sa.Column("role", sa.Text, primary_key=True))
    op.create_table(
        "event_type_owners",
        sa.Column("role", sa.Text, sa.ForeignKey("service_roles.role"), primary_key=True),
        sa.Column("event_type", sa.Text, primary_key=True),
    )
    for role, types in OWNERS.items():
        # Roles are cluster-wide (every database of the server shares them): create once.
        op.execute(
            f"""
            DO $$ BEGIN
                IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
                    CREATE ROLE {role} NOLOGIN IN ROLE {SERVICE_ROLE};
                END IF;
            END $$;
            """
        )
        # The migrating user runs the services in a simple deployment; with separate users,
        # grant each service's login user its role instead.
        op.execute(f"GRANT {role} TO current_user")
        op.execute(sa.text("INSERT INTO service_roles (role) VALUES (:r)").bindparams(r=role))
        for event_type in types:
            op.execute(
                sa.text(
                    "INSERT INTO event_type_owners (role, event_type) VALUES (:r, :t)"
                ).bindparams(r=role, t=event_type)
            )
    op.execute(f"GRANT SELECT ON service_roles, event_type_owners TO {SERVICE_ROLE}")
    op.execute(CHECK_OWNER)
    op.execute(
        "CREATE TRIGGER events_owned_types BEFORE INSERT ON events "
        "FOR EACH ROW EXECUTE FUNCTION harbour_check_event_owner()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER events_owned_types ON events")
    op.execute("DROP FUNCTION harbour_check_event_owner")
    op.execute(f"REVOKE ALL ON service_roles, event_type_owners FROM {SERVICE_ROLE}")
    op.drop_table("event_type_owners")
    op.drop_table("service_roles")
