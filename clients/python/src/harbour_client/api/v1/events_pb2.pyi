import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from harbour_client.api.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class FeedEvent(_message.Message):
    __slots__ = ("position", "stream_id", "version", "event_type", "schema_version", "recorded_at", "correlation_id", "causation_id", "request_id", "actor", "service", "checkpoint", "client_onboarded", "securities_margin_account_linked", "securities_margin_account_unlinked", "related_group_changed", "credit_assessed", "credit_limit_set", "margin_agreement_signed", "risk_disclosure_acknowledged", "professional_investor_status_set", "account_suspended", "account_resumed", "account_closed", "cash_deposited", "cash_withdrawn", "collateral_deposited", "collateral_withdrawn", "margin_facility_approved", "loan_advanced", "loan_repaid", "interest_accrued", "interest_capitalised", "fee_charged", "early_warning_issued", "early_warning_cleared", "margin_call_issued", "margin_call_met", "margin_call_expired", "advances_suspended", "advances_resumed", "concentration_limit_breached", "concentration_limit_cleared", "liquidation_started", "liquidation_order_placed", "liquidation_order_settled", "liquidation_fill_executed", "liquidation_proceeds_applied", "liquidation_paused", "liquidation_resumed", "liquidation_completed", "shortfall_recognised", "deficit_settlement_proposed", "deficit_settlement_rejected", "debt_recovered", "debt_written_off", "correction_proposed", "movement_reversed", "correction_rejected", "client_fact_proposed", "client_fact_approved", "client_fact_rejected", "price_observed", "price_rejected", "price_feed_stale", "market_closure_recorded", "broker_exposure_changed", "broker_limit_breached", "broker_limit_cleared", "policy_change_proposed", "policy_change_approved", "policy_change_rejected", "stress_test_run", "reconciliation_run", "stress_test_accounts_listed")
    POSITION_FIELD_NUMBER: _ClassVar[int]
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_VERSION_FIELD_NUMBER: _ClassVar[int]
    RECORDED_AT_FIELD_NUMBER: _ClassVar[int]
    CORRELATION_ID_FIELD_NUMBER: _ClassVar[int]
    CAUSATION_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ONBOARDED_FIELD_NUMBER: _ClassVar[int]
    SECURITIES_MARGIN_ACCOUNT_LINKED_FIELD_NUMBER: _ClassVar[int]
    SECURITIES_MARGIN_ACCOUNT_UNLINKED_FIELD_NUMBER: _ClassVar[int]
    RELATED_GROUP_CHANGED_FIELD_NUMBER: _ClassVar[int]
    CREDIT_ASSESSED_FIELD_NUMBER: _ClassVar[int]
    CREDIT_LIMIT_SET_FIELD_NUMBER: _ClassVar[int]
    MARGIN_AGREEMENT_SIGNED_FIELD_NUMBER: _ClassVar[int]
    RISK_DISCLOSURE_ACKNOWLEDGED_FIELD_NUMBER: _ClassVar[int]
    PROFESSIONAL_INVESTOR_STATUS_SET_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_SUSPENDED_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_RESUMED_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_CLOSED_FIELD_NUMBER: _ClassVar[int]
    CASH_DEPOSITED_FIELD_NUMBER: _ClassVar[int]
    CASH_WITHDRAWN_FIELD_NUMBER: _ClassVar[int]
    COLLATERAL_DEPOSITED_FIELD_NUMBER: _ClassVar[int]
    COLLATERAL_WITHDRAWN_FIELD_NUMBER: _ClassVar[int]
    MARGIN_FACILITY_APPROVED_FIELD_NUMBER: _ClassVar[int]
    LOAN_ADVANCED_FIELD_NUMBER: _ClassVar[int]
    LOAN_REPAID_FIELD_NUMBER: _ClassVar[int]
    INTEREST_ACCRUED_FIELD_NUMBER: _ClassVar[int]
    INTEREST_CAPITALISED_FIELD_NUMBER: _ClassVar[int]
    FEE_CHARGED_FIELD_NUMBER: _ClassVar[int]
    EARLY_WARNING_ISSUED_FIELD_NUMBER: _ClassVar[int]
    EARLY_WARNING_CLEARED_FIELD_NUMBER: _ClassVar[int]
    MARGIN_CALL_ISSUED_FIELD_NUMBER: _ClassVar[int]
    MARGIN_CALL_MET_FIELD_NUMBER: _ClassVar[int]
    MARGIN_CALL_EXPIRED_FIELD_NUMBER: _ClassVar[int]
    ADVANCES_SUSPENDED_FIELD_NUMBER: _ClassVar[int]
    ADVANCES_RESUMED_FIELD_NUMBER: _ClassVar[int]
    CONCENTRATION_LIMIT_BREACHED_FIELD_NUMBER: _ClassVar[int]
    CONCENTRATION_LIMIT_CLEARED_FIELD_NUMBER: _ClassVar[int]
    LIQUIDATION_STARTED_FIELD_NUMBER: _ClassVar[int]
    LIQUIDATION_ORDER_PLACED_FIELD_NUMBER: _ClassVar[int]
    LIQUIDATION_ORDER_SETTLED_FIELD_NUMBER: _ClassVar[int]
    LIQUIDATION_FILL_EXECUTED_FIELD_NUMBER: _ClassVar[int]
    LIQUIDATION_PROCEEDS_APPLIED_FIELD_NUMBER: _ClassVar[int]
    LIQUIDATION_PAUSED_FIELD_NUMBER: _ClassVar[int]
    LIQUIDATION_RESUMED_FIELD_NUMBER: _ClassVar[int]
    LIQUIDATION_COMPLETED_FIELD_NUMBER: _ClassVar[int]
    SHORTFALL_RECOGNISED_FIELD_NUMBER: _ClassVar[int]
    DEFICIT_SETTLEMENT_PROPOSED_FIELD_NUMBER: _ClassVar[int]
    DEFICIT_SETTLEMENT_REJECTED_FIELD_NUMBER: _ClassVar[int]
    DEBT_RECOVERED_FIELD_NUMBER: _ClassVar[int]
    DEBT_WRITTEN_OFF_FIELD_NUMBER: _ClassVar[int]
    CORRECTION_PROPOSED_FIELD_NUMBER: _ClassVar[int]
    MOVEMENT_REVERSED_FIELD_NUMBER: _ClassVar[int]
    CORRECTION_REJECTED_FIELD_NUMBER: _ClassVar[int]
    CLIENT_FACT_PROPOSED_FIELD_NUMBER: _ClassVar[int]
    CLIENT_FACT_APPROVED_FIELD_NUMBER: _ClassVar[int]
    CLIENT_FACT_REJECTED_FIELD_NUMBER: _ClassVar[int]
    PRICE_OBSERVED_FIELD_NUMBER: _ClassVar[int]
    PRICE_REJECTED_FIELD_NUMBER: _ClassVar[int]
    PRICE_FEED_STALE_FIELD_NUMBER: _ClassVar[int]
    MARKET_CLOSURE_RECORDED_FIELD_NUMBER: _ClassVar[int]
    BROKER_EXPOSURE_CHANGED_FIELD_NUMBER: _ClassVar[int]
    BROKER_LIMIT_BREACHED_FIELD_NUMBER: _ClassVar[int]
    BROKER_LIMIT_CLEARED_FIELD_NUMBER: _ClassVar[int]
    POLICY_CHANGE_PROPOSED_FIELD_NUMBER: _ClassVar[int]
    POLICY_CHANGE_APPROVED_FIELD_NUMBER: _ClassVar[int]
    POLICY_CHANGE_REJECTED_FIELD_NUMBER: _ClassVar[int]
    STRESS_TEST_RUN_FIELD_NUMBER: _ClassVar[int]
    RECONCILIATION_RUN_FIELD_NUMBER: _ClassVar[int]
    STRESS_TEST_ACCOUNTS_LISTED_FIELD_NUMBER: _ClassVar[int]
    position: int
    stream_id: str
    version: int
    event_type: str
    schema_version: int
    recorded_at: _timestamp_pb2.Timestamp
    correlation_id: str
    causation_id: str
    request_id: str
    actor: str
    service: str
    checkpoint: _common_pb2.FeedCheckpoint
    client_onboarded: ClientOnboardedEvent
    securities_margin_account_linked: SecuritiesMarginAccountLinkedEvent
    securities_margin_account_unlinked: SecuritiesMarginAccountUnlinkedEvent
    related_group_changed: RelatedGroupChangedEvent
    credit_assessed: CreditAssessedEvent
    credit_limit_set: CreditLimitSetEvent
    margin_agreement_signed: MarginAgreementSignedEvent
    risk_disclosure_acknowledged: RiskDisclosureAcknowledgedEvent
    professional_investor_status_set: ProfessionalInvestorStatusSetEvent
    account_suspended: AccountSuspendedEvent
    account_resumed: AccountResumedEvent
    account_closed: AccountClosedEvent
    cash_deposited: CashDepositedEvent
    cash_withdrawn: CashWithdrawnEvent
    collateral_deposited: CollateralDepositedEvent
    collateral_withdrawn: CollateralWithdrawnEvent
    margin_facility_approved: MarginFacilityApprovedEvent
    loan_advanced: LoanAdvancedEvent
    loan_repaid: LoanRepaidEvent
    interest_accrued: InterestAccruedEvent
    interest_capitalised: InterestCapitalisedEvent
    fee_charged: FeeChargedEvent
    early_warning_issued: EarlyWarningIssuedEvent
    early_warning_cleared: EarlyWarningClearedEvent
    margin_call_issued: MarginCallIssuedEvent
    margin_call_met: MarginCallMetEvent
    margin_call_expired: MarginCallExpiredEvent
    advances_suspended: AdvancesSuspendedEvent
    advances_resumed: AdvancesResumedEvent
    concentration_limit_breached: ConcentrationLimitBreachedEvent
    concentration_limit_cleared: ConcentrationLimitClearedEvent
    liquidation_started: LiquidationStartedEvent
    liquidation_order_placed: LiquidationOrderPlacedEvent
    liquidation_order_settled: LiquidationOrderSettledEvent
    liquidation_fill_executed: LiquidationFillExecutedEvent
    liquidation_proceeds_applied: LiquidationProceedsAppliedEvent
    liquidation_paused: LiquidationPausedEvent
    liquidation_resumed: LiquidationResumedEvent
    liquidation_completed: LiquidationCompletedEvent
    shortfall_recognised: ShortfallRecognisedEvent
    deficit_settlement_proposed: DeficitSettlementProposedEvent
    deficit_settlement_rejected: DeficitSettlementRejectedEvent
    debt_recovered: DebtRecoveredEvent
    debt_written_off: DebtWrittenOffEvent
    correction_proposed: CorrectionProposedEvent
    movement_reversed: MovementReversedEvent
    correction_rejected: CorrectionRejectedEvent
    client_fact_proposed: ClientFactProposedEvent
    client_fact_approved: ClientFactApprovedEvent
    client_fact_rejected: ClientFactRejectedEvent
    price_observed: PriceObservedEvent
    price_rejected: PriceRejectedEvent
    price_feed_stale: PriceFeedStaleEvent
    market_closure_recorded: MarketClosureRecordedEvent
    broker_exposure_changed: BrokerExposureChangedEvent
    broker_limit_breached: BrokerLimitBreachedEvent
    broker_limit_cleared: BrokerLimitClearedEvent
    policy_change_proposed: PolicyChangeProposedEvent
    policy_change_approved: PolicyChangeApprovedEvent
    policy_change_rejected: PolicyChangeRejectedEvent
    stress_test_run: StressTestRunEvent
    reconciliation_run: ReconciliationRunEvent
    stress_test_accounts_listed: StressTestAccountsListedEvent
    def __init__(self, position: _Optional[int] = ..., stream_id: _Optional[str] = ..., version: _Optional[int] = ..., event_type: _Optional[str] = ..., schema_version: _Optional[int] = ..., recorded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., correlation_id: _Optional[str] = ..., causation_id: _Optional[str] = ..., request_id: _Optional[str] = ..., actor: _Optional[str] = ..., service: _Optional[str] = ..., checkpoint: _Optional[_Union[_common_pb2.FeedCheckpoint, _Mapping]] = ..., client_onboarded: _Optional[_Union[ClientOnboardedEvent, _Mapping]] = ..., securities_margin_account_linked: _Optional[_Union[SecuritiesMarginAccountLinkedEvent, _Mapping]] = ..., securities_margin_account_unlinked: _Optional[_Union[SecuritiesMarginAccountUnlinkedEvent, _Mapping]] = ..., related_group_changed: _Optional[_Union[RelatedGroupChangedEvent, _Mapping]] = ..., credit_assessed: _Optional[_Union[CreditAssessedEvent, _Mapping]] = ..., credit_limit_set: _Optional[_Union[CreditLimitSetEvent, _Mapping]] = ..., margin_agreement_signed: _Optional[_Union[MarginAgreementSignedEvent, _Mapping]] = ..., risk_disclosure_acknowledged: _Optional[_Union[RiskDisclosureAcknowledgedEvent, _Mapping]] = ..., professional_investor_status_set: _Optional[_Union[ProfessionalInvestorStatusSetEvent, _Mapping]] = ..., account_suspended: _Optional[_Union[AccountSuspendedEvent, _Mapping]] = ..., account_resumed: _Optional[_Union[AccountResumedEvent, _Mapping]] = ..., account_closed: _Optional[_Union[AccountClosedEvent, _Mapping]] = ..., cash_deposited: _Optional[_Union[CashDepositedEvent, _Mapping]] = ..., cash_withdrawn: _Optional[_Union[CashWithdrawnEvent, _Mapping]] = ..., collateral_deposited: _Optional[_Union[CollateralDepositedEvent, _Mapping]] = ..., collateral_withdrawn: _Optional[_Union[CollateralWithdrawnEvent, _Mapping]] = ..., margin_facility_approved: _Optional[_Union[MarginFacilityApprovedEvent, _Mapping]] = ..., loan_advanced: _Optional[_Union[LoanAdvancedEvent, _Mapping]] = ..., loan_repaid: _Optional[_Union[LoanRepaidEvent, _Mapping]] = ..., interest_accrued: _Optional[_Union[InterestAccruedEvent, _Mapping]] = ..., interest_capitalised: _Optional[_Union[InterestCapitalisedEvent, _Mapping]] = ..., fee_charged: _Optional[_Union[FeeChargedEvent, _Mapping]] = ..., early_warning_issued: _Optional[_Union[EarlyWarningIssuedEvent, _Mapping]] = ..., early_warning_cleared: _Optional[_Union[EarlyWarningClearedEvent, _Mapping]] = ..., margin_call_issued: _Optional[_Union[MarginCallIssuedEvent, _Mapping]] = ..., margin_call_met: _Optional[_Union[MarginCallMetEvent, _Mapping]] = ..., margin_call_expired: _Optional[_Union[MarginCallExpiredEvent, _Mapping]] = ..., advances_suspended: _Optional[_Union[AdvancesSuspendedEvent, _Mapping]] = ..., advances_resumed: _Optional[_Union[AdvancesResumedEvent, _Mapping]] = ..., concentration_limit_breached: _Optional[_Union[ConcentrationLimitBreachedEvent, _Mapping]] = ..., concentration_limit_cleared: _Optional[_Union[ConcentrationLimitClearedEvent, _Mapping]] = ..., liquidation_started: _Optional[_Union[LiquidationStartedEvent, _Mapping]] = ..., liquidation_order_placed: _Optional[_Union[LiquidationOrderPlacedEvent, _Mapping]] = ..., liquidation_order_settled: _Optional[_Union[LiquidationOrderSettledEvent, _Mapping]] = ..., liquidation_fill_executed: _Optional[_Union[LiquidationFillExecutedEvent, _Mapping]] = ..., liquidation_proceeds_applied: _Optional[_Union[LiquidationProceedsAppliedEvent, _Mapping]] = ..., liquidation_paused: _Optional[_Union[LiquidationPausedEvent, _Mapping]] = ..., liquidation_resumed: _Optional[_Union[LiquidationResumedEvent, _Mapping]] = ..., liquidation_completed: _Optional[_Union[LiquidationCompletedEvent, _Mapping]] = ..., shortfall_recognised: _Optional[_Union[ShortfallRecognisedEvent, _Mapping]] = ..., deficit_settlement_proposed: _Optional[_Union[DeficitSettlementProposedEvent, _Mapping]] = ..., deficit_settlement_rejected: _Optional[_Union[DeficitSettlementRejectedEvent, _Mapping]] = ..., debt_recovered: _Optional[_Union[DebtRecoveredEvent, _Mapping]] = ..., debt_written_off: _Optional[_Union[DebtWrittenOffEvent, _Mapping]] = ..., correction_proposed: _Optional[_Union[CorrectionProposedEvent, _Mapping]] = ..., movement_reversed: _Optional[_Union[MovementReversedEvent, _Mapping]] = ..., correction_rejected: _Optional[_Union[CorrectionRejectedEvent, _Mapping]] = ..., client_fact_proposed: _Optional[_Union[ClientFactProposedEvent, _Mapping]] = ..., client_fact_approved: _Optional[_Union[ClientFactApprovedEvent, _Mapping]] = ..., client_fact_rejected: _Optional[_Union[ClientFactRejectedEvent, _Mapping]] = ..., price_observed: _Optional[_Union[PriceObservedEvent, _Mapping]] = ..., price_rejected: _Optional[_Union[PriceRejectedEvent, _Mapping]] = ..., price_feed_stale: _Optional[_Union[PriceFeedStaleEvent, _Mapping]] = ..., market_closure_recorded: _Optional[_Union[MarketClosureRecordedEvent, _Mapping]] = ..., broker_exposure_changed: _Optional[_Union[BrokerExposureChangedEvent, _Mapping]] = ..., broker_limit_breached: _Optional[_Union[BrokerLimitBreachedEvent, _Mapping]] = ..., broker_limit_cleared: _Optional[_Union[BrokerLimitClearedEvent, _Mapping]] = ..., policy_change_proposed: _Optional[_Union[PolicyChangeProposedEvent, _Mapping]] = ..., policy_change_approved: _Optional[_Union[PolicyChangeApprovedEvent, _Mapping]] = ..., policy_change_rejected: _Optional[_Union[PolicyChangeRejectedEvent, _Mapping]] = ..., stress_test_run: _Optional[_Union[StressTestRunEvent, _Mapping]] = ..., reconciliation_run: _Optional[_Union[ReconciliationRunEvent, _Mapping]] = ..., stress_test_accounts_listed: _Optional[_Union[StressTestAccountsListedEvent, _Mapping]] = ...) -> None: ...

