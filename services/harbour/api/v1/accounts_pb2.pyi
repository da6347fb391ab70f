import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from harbour.api.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AccountStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACCOUNT_STATUS_UNSPECIFIED: _ClassVar[AccountStatus]
    ACCOUNT_STATUS_APPLIED: _ClassVar[AccountStatus]
    ACCOUNT_STATUS_ACTIVE: _ClassVar[AccountStatus]
    ACCOUNT_STATUS_CLOSED: _ClassVar[AccountStatus]

class RiskState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RISK_STATE_UNSPECIFIED: _ClassVar[RiskState]
    RISK_STATE_HEALTHY: _ClassVar[RiskState]
    RISK_STATE_WARNING: _ClassVar[RiskState]
    RISK_STATE_MARGIN_CALL: _ClassVar[RiskState]
    RISK_STATE_LIQUIDATING: _ClassVar[RiskState]
    RISK_STATE_DEFICIT: _ClassVar[RiskState]
    RISK_STATE_RECOVERED: _ClassVar[RiskState]
    RISK_STATE_WRITTEN_OFF: _ClassVar[RiskState]

class StatementSource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STATEMENT_SOURCE_UNSPECIFIED: _ClassVar[StatementSource]
    STATEMENT_SOURCE_CUSTODIAN: _ClassVar[StatementSource]
    STATEMENT_SOURCE_BANK: _ClassVar[StatementSource]
    STATEMENT_SOURCE_SECURITIES: _ClassVar[StatementSource]
ACCOUNT_STATUS_UNSPECIFIED: AccountStatus
ACCOUNT_STATUS_APPLIED: AccountStatus
ACCOUNT_STATUS_ACTIVE: AccountStatus
ACCOUNT_STATUS_CLOSED: AccountStatus
RISK_STATE_UNSPECIFIED: RiskState
RISK_STATE_HEALTHY: RiskState
RISK_STATE_WARNING: RiskState
RISK_STATE_MARGIN_CALL: RiskState
RISK_STATE_LIQUIDATING: RiskState
RISK_STATE_DEFICIT: RiskState
RISK_STATE_RECOVERED: RiskState
RISK_STATE_WRITTEN_OFF: RiskState
STATEMENT_SOURCE_UNSPECIFIED: StatementSource
STATEMENT_SOURCE_CUSTODIAN: StatementSource
STATEMENT_SOURCE_BANK: StatementSource
STATEMENT_SOURCE_SECURITIES: StatementSource

class OnboardClientRequest(_message.Message):
    __slots__ = ("request_id", "client_id", "securities_margin_account_id", "credit_grade", "credit_assessment_id", "credit_limit", "margin_agreement_version", "risk_disclosure_version", "professional_investor", "related_group_id")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    SECURITIES_MARGIN_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CREDIT_GRADE_FIELD_NUMBER: _ClassVar[int]
    CREDIT_ASSESSMENT_ID_FIELD_NUMBER: _ClassVar[int]
    CREDIT_LIMIT_FIELD_NUMBER: _ClassVar[int]
    MARGIN_AGREEMENT_VERSION_FIELD_NUMBER: _ClassVar[int]
    RISK_DISCLOSURE_VERSION_FIELD_NUMBER: _ClassVar[int]
    PROFESSIONAL_INVESTOR_FIELD_NUMBER: _ClassVar[int]
    RELATED_GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    client_id: str
    securities_margin_account_id: str
    credit_grade: str
    credit_assessment_id: str
    credit_limit: _common_pb2.Amount
    margin_agreement_version: str
    risk_disclosure_version: str
    professional_investor: bool
    related_group_id: str
    def __init__(self, request_id: _Optional[str] = ..., client_id: _Optional[str] = ..., securities_margin_account_id: _Optional[str] = ..., credit_grade: _Optional[str] = ..., credit_assessment_id: _Optional[str] = ..., credit_limit: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., margin_agreement_version: _Optional[str] = ..., risk_disclosure_version: _Optional[str] = ..., professional_investor: _Optional[bool] = ..., related_group_id: _Optional[str] = ...) -> None: ...