class ClientOnboardedEvent(_message.Message):
    __slots__ = ("client_id", "related_group_id")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    RELATED_GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    related_group_id: str
    def __init__(self, client_id: _Optional[str] = ..., related_group_id: _Optional[str] = ...) -> None: ...

class SecuritiesMarginAccountLinkedEvent(_message.Message):
    __slots__ = ("client_id", "securities_account_id")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    SECURITIES_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    securities_account_id: str
    def __init__(self, client_id: _Optional[str] = ..., securities_account_id: _Optional[str] = ...) -> None: ...

class SecuritiesMarginAccountUnlinkedEvent(_message.Message):
    __slots__ = ("client_id", "securities_account_id")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    SECURITIES_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    securities_account_id: str
    def __init__(self, client_id: _Optional[str] = ..., securities_account_id: _Optional[str] = ...) -> None: ...

class RelatedGroupChangedEvent(_message.Message):
    __slots__ = ("client_id", "related_group_id")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    RELATED_GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    related_group_id: str
    def __init__(self, client_id: _Optional[str] = ..., related_group_id: _Optional[str] = ...) -> None: ...

class CreditAssessedEvent(_message.Message):
    __slots__ = ("client_id", "assessment_id", "grade", "assessed_on", "expires_on")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    ASSESSMENT_ID_FIELD_NUMBER: _ClassVar[int]
    GRADE_FIELD_NUMBER: _ClassVar[int]
    ASSESSED_ON_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_ON_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    assessment_id: str
    grade: str
    assessed_on: str
    expires_on: str
    def __init__(self, client_id: _Optional[str] = ..., assessment_id: _Optional[str] = ..., grade: _Optional[str] = ..., assessed_on: _Optional[str] = ..., expires_on: _Optional[str] = ...) -> None: ...

class CreditLimitSetEvent(_message.Message):
    __slots__ = ("client_id", "limit")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    limit: _common_pb2.Amount
    def __init__(self, client_id: _Optional[str] = ..., limit: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ...) -> None: ...

class MarginAgreementSignedEvent(_message.Message):
    __slots__ = ("client_id", "agreement_version", "signed_on")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    AGREEMENT_VERSION_FIELD_NUMBER: _ClassVar[int]
    SIGNED_ON_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    agreement_version: str
    signed_on: str
    def __init__(self, client_id: _Optional[str] = ..., agreement_version: _Optional[str] = ..., signed_on: _Optional[str] = ...) -> None: ...

class RiskDisclosureAcknowledgedEvent(_message.Message):
    __slots__ = ("client_id", "disclosure_version", "acknowledged_on")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    DISCLOSURE_VERSION_FIELD_NUMBER: _ClassVar[int]
    ACKNOWLEDGED_ON_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    disclosure_version: str
    acknowledged_on: str
    def __init__(self, client_id: _Optional[str] = ..., disclosure_version: _Optional[str] = ..., acknowledged_on: _Optional[str] = ...) -> None: ...

class ProfessionalInvestorStatusSetEvent(_message.Message):
    __slots__ = ("client_id", "professional", "assessed_on", "evidence", "expires_on")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    PROFESSIONAL_FIELD_NUMBER: _ClassVar[int]
    ASSESSED_ON_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_ON_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    professional: bool
    assessed_on: str
    evidence: str
    expires_on: str
    def __init__(self, client_id: _Optional[str] = ..., professional: _Optional[bool] = ..., assessed_on: _Optional[str] = ..., evidence: _Optional[str] = ..., expires_on: _Optional[str] = ...) -> None: ...