class OnboardClientResponse(_message.Message):
    __slots__ = ("result", "may_borrow", "borrowing_refusals", "fact_proposal_ids")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    MAY_BORROW_FIELD_NUMBER: _ClassVar[int]
    BORROWING_REFUSALS_FIELD_NUMBER: _ClassVar[int]
    FACT_PROPOSAL_IDS_FIELD_NUMBER: _ClassVar[int]
    result: _common_pb2.CommandResult
    may_borrow: bool
    borrowing_refusals: _containers.RepeatedScalarFieldContainer[str]
    fact_proposal_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, result: _Optional[_Union[_common_pb2.CommandResult, _Mapping]] = ..., may_borrow: _Optional[bool] = ..., borrowing_refusals: _Optional[_Iterable[str]] = ..., fact_proposal_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class DepositCashRequest(_message.Message):
    __slots__ = ("request_id", "client_id", "amount", "reference")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    client_id: str
    amount: _common_pb2.Amount
    reference: str
    def __init__(self, request_id: _Optional[str] = ..., client_id: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., reference: _Optional[str] = ...) -> None: ...

class DepositCashResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: _common_pb2.CommandResult
    def __init__(self, result: _Optional[_Union[_common_pb2.CommandResult, _Mapping]] = ...) -> None: ...

class WithdrawCashRequest(_message.Message):
    __slots__ = ("request_id", "client_id", "amount", "reference")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    client_id: str
    amount: _common_pb2.Amount
    reference: str
    def __init__(self, request_id: _Optional[str] = ..., client_id: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., reference: _Optional[str] = ...) -> None: ...

class WithdrawCashResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: _common_pb2.CommandResult
    def __init__(self, result: _Optional[_Union[_common_pb2.CommandResult, _Mapping]] = ...) -> None: ...

class DepositCollateralRequest(_message.Message):
    __slots__ = ("request_id", "client_id", "quantity", "reference")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    client_id: str
    quantity: _common_pb2.Amount
    reference: str
    def __init__(self, request_id: _Optional[str] = ..., client_id: _Optional[str] = ..., quantity: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., reference: _Optional[str] = ...) -> None: ...

class DepositCollateralResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: _common_pb2.CommandResult
    def __init__(self, result: _Optional[_Union[_common_pb2.CommandResult, _Mapping]] = ...) -> None: ...

class WithdrawCollateralRequest(_message.Message):
    __slots__ = ("request_id", "client_id", "quantity", "reference")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    client_id: str
    quantity: _common_pb2.Amount
    reference: str
    def __init__(self, request_id: _Optional[str] = ..., client_id: _Optional[str] = ..., quantity: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., reference: _Optional[str] = ...) -> None: ...

class WithdrawCollateralResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: _common_pb2.CommandResult
    def __init__(self, result: _Optional[_Union[_common_pb2.CommandResult, _Mapping]] = ...) -> None: ...