class AccountSuspendedEvent(_message.Message):
    __slots__ = ("client_id", "reason")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    reason: str
    def __init__(self, client_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class AccountResumedEvent(_message.Message):
    __slots__ = ("client_id", "reason")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    reason: str
    def __init__(self, client_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class AccountClosedEvent(_message.Message):
    __slots__ = ("client_id", "reason")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    reason: str
    def __init__(self, client_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class CashDepositedEvent(_message.Message):
    __slots__ = ("client_id", "amount", "reference", "journal")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    JOURNAL_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    amount: _common_pb2.Amount
    reference: str
    journal: LedgerJournal
    def __init__(self, client_id: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., reference: _Optional[str] = ..., journal: _Optional[_Union[LedgerJournal, _Mapping]] = ...) -> None: ...

class CashWithdrawnEvent(_message.Message):
    __slots__ = ("client_id", "amount", "basis", "journal")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    BASIS_FIELD_NUMBER: _ClassVar[int]
    JOURNAL_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    amount: _common_pb2.Amount
    basis: LedgerDecisionBasis
    journal: LedgerJournal
    def __init__(self, client_id: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., basis: _Optional[_Union[LedgerDecisionBasis, _Mapping]] = ..., journal: _Optional[_Union[LedgerJournal, _Mapping]] = ...) -> None: ...

class CollateralDepositedEvent(_message.Message):
    __slots__ = ("client_id", "quantity", "reference", "journal")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    JOURNAL_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    quantity: _common_pb2.Amount
    reference: str
    journal: LedgerJournal
    def __init__(self, client_id: _Optional[str] = ..., quantity: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., reference: _Optional[str] = ..., journal: _Optional[_Union[LedgerJournal, _Mapping]] = ...) -> None: ...

class CollateralWithdrawnEvent(_message.Message):
    __slots__ = ("client_id", "quantity", "risk_after", "basis", "journal")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    RISK_AFTER_FIELD_NUMBER: _ClassVar[int]
    BASIS_FIELD_NUMBER: _ClassVar[int]
    JOURNAL_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    quantity: _common_pb2.Amount
    risk_after: LedgerRiskFigures
    basis: LedgerDecisionBasis
    journal: LedgerJournal
    def __init__(self, client_id: _Optional[str] = ..., quantity: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., risk_after: _Optional[_Union[LedgerRiskFigures, _Mapping]] = ..., basis: _Optional[_Union[LedgerDecisionBasis, _Mapping]] = ..., journal: _Optional[_Union[LedgerJournal, _Mapping]] = ...) -> None: ...

class MarginFacilityApprovedEvent(_message.Message):
    __slots__ = ("client_id", "facility_id", "credit_limit", "annual_rate", "policy_version")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    FACILITY_ID_FIELD_NUMBER: _ClassVar[int]
    CREDIT_LIMIT_FIELD_NUMBER: _ClassVar[int]
    ANNUAL_RATE_FIELD_NUMBER: _ClassVar[int]
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    facility_id: str
    credit_limit: _common_pb2.Amount
    annual_rate: str
    policy_version: int
    def __init__(self, client_id: _Optional[str] = ..., facility_id: _Optional[str] = ..., credit_limit: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., annual_rate: _Optional[str] = ..., policy_version: _Optional[int] = ...) -> None: ...

class LoanAdvancedEvent(_message.Message):
    __slots__ = ("client_id", "amount", "risk_after", "basis", "journal")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    RISK_AFTER_FIELD_NUMBER: _ClassVar[int]
    BASIS_FIELD_NUMBER: _ClassVar[int]
    JOURNAL_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    amount: _common_pb2.Amount
    risk_after: LedgerRiskFigures
    basis: LedgerDecisionBasis
    journal: LedgerJournal
    def __init__(self, client_id: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., risk_after: _Optional[_Union[LedgerRiskFigures, _Mapping]] = ..., basis: _Optional[_Union[LedgerDecisionBasis, _Mapping]] = ..., journal: _Optional[_Union[LedgerJournal, _Mapping]] = ...) -> None: ...

class LoanRepaidEvent(_message.Message):
    __slots__ = ("client_id", "amount", "journal")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    JOURNAL_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    amount: _common_pb2.Amount
    journal: LedgerJournal
    def __init__(self, client_id: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., journal: _Optional[_Union[LedgerJournal, _Mapping]] = ...) -> None: ...

class InterestAccruedEvent(_message.Message):
    __slots__ = ("client_id", "amount", "accrual_date", "principal", "annual_rate", "policy_version", "journal")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    ACCRUAL_DATE_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    ANNUAL_RATE_FIELD_NUMBER: _ClassVar[int]
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    JOURNAL_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    amount: _common_pb2.Amount
    accrual_date: str
    principal: _common_pb2.Amount
    annual_rate: str
    policy_version: int
    journal: LedgerJournal
    def __init__(self, client_id: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., accrual_date: _Optional[str] = ..., principal: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., annual_rate: _Optional[str] = ..., policy_version: _Optional[int] = ..., journal: _Optional[_Union[LedgerJournal, _Mapping]] = ...) -> None: ...

class InterestCapitalisedEvent(_message.Message):
    __slots__ = ("client_id", "amount", "period_end", "journal")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    JOURNAL_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    amount: _common_pb2.Amount
    period_end: str
    journal: LedgerJournal
    def __init__(self, client_id: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., period_end: _Optional[str] = ..., journal: _Optional[_Union[LedgerJournal, _Mapping]] = ...) -> None: ...

class FeeChargedEvent(_message.Message):
    __slots__ = ("client_id", "amount", "fee_kind", "reference", "journal")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    FEE_KIND_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    JOURNAL_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    amount: _common_pb2.Amount
    fee_kind: str
    reference: str
    journal: LedgerJournal
    def __init__(self, client_id: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., fee_kind: _Optional[str] = ..., reference: _Optional[str] = ..., journal: _Optional[_Union[LedgerJournal, _Mapping]] = ...) -> None: ...

class EarlyWarningIssuedEvent(_message.Message):
    __slots__ = ("client_id", "risk", "basis")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    RISK_FIELD_NUMBER: _ClassVar[int]
    BASIS_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    risk: LedgerRiskFigures
    basis: LedgerDecisionBasis
    def __init__(self, client_id: _Optional[str] = ..., risk: _Optional[_Union[LedgerRiskFigures, _Mapping]] = ..., basis: _Optional[_Union[LedgerDecisionBasis, _Mapping]] = ...) -> None: ...

class EarlyWarningClearedEvent(_message.Message):
    __slots__ = ("client_id", "risk", "basis")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    RISK_FIELD_NUMBER: _ClassVar[int]
    BASIS_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    risk: LedgerRiskFigures
    basis: LedgerDecisionBasis
    def __init__(self, client_id: _Optional[str] = ..., risk: _Optional[_Union[LedgerRiskFigures, _Mapping]] = ..., basis: _Optional[_Union[LedgerDecisionBasis, _Mapping]] = ...) -> None: ...

class MarginCallIssuedEvent(_message.Message):
    __slots__ = ("client_id", "call_id", "call_amount", "deadline", "risk", "basis")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    CALL_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_FIELD_NUMBER: _ClassVar[int]
    RISK_FIELD_NUMBER: _ClassVar[int]
    BASIS_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    call_id: str
    call_amount: _common_pb2.Amount
    deadline: _timestamp_pb2.Timestamp
    risk: LedgerRiskFigures
    basis: LedgerDecisionBasis
    def __init__(self, client_id: _Optional[str] = ..., call_id: _Optional[str] = ..., call_amount: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., deadline: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., risk: _Optional[_Union[LedgerRiskFigures, _Mapping]] = ..., basis: _Optional[_Union[LedgerDecisionBasis, _Mapping]] = ...) -> None: ...

class MarginCallMetEvent(_message.Message):
    __slots__ = ("client_id", "call_id", "risk", "basis")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    RISK_FIELD_NUMBER: _ClassVar[int]
    BASIS_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    call_id: str
    risk: LedgerRiskFigures
    basis: LedgerDecisionBasis
    def __init__(self, client_id: _Optional[str] = ..., call_id: _Optional[str] = ..., risk: _Optional[_Union[LedgerRiskFigures, _Mapping]] = ..., basis: _Optional[_Union[LedgerDecisionBasis, _Mapping]] = ...) -> None: ...

class MarginCallExpiredEvent(_message.Message):
    __slots__ = ("client_id", "call_id", "deadline")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    call_id: str
    deadline: _timestamp_pb2.Timestamp
    def __init__(self, client_id: _Optional[str] = ..., call_id: _Optional[str] = ..., deadline: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class AdvancesSuspendedEvent(_message.Message):
    __slots__ = ("client_id", "reason")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    reason: str
    def __init__(self, client_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class AdvancesResumedEvent(_message.Message):
    __slots__ = ("client_id", "reason")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    reason: str
    def __init__(self, client_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ConcentrationLimitBreachedEvent(_message.Message):
    __slots__ = ("client_id", "limit", "exposure", "limit_amount", "subject", "cause", "basis")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    EXPOSURE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    CAUSE_FIELD_NUMBER: _ClassVar[int]
    BASIS_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    limit: str
    exposure: _common_pb2.Amount
    limit_amount: _common_pb2.Amount
    subject: str
    cause: str
    basis: LedgerDecisionBasis
    def __init__(self, client_id: _Optional[str] = ..., limit: _Optional[str] = ..., exposure: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., limit_amount: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., subject: _Optional[str] = ..., cause: _Optional[str] = ..., basis: _Optional[_Union[LedgerDecisionBasis, _Mapping]] = ...) -> None: ...

class ConcentrationLimitClearedEvent(_message.Message):
    __slots__ = ("client_id", "limit", "exposure", "limit_amount", "subject", "cause", "basis")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    EXPOSURE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    CAUSE_FIELD_NUMBER: _ClassVar[int]
    BASIS_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    limit: str
    exposure: _common_pb2.Amount
    limit_amount: _common_pb2.Amount
    subject: str
    cause: str
    basis: LedgerDecisionBasis
    def __init__(self, client_id: _Optional[str] = ..., limit: _Optional[str] = ..., exposure: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., limit_amount: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., subject: _Optional[str] = ..., cause: _Optional[str] = ..., basis: _Optional[_Union[LedgerDecisionBasis, _Mapping]] = ...) -> None: ...

class LiquidationStartedEvent(_message.Message):
    __slots__ = ("client_id", "liquidation_id", "trigger", "target_utilisation", "risk", "basis", "reason")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    LIQUIDATION_ID_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_FIELD_NUMBER: _ClassVar[int]
    TARGET_UTILISATION_FIELD_NUMBER: _ClassVar[int]
    RISK_FIELD_NUMBER: _ClassVar[int]
    BASIS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    liquidation_id: str
    trigger: str
    target_utilisation: str
    risk: LedgerRiskFigures
    basis: LedgerDecisionBasis
    reason: str
    def __init__(self, client_id: _Optional[str] = ..., liquidation_id: _Optional[str] = ..., trigger: _Optional[str] = ..., target_utilisation: _Optional[str] = ..., risk: _Optional[_Union[LedgerRiskFigures, _Mapping]] = ..., basis: _Optional[_Union[LedgerDecisionBasis, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class LiquidationOrderPlacedEvent(_message.Message):
    __slots__ = ("client_id", "liquidation_id", "order_id", "venue", "affiliated", "quantity", "limit_price", "mark", "quote", "best_independent_quote", "placed_at")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    LIQUIDATION_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    VENUE_FIELD_NUMBER: _ClassVar[int]
    AFFILIATED_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    LIMIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    MARK_FIELD_NUMBER: _ClassVar[int]
    QUOTE_FIELD_NUMBER: _ClassVar[int]
    BEST_INDEPENDENT_QUOTE_FIELD_NUMBER: _ClassVar[int]
    PLACED_AT_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    liquidation_id: str
    order_id: str
    venue: str
    affiliated: bool
    quantity: _common_pb2.Amount
    limit_price: str
    mark: str
    quote: str
    best_independent_quote: str
    placed_at: _timestamp_pb2.Timestamp
    def __init__(self, client_id: _Optional[str] = ..., liquidation_id: _Optional[str] = ..., order_id: _Optional[str] = ..., venue: _Optional[str] = ..., affiliated: _Optional[bool] = ..., quantity: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., limit_price: _Optional[str] = ..., mark: _Optional[str] = ..., quote: _Optional[str] = ..., best_independent_quote: _Optional[str] = ..., placed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class LiquidationOrderSettledEvent(_message.Message):
    __slots__ = ("client_id", "liquidation_id", "order_id", "status", "filled", "released", "reason")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    LIQUIDATION_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    FILLED_FIELD_NUMBER: _ClassVar[int]
    RELEASED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    liquidation_id: str
    order_id: str
    status: str
    filled: _common_pb2.Amount
    released: _common_pb2.Amount
    reason: str
    def __init__(self, client_id: _Optional[str] = ..., liquidation_id: _Optional[str] = ..., order_id: _Optional[str] = ..., status: _Optional[str] = ..., filled: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., released: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class LiquidationFillExecutedEvent(_message.Message):
    __slots__ = ("client_id", "liquidation_id", "fill_id", "quantity", "price", "proceeds", "fee", "venue", "counterparty", "affiliated", "quote", "best_independent_quote", "executed_at", "journal")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    LIQUIDATION_ID_FIELD_NUMBER: _ClassVar[int]
    FILL_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    PROCEEDS_FIELD_NUMBER: _ClassVar[int]
    FEE_FIELD_NUMBER: _ClassVar[int]
    VENUE_FIELD_NUMBER: _ClassVar[int]
    COUNTERPARTY_FIELD_NUMBER: _ClassVar[int]
    AFFILIATED_FIELD_NUMBER: _ClassVar[int]
    QUOTE_FIELD_NUMBER: _ClassVar[int]
    BEST_INDEPENDENT_QUOTE_FIELD_NUMBER: _ClassVar[int]
    EXECUTED_AT_FIELD_NUMBER: _ClassVar[int]
    JOURNAL_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    liquidation_id: str
    fill_id: str
    quantity: _common_pb2.Amount
    price: str
    proceeds: _common_pb2.Amount
    fee: _common_pb2.Amount
    venue: str
    counterparty: str
    affiliated: bool
    quote: str
    best_independent_quote: str
    executed_at: _timestamp_pb2.Timestamp
    journal: LedgerJournal
    def __init__(self, client_id: _Optional[str] = ..., liquidation_id: _Optional[str] = ..., fill_id: _Optional[str] = ..., quantity: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., price: _Optional[str] = ..., proceeds: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., fee: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., venue: _Optional[str] = ..., counterparty: _Optional[str] = ..., affiliated: _Optional[bool] = ..., quote: _Optional[str] = ..., best_independent_quote: _Optional[str] = ..., executed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., journal: _Optional[_Union[LedgerJournal, _Mapping]] = ...) -> None: ...

class LiquidationProceedsAppliedEvent(_message.Message):
    __slots__ = ("client_id", "liquidation_id", "amount", "interest", "fees", "principal", "journal")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    LIQUIDATION_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    INTEREST_FIELD_NUMBER: _ClassVar[int]
    FEES_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    JOURNAL_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    liquidation_id: str
    amount: _common_pb2.Amount
    interest: _common_pb2.Amount
    fees: _common_pb2.Amount
    principal: _common_pb2.Amount
    journal: LedgerJournal
    def __init__(self, client_id: _Optional[str] = ..., liquidation_id: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., interest: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., fees: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., principal: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., journal: _Optional[_Union[LedgerJournal, _Mapping]] = ...) -> None: ...

class LiquidationPausedEvent(_message.Message):
    __slots__ = ("client_id", "liquidation_id", "asset", "mark", "best_quote", "floor_price", "reason")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    LIQUIDATION_ID_FIELD_NUMBER: _ClassVar[int]
    ASSET_FIELD_NUMBER: _ClassVar[int]
    MARK_FIELD_NUMBER: _ClassVar[int]
    BEST_QUOTE_FIELD_NUMBER: _ClassVar[int]
    FLOOR_PRICE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    liquidation_id: str
    asset: str
    mark: str
    best_quote: str
    floor_price: str
    reason: str
    def __init__(self, client_id: _Optional[str] = ..., liquidation_id: _Optional[str] = ..., asset: _Optional[str] = ..., mark: _Optional[str] = ..., best_quote: _Optional[str] = ..., floor_price: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class LiquidationResumedEvent(_message.Message):
    __slots__ = ("client_id", "liquidation_id", "resumed_by", "reason", "floor_price", "asset")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    LIQUIDATION_ID_FIELD_NUMBER: _ClassVar[int]
    RESUMED_BY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    FLOOR_PRICE_FIELD_NUMBER: _ClassVar[int]
    ASSET_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    liquidation_id: str
    resumed_by: str
    reason: str
    floor_price: str
    asset: str
    def __init__(self, client_id: _Optional[str] = ..., liquidation_id: _Optional[str] = ..., resumed_by: _Optional[str] = ..., reason: _Optional[str] = ..., floor_price: _Optional[str] = ..., asset: _Optional[str] = ...) -> None: ...

class LiquidationCompletedEvent(_message.Message):
    __slots__ = ("client_id", "liquidation_id", "risk", "basis", "outcome")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    LIQUIDATION_ID_FIELD_NUMBER: _ClassVar[int]
    RISK_FIELD_NUMBER: _ClassVar[int]
    BASIS_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    liquidation_id: str
    risk: LedgerRiskFigures
    basis: LedgerDecisionBasis
    outcome: str
    def __init__(self, client_id: _Optional[str] = ..., liquidation_id: _Optional[str] = ..., risk: _Optional[_Union[LedgerRiskFigures, _Mapping]] = ..., basis: _Optional[_Union[LedgerDecisionBasis, _Mapping]] = ..., outcome: _Optional[str] = ...) -> None: ...

class ShortfallRecognisedEvent(_message.Message):
    __slots__ = ("client_id", "liquidation_id", "shortfall", "journal")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    LIQUIDATION_ID_FIELD_NUMBER: _ClassVar[int]
    SHORTFALL_FIELD_NUMBER: _ClassVar[int]
    JOURNAL_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    liquidation_id: str
    shortfall: _common_pb2.Amount
    journal: LedgerJournal
    def __init__(self, client_id: _Optional[str] = ..., liquidation_id: _Optional[str] = ..., shortfall: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., journal: _Optional[_Union[LedgerJournal, _Mapping]] = ...) -> None: ...

class DeficitSettlementProposedEvent(_message.Message):
    __slots__ = ("client_id", "proposal_id", "kind", "amount", "source", "reference", "proposed_by")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    PROPOSAL_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    PROPOSED_BY_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    proposal_id: str
    kind: str
    amount: _common_pb2.Amount
    source: str
    reference: str
    proposed_by: str
    def __init__(self, client_id: _Optional[str] = ..., proposal_id: _Optional[str] = ..., kind: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., source: _Optional[str] = ..., reference: _Optional[str] = ..., proposed_by: _Optional[str] = ...) -> None: ...

class DeficitSettlementRejectedEvent(_message.Message):
    __slots__ = ("client_id", "proposal_id", "rejected_by", "reason")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    PROPOSAL_ID_FIELD_NUMBER: _ClassVar[int]
    REJECTED_BY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    proposal_id: str
    rejected_by: str
    reason: str
    def __init__(self, client_id: _Optional[str] = ..., proposal_id: _Optional[str] = ..., rejected_by: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class DebtRecoveredEvent(_message.Message):
    __slots__ = ("client_id", "amount", "reference", "journal")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    JOURNAL_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    amount: _common_pb2.Amount
    reference: str
    journal: LedgerJournal
    def __init__(self, client_id: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., reference: _Optional[str] = ..., journal: _Optional[_Union[LedgerJournal, _Mapping]] = ...) -> None: ...

class DebtWrittenOffEvent(_message.Message):
    __slots__ = ("client_id", "amount", "approved_by", "journal", "proposal_id")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    APPROVED_BY_FIELD_NUMBER: _ClassVar[int]
    JOURNAL_FIELD_NUMBER: _ClassVar[int]
    PROPOSAL_ID_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    amount: _common_pb2.Amount
    approved_by: str
    journal: LedgerJournal
    proposal_id: str
    def __init__(self, client_id: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., approved_by: _Optional[str] = ..., journal: _Optional[_Union[LedgerJournal, _Mapping]] = ..., proposal_id: _Optional[str] = ...) -> None: ...

class CorrectionProposedEvent(_message.Message):
    __slots__ = ("client_id", "correction_id", "original_version", "original_position", "original_type", "reason", "proposed_by")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    CORRECTION_ID_FIELD_NUMBER: _ClassVar[int]
    ORIGINAL_VERSION_FIELD_NUMBER: _ClassVar[int]
    ORIGINAL_POSITION_FIELD_NUMBER: _ClassVar[int]
    ORIGINAL_TYPE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    PROPOSED_BY_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    correction_id: str
    original_version: int
    original_position: int
    original_type: str
    reason: str
    proposed_by: str
    def __init__(self, client_id: _Optional[str] = ..., correction_id: _Optional[str] = ..., original_version: _Optional[int] = ..., original_position: _Optional[int] = ..., original_type: _Optional[str] = ..., reason: _Optional[str] = ..., proposed_by: _Optional[str] = ...) -> None: ...

class MovementReversedEvent(_message.Message):
    __slots__ = ("client_id", "correction_id", "original_version", "original_position", "original_type", "amount", "reason", "proposed_by", "approved_by", "basis", "journal")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    CORRECTION_ID_FIELD_NUMBER: _ClassVar[int]
    ORIGINAL_VERSION_FIELD_NUMBER: _ClassVar[int]
    ORIGINAL_POSITION_FIELD_NUMBER: _ClassVar[int]
    ORIGINAL_TYPE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    PROPOSED_BY_FIELD_NUMBER: _ClassVar[int]
    APPROVED_BY_FIELD_NUMBER: _ClassVar[int]
    BASIS_FIELD_NUMBER: _ClassVar[int]
    JOURNAL_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    correction_id: str
    original_version: int
    original_position: int
    original_type: str
    amount: _common_pb2.Amount
    reason: str
    proposed_by: str
    approved_by: str
    basis: LedgerDecisionBasis
    journal: LedgerJournal
    def __init__(self, client_id: _Optional[str] = ..., correction_id: _Optional[str] = ..., original_version: _Optional[int] = ..., original_position: _Optional[int] = ..., original_type: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., reason: _Optional[str] = ..., proposed_by: _Optional[str] = ..., approved_by: _Optional[str] = ..., basis: _Optional[_Union[LedgerDecisionBasis, _Mapping]] = ..., journal: _Optional[_Union[LedgerJournal, _Mapping]] = ...) -> None: ...

class CorrectionRejectedEvent(_message.Message):
    __slots__ = ("client_id", "correction_id", "rejected_by", "reason")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    CORRECTION_ID_FIELD_NUMBER: _ClassVar[int]
    REJECTED_BY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    correction_id: str
    rejected_by: str
    reason: str
    def __init__(self, client_id: _Optional[str] = ..., correction_id: _Optional[str] = ..., rejected_by: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ClientFactProposedEvent(_message.Message):
    __slots__ = ("client_id", "proposal_id", "proposed_by", "proposed_at", "credit_assessment", "credit_limit", "professional_investor")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    PROPOSAL_ID_FIELD_NUMBER: _ClassVar[int]
    PROPOSED_BY_FIELD_NUMBER: _ClassVar[int]
    PROPOSED_AT_FIELD_NUMBER: _ClassVar[int]
    CREDIT_ASSESSMENT_FIELD_NUMBER: _ClassVar[int]
    CREDIT_LIMIT_FIELD_NUMBER: _ClassVar[int]
    PROFESSIONAL_INVESTOR_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    proposal_id: str
    proposed_by: str
    proposed_at: _timestamp_pb2.Timestamp
    credit_assessment: LedgerProposedCreditAssessment
    credit_limit: _common_pb2.Amount
    professional_investor: LedgerProposedProfessionalInvestorStatus
    def __init__(self, client_id: _Optional[str] = ..., proposal_id: _Optional[str] = ..., proposed_by: _Optional[str] = ..., proposed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., credit_assessment: _Optional[_Union[LedgerProposedCreditAssessment, _Mapping]] = ..., credit_limit: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., professional_investor: _Optional[_Union[LedgerProposedProfessionalInvestorStatus, _Mapping]] = ...) -> None: ...

class ClientFactApprovedEvent(_message.Message):
    __slots__ = ("client_id", "proposal_id", "fact", "proposed_by", "approved_by", "approved_at")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    PROPOSAL_ID_FIELD_NUMBER: _ClassVar[int]
    FACT_FIELD_NUMBER: _ClassVar[int]
    PROPOSED_BY_FIELD_NUMBER: _ClassVar[int]
    APPROVED_BY_FIELD_NUMBER: _ClassVar[int]
    APPROVED_AT_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    proposal_id: str
    fact: str
    proposed_by: str
    approved_by: str
    approved_at: _timestamp_pb2.Timestamp
    def __init__(self, client_id: _Optional[str] = ..., proposal_id: _Optional[str] = ..., fact: _Optional[str] = ..., proposed_by: _Optional[str] = ..., approved_by: _Optional[str] = ..., approved_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ClientFactRejectedEvent(_message.Message):
    __slots__ = ("client_id", "proposal_id", "fact", "proposed_by", "rejected_by", "rejected_at", "reason")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    PROPOSAL_ID_FIELD_NUMBER: _ClassVar[int]
    FACT_FIELD_NUMBER: _ClassVar[int]
    PROPOSED_BY_FIELD_NUMBER: _ClassVar[int]
    REJECTED_BY_FIELD_NUMBER: _ClassVar[int]
    REJECTED_AT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    proposal_id: str
    fact: str
    proposed_by: str
    rejected_by: str
    rejected_at: _timestamp_pb2.Timestamp
    reason: str
    def __init__(self, client_id: _Optional[str] = ..., proposal_id: _Optional[str] = ..., fact: _Optional[str] = ..., proposed_by: _Optional[str] = ..., rejected_by: _Optional[str] = ..., rejected_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class PriceObservedEvent(_message.Message):
    __slots__ = ("base_asset", "quote_asset", "price", "observed_at", "source")
    BASE_ASSET_FIELD_NUMBER: _ClassVar[int]
    QUOTE_ASSET_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_AT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    base_asset: str
    quote_asset: str
    price: str
    observed_at: _timestamp_pb2.Timestamp
    source: str
    def __init__(self, base_asset: _Optional[str] = ..., quote_asset: _Optional[str] = ..., price: _Optional[str] = ..., observed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., source: _Optional[str] = ...) -> None: ...

class PriceRejectedEvent(_message.Message):
    __slots__ = ("base_asset", "quote_asset", "price", "observed_at", "source", "reason", "last_price", "last_observed_at", "policy_version")
    BASE_ASSET_FIELD_NUMBER: _ClassVar[int]
    QUOTE_ASSET_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_AT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    LAST_PRICE_FIELD_NUMBER: _ClassVar[int]
    LAST_OBSERVED_AT_FIELD_NUMBER: _ClassVar[int]
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    base_asset: str
    quote_asset: str
    price: str
    observed_at: _timestamp_pb2.Timestamp
    source: str
    reason: str
    last_price: str
    last_observed_at: _timestamp_pb2.Timestamp
    policy_version: int
    def __init__(self, base_asset: _Optional[str] = ..., quote_asset: _Optional[str] = ..., price: _Optional[str] = ..., observed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., source: _Optional[str] = ..., reason: _Optional[str] = ..., last_price: _Optional[str] = ..., last_observed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., policy_version: _Optional[int] = ...) -> None: ...

class PriceFeedStaleEvent(_message.Message):
    __slots__ = ("asset", "last_observed_at", "detected_at", "age_seconds")
    ASSET_FIELD_NUMBER: _ClassVar[int]
    LAST_OBSERVED_AT_FIELD_NUMBER: _ClassVar[int]
    DETECTED_AT_FIELD_NUMBER: _ClassVar[int]
    AGE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    asset: str
    last_observed_at: _timestamp_pb2.Timestamp
    detected_at: _timestamp_pb2.Timestamp
    age_seconds: int
    def __init__(self, asset: _Optional[str] = ..., last_observed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., detected_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., age_seconds: _Optional[int] = ...) -> None: ...

class MarketClosureRecordedEvent(_message.Message):
    __slots__ = ("market", "closed_on", "reason", "sessions", "recorded_by")
    MARKET_FIELD_NUMBER: _ClassVar[int]
    CLOSED_ON_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    RECORDED_BY_FIELD_NUMBER: _ClassVar[int]
    market: str
    closed_on: str
    reason: str
    sessions: str
    recorded_by: str
    def __init__(self, market: _Optional[str] = ..., closed_on: _Optional[str] = ..., reason: _Optional[str] = ..., sessions: _Optional[str] = ..., recorded_by: _Optional[str] = ...) -> None: ...

class BrokerExposureChangedEvent(_message.Message):
    __slots__ = ("client_id", "group_id", "change", "reason", "reference")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    group_id: str
    change: _common_pb2.Amount
    reason: str
    reference: str
    def __init__(self, client_id: _Optional[str] = ..., group_id: _Optional[str] = ..., change: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., reason: _Optional[str] = ..., reference: _Optional[str] = ...) -> None: ...

class BrokerLimitBreachedEvent(_message.Message):
    __slots__ = ("limit", "subject", "measured", "limit_amount", "cause", "basis")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    MEASURED_FIELD_NUMBER: _ClassVar[int]
    LIMIT_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CAUSE_FIELD_NUMBER: _ClassVar[int]
    BASIS_FIELD_NUMBER: _ClassVar[int]
    limit: str
    subject: str
    measured: _common_pb2.Amount
    limit_amount: _common_pb2.Amount
    cause: str
    basis: LedgerDecisionBasis
    def __init__(self, limit: _Optional[str] = ..., subject: _Optional[str] = ..., measured: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., limit_amount: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., cause: _Optional[str] = ..., basis: _Optional[_Union[LedgerDecisionBasis, _Mapping]] = ...) -> None: ...

class BrokerLimitClearedEvent(_message.Message):
    __slots__ = ("limit", "subject", "measured", "limit_amount", "cause", "basis")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    MEASURED_FIELD_NUMBER: _ClassVar[int]
    LIMIT_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CAUSE_FIELD_NUMBER: _ClassVar[int]
    BASIS_FIELD_NUMBER: _ClassVar[int]
    limit: str
    subject: str
    measured: _common_pb2.Amount
    limit_amount: _common_pb2.Amount
    cause: str
    basis: LedgerDecisionBasis
    def __init__(self, limit: _Optional[str] = ..., subject: _Optional[str] = ..., measured: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., limit_amount: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., cause: _Optional[str] = ..., basis: _Optional[_Union[LedgerDecisionBasis, _Mapping]] = ...) -> None: ...

class PolicyChangeProposedEvent(_message.Message):
    __slots__ = ("proposal_id", "policy_version", "parameters", "effective_from", "proposed_by")
    PROPOSAL_ID_FIELD_NUMBER: _ClassVar[int]
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_FROM_FIELD_NUMBER: _ClassVar[int]
    PROPOSED_BY_FIELD_NUMBER: _ClassVar[int]
    proposal_id: str
    policy_version: int
    parameters: _containers.RepeatedCompositeFieldContainer[LedgerPolicyParameter]
    effective_from: _timestamp_pb2.Timestamp
    proposed_by: str
    def __init__(self, proposal_id: _Optional[str] = ..., policy_version: _Optional[int] = ..., parameters: _Optional[_Iterable[_Union[LedgerPolicyParameter, _Mapping]]] = ..., effective_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., proposed_by: _Optional[str] = ...) -> None: ...

class PolicyChangeApprovedEvent(_message.Message):
    __slots__ = ("proposal_id", "policy_version", "approved_by", "effective_from")
    PROPOSAL_ID_FIELD_NUMBER: _ClassVar[int]
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    APPROVED_BY_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_FROM_FIELD_NUMBER: _ClassVar[int]
    proposal_id: str
    policy_version: int
    approved_by: str
    effective_from: _timestamp_pb2.Timestamp
    def __init__(self, proposal_id: _Optional[str] = ..., policy_version: _Optional[int] = ..., approved_by: _Optional[str] = ..., effective_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PolicyChangeRejectedEvent(_message.Message):
    __slots__ = ("proposal_id", "rejected_by", "reason")
    PROPOSAL_ID_FIELD_NUMBER: _ClassVar[int]
    REJECTED_BY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    proposal_id: str
    rejected_by: str
    reason: str
    def __init__(self, proposal_id: _Optional[str] = ..., rejected_by: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class StressTestRunEvent(_message.Message):
    __slots__ = ("run_id", "scenario", "shocks", "policy_version", "run_at", "accounts_tested", "accounts_in_margin_call", "accounts_liquidating", "total_shortfall", "accounts_warned", "accounts_short", "securities_shock", "prices", "worst_accounts", "accounts_flagged", "book_position", "requested_by", "accounts_listed", "account_pages")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    SCENARIO_FIELD_NUMBER: _ClassVar[int]
    SHOCKS_FIELD_NUMBER: _ClassVar[int]
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    RUN_AT_FIELD_NUMBER: _ClassVar[int]
    ACCOUNTS_TESTED_FIELD_NUMBER: _ClassVar[int]
    ACCOUNTS_IN_MARGIN_CALL_FIELD_NUMBER: _ClassVar[int]
    ACCOUNTS_LIQUIDATING_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SHORTFALL_FIELD_NUMBER: _ClassVar[int]
    ACCOUNTS_WARNED_FIELD_NUMBER: _ClassVar[int]
    ACCOUNTS_SHORT_FIELD_NUMBER: _ClassVar[int]
    SECURITIES_SHOCK_FIELD_NUMBER: _ClassVar[int]
    PRICES_FIELD_NUMBER: _ClassVar[int]
    WORST_ACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    ACCOUNTS_FLAGGED_FIELD_NUMBER: _ClassVar[int]
    BOOK_POSITION_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    ACCOUNTS_LISTED_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_PAGES_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    scenario: str
    shocks: _containers.RepeatedCompositeFieldContainer[LedgerPriceShock]
    policy_version: int
    run_at: _timestamp_pb2.Timestamp
    accounts_tested: int
    accounts_in_margin_call: int
    accounts_liquidating: int
    total_shortfall: _common_pb2.Amount
    accounts_warned: int
    accounts_short: int
    securities_shock: str
    prices: _containers.RepeatedCompositeFieldContainer[LedgerPricePoint]
    worst_accounts: _containers.RepeatedCompositeFieldContainer[LedgerStressedAccount]
    accounts_flagged: int
    book_position: int
    requested_by: str
    accounts_listed: int
    account_pages: int
    def __init__(self, run_id: _Optional[str] = ..., scenario: _Optional[str] = ..., shocks: _Optional[_Iterable[_Union[LedgerPriceShock, _Mapping]]] = ..., policy_version: _Optional[int] = ..., run_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., accounts_tested: _Optional[int] = ..., accounts_in_margin_call: _Optional[int] = ..., accounts_liquidating: _Optional[int] = ..., total_shortfall: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., accounts_warned: _Optional[int] = ..., accounts_short: _Optional[int] = ..., securities_shock: _Optional[str] = ..., prices: _Optional[_Iterable[_Union[LedgerPricePoint, _Mapping]]] = ..., worst_accounts: _Optional[_Iterable[_Union[LedgerStressedAccount, _Mapping]]] = ..., accounts_flagged: _Optional[int] = ..., book_position: _Optional[int] = ..., requested_by: _Optional[str] = ..., accounts_listed: _Optional[int] = ..., account_pages: _Optional[int] = ...) -> None: ...

class ReconciliationRunEvent(_message.Message):
    __slots__ = ("run_id", "source", "statement_at", "file_sha256", "file_name", "run_at", "requested_by", "lines_read", "balances_compared", "balances_matched", "breaks_found", "breaks", "ledger_position")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    STATEMENT_AT_FIELD_NUMBER: _ClassVar[int]
    FILE_SHA256_FIELD_NUMBER: _ClassVar[int]
    FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    RUN_AT_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    LINES_READ_FIELD_NUMBER: _ClassVar[int]
    BALANCES_COMPARED_FIELD_NUMBER: _ClassVar[int]
    BALANCES_MATCHED_FIELD_NUMBER: _ClassVar[int]
    BREAKS_FOUND_FIELD_NUMBER: _ClassVar[int]
    BREAKS_FIELD_NUMBER: _ClassVar[int]
    LEDGER_POSITION_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    source: str
    statement_at: _timestamp_pb2.Timestamp
    file_sha256: str
    file_name: str
    run_at: _timestamp_pb2.Timestamp
    requested_by: str
    lines_read: int
    balances_compared: int
    balances_matched: int
    breaks_found: int
    breaks: _containers.RepeatedCompositeFieldContainer[LedgerReconciliationBreak]
    ledger_position: int
    def __init__(self, run_id: _Optional[str] = ..., source: _Optional[str] = ..., statement_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., file_sha256: _Optional[str] = ..., file_name: _Optional[str] = ..., run_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., requested_by: _Optional[str] = ..., lines_read: _Optional[int] = ..., balances_compared: _Optional[int] = ..., balances_matched: _Optional[int] = ..., breaks_found: _Optional[int] = ..., breaks: _Optional[_Iterable[_Union[LedgerReconciliationBreak, _Mapping]]] = ..., ledger_position: _Optional[int] = ...) -> None: ...

class StressTestAccountsListedEvent(_message.Message):
    __slots__ = ("run_id", "page", "accounts")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    ACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    page: int
    accounts: _containers.RepeatedCompositeFieldContainer[LedgerStressedAccount]
    def __init__(self, run_id: _Optional[str] = ..., page: _Optional[int] = ..., accounts: _Optional[_Iterable[_Union[LedgerStressedAccount, _Mapping]]] = ...) -> None: ...

class LedgerJournal(_message.Message):
    __slots__ = ("postings",)
    POSTINGS_FIELD_NUMBER: _ClassVar[int]
    postings: _containers.RepeatedCompositeFieldContainer[LedgerPosting]
    def __init__(self, postings: _Optional[_Iterable[_Union[LedgerPosting, _Mapping]]] = ...) -> None: ...

class LedgerPosting(_message.Message):
    __slots__ = ("ledger_account", "amount")
    LEDGER_ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    ledger_account: str
    amount: _common_pb2.Amount
    def __init__(self, ledger_account: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ...) -> None: ...

class LedgerDecisionBasis(_message.Message):
    __slots__ = ("policy_version", "prices", "decided_at", "stale_assets", "closed_market_assets")
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    PRICES_FIELD_NUMBER: _ClassVar[int]
    DECIDED_AT_FIELD_NUMBER: _ClassVar[int]
    STALE_ASSETS_FIELD_NUMBER: _ClassVar[int]
    CLOSED_MARKET_ASSETS_FIELD_NUMBER: _ClassVar[int]
    policy_version: int
    prices: _containers.RepeatedCompositeFieldContainer[LedgerPricePoint]
    decided_at: _timestamp_pb2.Timestamp
    stale_assets: _containers.RepeatedScalarFieldContainer[str]
    closed_market_assets: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, policy_version: _Optional[int] = ..., prices: _Optional[_Iterable[_Union[LedgerPricePoint, _Mapping]]] = ..., decided_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., stale_assets: _Optional[_Iterable[str]] = ..., closed_market_assets: _Optional[_Iterable[str]] = ...) -> None: ...

class LedgerPolicyParameter(_message.Message):
    __slots__ = ("name", "value")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: str
    def __init__(self, name: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class LedgerPricePoint(_message.Message):
    __slots__ = ("base_asset", "quote_asset", "price", "observed_at", "source")
    BASE_ASSET_FIELD_NUMBER: _ClassVar[int]
    QUOTE_ASSET_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_AT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    base_asset: str
    quote_asset: str
    price: str
    observed_at: _timestamp_pb2.Timestamp
    source: str
    def __init__(self, base_asset: _Optional[str] = ..., quote_asset: _Optional[str] = ..., price: _Optional[str] = ..., observed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., source: _Optional[str] = ...) -> None: ...

class LedgerPriceShock(_message.Message):
    __slots__ = ("asset", "change")
    ASSET_FIELD_NUMBER: _ClassVar[int]
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    asset: str
    change: str
    def __init__(self, asset: _Optional[str] = ..., change: _Optional[str] = ...) -> None: ...

class LedgerProposedCreditAssessment(_message.Message):
    __slots__ = ("assessment_id", "grade", "assessed_on", "expires_on")
    ASSESSMENT_ID_FIELD_NUMBER: _ClassVar[int]
    GRADE_FIELD_NUMBER: _ClassVar[int]
    ASSESSED_ON_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_ON_FIELD_NUMBER: _ClassVar[int]
    assessment_id: str
    grade: str
    assessed_on: str
    expires_on: str
    def __init__(self, assessment_id: _Optional[str] = ..., grade: _Optional[str] = ..., assessed_on: _Optional[str] = ..., expires_on: _Optional[str] = ...) -> None: ...

class LedgerProposedProfessionalInvestorStatus(_message.Message):
    __slots__ = ("professional", "evidence", "expires_on")
    PROFESSIONAL_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_ON_FIELD_NUMBER: _ClassVar[int]
    professional: bool
    evidence: str
    expires_on: str
    def __init__(self, professional: _Optional[bool] = ..., evidence: _Optional[str] = ..., expires_on: _Optional[str] = ...) -> None: ...

class LedgerReconciliationBreak(_message.Message):
    __slots__ = ("cause", "line", "client_id", "asset", "ledger_amount", "statement_amount", "difference", "detail")
    CAUSE_FIELD_NUMBER: _ClassVar[int]
    LINE_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    ASSET_FIELD_NUMBER: _ClassVar[int]
    LEDGER_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    STATEMENT_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    DIFFERENCE_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    cause: str
    line: int
    client_id: str
    asset: str
    ledger_amount: str
    statement_amount: str
    difference: str
    detail: str
    def __init__(self, cause: _Optional[str] = ..., line: _Optional[int] = ..., client_id: _Optional[str] = ..., asset: _Optional[str] = ..., ledger_amount: _Optional[str] = ..., statement_amount: _Optional[str] = ..., difference: _Optional[str] = ..., detail: _Optional[str] = ...) -> None: ...

class LedgerRiskFigures(_message.Message):
    __slots__ = ("market_value", "marginable_value", "debt", "utilisation")
    MARKET_VALUE_FIELD_NUMBER: _ClassVar[int]
    MARGINABLE_VALUE_FIELD_NUMBER: _ClassVar[int]
    DEBT_FIELD_NUMBER: _ClassVar[int]
    UTILISATION_FIELD_NUMBER: _ClassVar[int]
    market_value: _common_pb2.Amount
    marginable_value: _common_pb2.Amount
    debt: _common_pb2.Amount
    utilisation: str
    def __init__(self, market_value: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., marginable_value: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., debt: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., utilisation: _Optional[str] = ...) -> None: ...

class LedgerStressedAccount(_message.Message):
    __slots__ = ("client_id", "utilisation", "debt", "shortfall", "state")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    UTILISATION_FIELD_NUMBER: _ClassVar[int]
    DEBT_FIELD_NUMBER: _ClassVar[int]
    SHORTFALL_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    utilisation: str
    debt: _common_pb2.Amount
    shortfall: _common_pb2.Amount
    state: str
    def __init__(self, client_id: _Optional[str] = ..., utilisation: _Optional[str] = ..., debt: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., shortfall: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., state: _Optional[str] = ...) -> None: ...