class SuspendAccountRequest(_message.Message):
    __slots__ = ("request_id", "client_id", "reason")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    client_id: str
    reason: str
    def __init__(self, request_id: _Optional[str] = ..., client_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class SuspendAccountResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: _common_pb2.CommandResult
    def __init__(self, result: _Optional[_Union[_common_pb2.CommandResult, _Mapping]] = ...) -> None: ...

class ResumeAccountRequest(_message.Message):
    __slots__ = ("request_id", "client_id", "reason")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    client_id: str
    reason: str
    def __init__(self, request_id: _Optional[str] = ..., client_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ResumeAccountResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: _common_pb2.CommandResult
    def __init__(self, result: _Optional[_Union[_common_pb2.CommandResult, _Mapping]] = ...) -> None: ...

class CloseAccountRequest(_message.Message):
    __slots__ = ("request_id", "client_id")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    client_id: str
    def __init__(self, request_id: _Optional[str] = ..., client_id: _Optional[str] = ...) -> None: ...

class CloseAccountResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: _common_pb2.CommandResult
    def __init__(self, result: _Optional[_Union[_common_pb2.CommandResult, _Mapping]] = ...) -> None: ...

class ProposeCorrectionRequest(_message.Message):
    __slots__ = ("request_id", "client_id", "correction_id", "original_version", "original_position", "reason")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    CORRECTION_ID_FIELD_NUMBER: _ClassVar[int]
    ORIGINAL_VERSION_FIELD_NUMBER: _ClassVar[int]
    ORIGINAL_POSITION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    client_id: str
    correction_id: str
    original_version: int
    original_position: int
    reason: str
    def __init__(self, request_id: _Optional[str] = ..., client_id: _Optional[str] = ..., correction_id: _Optional[str] = ..., original_version: _Optional[int] = ..., original_position: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class ProposeCorrectionResponse(_message.Message):
    __slots__ = ("result", "original_version")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    ORIGINAL_VERSION_FIELD_NUMBER: _ClassVar[int]
    result: _common_pb2.CommandResult
    original_version: int
    def __init__(self, result: _Optional[_Union[_common_pb2.CommandResult, _Mapping]] = ..., original_version: _Optional[int] = ...) -> None: ...

class ApproveCorrectionRequest(_message.Message):
    __slots__ = ("request_id", "client_id", "correction_id")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    CORRECTION_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    client_id: str
    correction_id: str
    def __init__(self, request_id: _Optional[str] = ..., client_id: _Optional[str] = ..., correction_id: _Optional[str] = ...) -> None: ...

class ApproveCorrectionResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: _common_pb2.CommandResult
    def __init__(self, result: _Optional[_Union[_common_pb2.CommandResult, _Mapping]] = ...) -> None: ...

class RejectCorrectionRequest(_message.Message):
    __slots__ = ("request_id", "client_id", "correction_id", "reason")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    CORRECTION_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    client_id: str
    correction_id: str
    reason: str
    def __init__(self, request_id: _Optional[str] = ..., client_id: _Optional[str] = ..., correction_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RejectCorrectionResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: _common_pb2.CommandResult
    def __init__(self, result: _Optional[_Union[_common_pb2.CommandResult, _Mapping]] = ...) -> None: ...

class GetAccountRequest(_message.Message):
    __slots__ = ("client_id", "min_position")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    MIN_POSITION_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    min_position: int
    def __init__(self, client_id: _Optional[str] = ..., min_position: _Optional[int] = ...) -> None: ...

class Account(_message.Message):
    __slots__ = ("client_id", "status", "risk_state", "suspended", "may_borrow", "borrowing_refusals", "credit_grade", "credit_limit", "cash", "collateral", "loan_principal", "accrued_interest", "version", "position")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    RISK_STATE_FIELD_NUMBER: _ClassVar[int]
    SUSPENDED_FIELD_NUMBER: _ClassVar[int]
    MAY_BORROW_FIELD_NUMBER: _ClassVar[int]
    BORROWING_REFUSALS_FIELD_NUMBER: _ClassVar[int]
    CREDIT_GRADE_FIELD_NUMBER: _ClassVar[int]
    CREDIT_LIMIT_FIELD_NUMBER: _ClassVar[int]
    CASH_FIELD_NUMBER: _ClassVar[int]
    COLLATERAL_FIELD_NUMBER: _ClassVar[int]
    LOAN_PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    ACCRUED_INTEREST_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    status: AccountStatus
    risk_state: RiskState
    suspended: bool
    may_borrow: bool
    borrowing_refusals: _containers.RepeatedScalarFieldContainer[str]
    credit_grade: str
    credit_limit: _common_pb2.Amount
    cash: _containers.RepeatedCompositeFieldContainer[_common_pb2.Amount]
    collateral: _containers.RepeatedCompositeFieldContainer[_common_pb2.Amount]
    loan_principal: _common_pb2.Amount
    accrued_interest: _common_pb2.Amount
    version: int
    position: int
    def __init__(self, client_id: _Optional[str] = ..., status: _Optional[_Union[AccountStatus, str]] = ..., risk_state: _Optional[_Union[RiskState, str]] = ..., suspended: _Optional[bool] = ..., may_borrow: _Optional[bool] = ..., borrowing_refusals: _Optional[_Iterable[str]] = ..., credit_grade: _Optional[str] = ..., credit_limit: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., cash: _Optional[_Iterable[_Union[_common_pb2.Amount, _Mapping]]] = ..., collateral: _Optional[_Iterable[_Union[_common_pb2.Amount, _Mapping]]] = ..., loan_principal: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., accrued_interest: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., version: _Optional[int] = ..., position: _Optional[int] = ...) -> None: ...

class GetAccountResponse(_message.Message):
    __slots__ = ("account",)
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    account: Account
    def __init__(self, account: _Optional[_Union[Account, _Mapping]] = ...) -> None: ...

class GetBalancesRequest(_message.Message):
    __slots__ = ("client_id", "at", "position")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    at: _timestamp_pb2.Timestamp
    position: int
    def __init__(self, client_id: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., position: _Optional[int] = ...) -> None: ...

class LedgerBalance(_message.Message):
    __slots__ = ("ledger_account", "balance")
    LEDGER_ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    ledger_account: str
    balance: _common_pb2.Amount
    def __init__(self, ledger_account: _Optional[str] = ..., balance: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ...) -> None: ...

class GetBalancesResponse(_message.Message):
    __slots__ = ("balances", "version")
    BALANCES_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    balances: _containers.RepeatedCompositeFieldContainer[LedgerBalance]
    version: int
    def __init__(self, balances: _Optional[_Iterable[_Union[LedgerBalance, _Mapping]]] = ..., version: _Optional[int] = ...) -> None: ...

class Posting(_message.Message):
    __slots__ = ("ledger_account", "amount")
    LEDGER_ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    ledger_account: str
    amount: _common_pb2.Amount
    def __init__(self, ledger_account: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ...) -> None: ...

class GetStatementRequest(_message.Message):
    __slots__ = ("client_id", "from_time", "to_time", "page")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_TIME_FIELD_NUMBER: _ClassVar[int]
    TO_TIME_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    from_time: _timestamp_pb2.Timestamp
    to_time: _timestamp_pb2.Timestamp
    page: _common_pb2.PageRequest
    def __init__(self, client_id: _Optional[str] = ..., from_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., to_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class StatementEntry(_message.Message):
    __slots__ = ("position", "version", "type", "recorded_at", "postings", "data_json")
    POSITION_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    RECORDED_AT_FIELD_NUMBER: _ClassVar[int]
    POSTINGS_FIELD_NUMBER: _ClassVar[int]
    DATA_JSON_FIELD_NUMBER: _ClassVar[int]
    position: int
    version: int
    type: str
    recorded_at: _timestamp_pb2.Timestamp
    postings: _containers.RepeatedCompositeFieldContainer[Posting]
    data_json: str
    def __init__(self, position: _Optional[int] = ..., version: _Optional[int] = ..., type: _Optional[str] = ..., recorded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., postings: _Optional[_Iterable[_Union[Posting, _Mapping]]] = ..., data_json: _Optional[str] = ...) -> None: ...

class GetStatementResponse(_message.Message):
    __slots__ = ("entries", "page")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[StatementEntry]
    page: _common_pb2.PageInfo
    def __init__(self, entries: _Optional[_Iterable[_Union[StatementEntry, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageInfo, _Mapping]] = ...) -> None: ...

class AccountsServiceSubscribeRequest(_message.Message):
    __slots__ = ("after", "max_events")
    AFTER_FIELD_NUMBER: _ClassVar[int]
    MAX_EVENTS_FIELD_NUMBER: _ClassVar[int]
    after: _common_pb2.FeedCheckpoint
    max_events: int
    def __init__(self, after: _Optional[_Union[_common_pb2.FeedCheckpoint, _Mapping]] = ..., max_events: _Optional[int] = ...) -> None: ...

class AccountsServiceSubscribeResponse(_message.Message):
    __slots__ = ("event", "checkpoint")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    event: _common_pb2.RecordedEvent
    checkpoint: _common_pb2.FeedCheckpoint
    def __init__(self, event: _Optional[_Union[_common_pb2.RecordedEvent, _Mapping]] = ..., checkpoint: _Optional[_Union[_common_pb2.FeedCheckpoint, _Mapping]] = ...) -> None: ...

class RecordCreditAssessmentRequest(_message.Message):
    __slots__ = ("request_id", "client_id", "assessment_id", "grade", "assessed_on", "expires_on")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    ASSESSMENT_ID_FIELD_NUMBER: _ClassVar[int]
    GRADE_FIELD_NUMBER: _ClassVar[int]
    ASSESSED_ON_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_ON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    client_id: str
    assessment_id: str
    grade: str
    assessed_on: str
    expires_on: str
    def __init__(self, request_id: _Optional[str] = ..., client_id: _Optional[str] = ..., assessment_id: _Optional[str] = ..., grade: _Optional[str] = ..., assessed_on: _Optional[str] = ..., expires_on: _Optional[str] = ...) -> None: ...

class RecordCreditAssessmentResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: _common_pb2.CommandResult
    def __init__(self, result: _Optional[_Union[_common_pb2.CommandResult, _Mapping]] = ...) -> None: ...

class SetCreditLimitRequest(_message.Message):
    __slots__ = ("request_id", "client_id", "limit")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    client_id: str
    limit: _common_pb2.Amount
    def __init__(self, request_id: _Optional[str] = ..., client_id: _Optional[str] = ..., limit: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ...) -> None: ...

class SetCreditLimitResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: _common_pb2.CommandResult
    def __init__(self, result: _Optional[_Union[_common_pb2.CommandResult, _Mapping]] = ...) -> None: ...

class SignMarginAgreementRequest(_message.Message):
    __slots__ = ("request_id", "client_id", "version", "signed_on")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SIGNED_ON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    client_id: str
    version: str
    signed_on: str
    def __init__(self, request_id: _Optional[str] = ..., client_id: _Optional[str] = ..., version: _Optional[str] = ..., signed_on: _Optional[str] = ...) -> None: ...

class SignMarginAgreementResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: _common_pb2.CommandResult
    def __init__(self, result: _Optional[_Union[_common_pb2.CommandResult, _Mapping]] = ...) -> None: ...

class AcknowledgeRiskDisclosureRequest(_message.Message):
    __slots__ = ("request_id", "client_id", "version", "acknowledged_on")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ACKNOWLEDGED_ON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    client_id: str
    version: str
    acknowledged_on: str
    def __init__(self, request_id: _Optional[str] = ..., client_id: _Optional[str] = ..., version: _Optional[str] = ..., acknowledged_on: _Optional[str] = ...) -> None: ...

class AcknowledgeRiskDisclosureResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: _common_pb2.CommandResult
    def __init__(self, result: _Optional[_Union[_common_pb2.CommandResult, _Mapping]] = ...) -> None: ...

class SetProfessionalInvestorStatusRequest(_message.Message):
    __slots__ = ("request_id", "client_id", "professional", "evidence", "expires_on")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    PROFESSIONAL_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_ON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    client_id: str
    professional: bool
    evidence: str
    expires_on: str
    def __init__(self, request_id: _Optional[str] = ..., client_id: _Optional[str] = ..., professional: _Optional[bool] = ..., evidence: _Optional[str] = ..., expires_on: _Optional[str] = ...) -> None: ...

class SetProfessionalInvestorStatusResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: _common_pb2.CommandResult
    def __init__(self, result: _Optional[_Union[_common_pb2.CommandResult, _Mapping]] = ...) -> None: ...

class CreditAssessmentFact(_message.Message):
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

class CreditLimitFact(_message.Message):
    __slots__ = ("limit",)
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    limit: _common_pb2.Amount
    def __init__(self, limit: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ...) -> None: ...

class ProfessionalInvestorStatusFact(_message.Message):
    __slots__ = ("professional", "evidence", "expires_on")
    PROFESSIONAL_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_ON_FIELD_NUMBER: _ClassVar[int]
    professional: bool
    evidence: str
    expires_on: str
    def __init__(self, professional: _Optional[bool] = ..., evidence: _Optional[str] = ..., expires_on: _Optional[str] = ...) -> None: ...

class ProposeClientFactRequest(_message.Message):
    __slots__ = ("request_id", "client_id", "proposal_id", "credit_assessment", "credit_limit", "professional_investor_status")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    PROPOSAL_ID_FIELD_NUMBER: _ClassVar[int]
    CREDIT_ASSESSMENT_FIELD_NUMBER: _ClassVar[int]
    CREDIT_LIMIT_FIELD_NUMBER: _ClassVar[int]
    PROFESSIONAL_INVESTOR_STATUS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    client_id: str
    proposal_id: str
    credit_assessment: CreditAssessmentFact
    credit_limit: CreditLimitFact
    professional_investor_status: ProfessionalInvestorStatusFact
    def __init__(self, request_id: _Optional[str] = ..., client_id: _Optional[str] = ..., proposal_id: _Optional[str] = ..., credit_assessment: _Optional[_Union[CreditAssessmentFact, _Mapping]] = ..., credit_limit: _Optional[_Union[CreditLimitFact, _Mapping]] = ..., professional_investor_status: _Optional[_Union[ProfessionalInvestorStatusFact, _Mapping]] = ...) -> None: ...

class ProposeClientFactResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: _common_pb2.CommandResult
    def __init__(self, result: _Optional[_Union[_common_pb2.CommandResult, _Mapping]] = ...) -> None: ...

class ApproveClientFactRequest(_message.Message):
    __slots__ = ("request_id", "client_id", "proposal_id")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    PROPOSAL_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    client_id: str
    proposal_id: str
    def __init__(self, request_id: _Optional[str] = ..., client_id: _Optional[str] = ..., proposal_id: _Optional[str] = ...) -> None: ...

class ApproveClientFactResponse(_message.Message):
    __slots__ = ("result", "may_borrow", "borrowing_refusals", "advances_suspended")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    MAY_BORROW_FIELD_NUMBER: _ClassVar[int]
    BORROWING_REFUSALS_FIELD_NUMBER: _ClassVar[int]
    ADVANCES_SUSPENDED_FIELD_NUMBER: _ClassVar[int]
    result: _common_pb2.CommandResult
    may_borrow: bool
    borrowing_refusals: _containers.RepeatedScalarFieldContainer[str]
    advances_suspended: bool
    def __init__(self, result: _Optional[_Union[_common_pb2.CommandResult, _Mapping]] = ..., may_borrow: _Optional[bool] = ..., borrowing_refusals: _Optional[_Iterable[str]] = ..., advances_suspended: _Optional[bool] = ...) -> None: ...

class RejectClientFactRequest(_message.Message):
    __slots__ = ("request_id", "client_id", "proposal_id", "reason")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    PROPOSAL_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    client_id: str
    proposal_id: str
    reason: str
    def __init__(self, request_id: _Optional[str] = ..., client_id: _Optional[str] = ..., proposal_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RejectClientFactResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: _common_pb2.CommandResult
    def __init__(self, result: _Optional[_Union[_common_pb2.CommandResult, _Mapping]] = ...) -> None: ...

class SetRelatedGroupRequest(_message.Message):
    __slots__ = ("request_id", "client_id", "group_id")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    client_id: str
    group_id: str
    def __init__(self, request_id: _Optional[str] = ..., client_id: _Optional[str] = ..., group_id: _Optional[str] = ...) -> None: ...

class SetRelatedGroupResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: _common_pb2.CommandResult
    def __init__(self, result: _Optional[_Union[_common_pb2.CommandResult, _Mapping]] = ...) -> None: ...

class LinkSecuritiesAccountRequest(_message.Message):
    __slots__ = ("request_id", "client_id", "securities_margin_account_id")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    SECURITIES_MARGIN_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    client_id: str
    securities_margin_account_id: str
    def __init__(self, request_id: _Optional[str] = ..., client_id: _Optional[str] = ..., securities_margin_account_id: _Optional[str] = ...) -> None: ...

class LinkSecuritiesAccountResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: _common_pb2.CommandResult
    def __init__(self, result: _Optional[_Union[_common_pb2.CommandResult, _Mapping]] = ...) -> None: ...

class UnlinkSecuritiesAccountRequest(_message.Message):
    __slots__ = ("request_id", "client_id")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    client_id: str
    def __init__(self, request_id: _Optional[str] = ..., client_id: _Optional[str] = ...) -> None: ...

class UnlinkSecuritiesAccountResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: _common_pb2.CommandResult
    def __init__(self, result: _Optional[_Union[_common_pb2.CommandResult, _Mapping]] = ...) -> None: ...

class GetEligibilityRequest(_message.Message):
    __slots__ = ("client_id", "as_of")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    as_of: _timestamp_pb2.Timestamp
    def __init__(self, client_id: _Optional[str] = ..., as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetEligibilityResponse(_message.Message):
    __slots__ = ("may_borrow", "borrowing_refusals", "professional_investor")
    MAY_BORROW_FIELD_NUMBER: _ClassVar[int]
    BORROWING_REFUSALS_FIELD_NUMBER: _ClassVar[int]
    PROFESSIONAL_INVESTOR_FIELD_NUMBER: _ClassVar[int]
    may_borrow: bool
    borrowing_refusals: _containers.RepeatedScalarFieldContainer[str]
    professional_investor: bool
    def __init__(self, may_borrow: _Optional[bool] = ..., borrowing_refusals: _Optional[_Iterable[str]] = ..., professional_investor: _Optional[bool] = ...) -> None: ...

class ReconcileStatementRequest(_message.Message):
    __slots__ = ("request_id", "run_id", "source", "statement", "file_name", "statement_at", "page_size")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    STATEMENT_FIELD_NUMBER: _ClassVar[int]
    FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    STATEMENT_AT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    run_id: str
    source: StatementSource
    statement: bytes
    file_name: str
    statement_at: _timestamp_pb2.Timestamp
    page_size: int
    def __init__(self, request_id: _Optional[str] = ..., run_id: _Optional[str] = ..., source: _Optional[_Union[StatementSource, str]] = ..., statement: _Optional[bytes] = ..., file_name: _Optional[str] = ..., statement_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page_size: _Optional[int] = ...) -> None: ...

class ReconciliationBreak(_message.Message):
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

class ReconciliationRun(_message.Message):
    __slots__ = ("run_id", "source", "statement_at", "file_sha256", "file_name", "run_at", "requested_by", "lines_read", "balances_compared", "balances_matched", "breaks_found", "breaks_recorded", "ledger_position")
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
    BREAKS_RECORDED_FIELD_NUMBER: _ClassVar[int]
    LEDGER_POSITION_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    source: StatementSource
    statement_at: _timestamp_pb2.Timestamp
    file_sha256: str
    file_name: str
    run_at: _timestamp_pb2.Timestamp
    requested_by: str
    lines_read: int
    balances_compared: int
    balances_matched: int
    breaks_found: int
    breaks_recorded: int
    ledger_position: int
    def __init__(self, run_id: _Optional[str] = ..., source: _Optional[_Union[StatementSource, str]] = ..., statement_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., file_sha256: _Optional[str] = ..., file_name: _Optional[str] = ..., run_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., requested_by: _Optional[str] = ..., lines_read: _Optional[int] = ..., balances_compared: _Optional[int] = ..., balances_matched: _Optional[int] = ..., breaks_found: _Optional[int] = ..., breaks_recorded: _Optional[int] = ..., ledger_position: _Optional[int] = ...) -> None: ...

class ReconcileStatementResponse(_message.Message):
    __slots__ = ("result", "run", "breaks", "page")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    RUN_FIELD_NUMBER: _ClassVar[int]
    BREAKS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    result: _common_pb2.CommandResult
    run: ReconciliationRun
    breaks: _containers.RepeatedCompositeFieldContainer[ReconciliationBreak]
    page: _common_pb2.PageInfo
    def __init__(self, result: _Optional[_Union[_common_pb2.CommandResult, _Mapping]] = ..., run: _Optional[_Union[ReconciliationRun, _Mapping]] = ..., breaks: _Optional[_Iterable[_Union[ReconciliationBreak, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageInfo, _Mapping]] = ...) -> None: ...

class GetReconciliationRunRequest(_message.Message):
    __slots__ = ("run_id", "page")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    page: _common_pb2.PageRequest
    def __init__(self, run_id: _Optional[str] = ..., page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class GetReconciliationRunResponse(_message.Message):
    __slots__ = ("run", "breaks", "page")
    RUN_FIELD_NUMBER: _ClassVar[int]
    BREAKS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    run: ReconciliationRun
    breaks: _containers.RepeatedCompositeFieldContainer[ReconciliationBreak]
    page: _common_pb2.PageInfo
    def __init__(self, run: _Optional[_Union[ReconciliationRun, _Mapping]] = ..., breaks: _Optional[_Iterable[_Union[ReconciliationBreak, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageInfo, _Mapping]] = ...) -> None: ...
