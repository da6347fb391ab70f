import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from harbour.api.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ApproveFacilityRequest(_message.Message):
    __slots__ = ("request_id", "client_id", "facility_id", "credit_limit", "annual_rate")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    FACILITY_ID_FIELD_NUMBER: _ClassVar[int]
    CREDIT_LIMIT_FIELD_NUMBER: _ClassVar[int]
    ANNUAL_RATE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    client_id: str
    facility_id: str
    credit_limit: _common_pb2.Amount
    annual_rate: str
    def __init__(self, request_id: _Optional[str] = ..., client_id: _Optional[str] = ..., facility_id: _Optional[str] = ..., credit_limit: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., annual_rate: _Optional[str] = ...) -> None: ...

class ApproveFacilityResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: _common_pb2.CommandResult
    def __init__(self, result: _Optional[_Union[_common_pb2.CommandResult, _Mapping]] = ...) -> None: ...

class DrawLoanRequest(_message.Message):
    __slots__ = ("request_id", "client_id", "amount")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    client_id: str
    amount: _common_pb2.Amount
    def __init__(self, request_id: _Optional[str] = ..., client_id: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ...) -> None: ...

class DrawLoanResponse(_message.Message):
    __slots__ = ("result", "utilisation_after", "policy_version")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    UTILISATION_AFTER_FIELD_NUMBER: _ClassVar[int]
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    result: _common_pb2.CommandResult
    utilisation_after: str
    policy_version: int
    def __init__(self, result: _Optional[_Union[_common_pb2.CommandResult, _Mapping]] = ..., utilisation_after: _Optional[str] = ..., policy_version: _Optional[int] = ...) -> None: ...

class RepayLoanRequest(_message.Message):
    __slots__ = ("request_id", "client_id", "amount")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    client_id: str
    amount: _common_pb2.Amount
    def __init__(self, request_id: _Optional[str] = ..., client_id: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ...) -> None: ...

class RepayLoanResponse(_message.Message):
    __slots__ = ("result", "interest_paid", "fees_paid", "principal_paid")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    INTEREST_PAID_FIELD_NUMBER: _ClassVar[int]
    FEES_PAID_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_PAID_FIELD_NUMBER: _ClassVar[int]
    result: _common_pb2.CommandResult
    interest_paid: _common_pb2.Amount
    fees_paid: _common_pb2.Amount
    principal_paid: _common_pb2.Amount
    def __init__(self, result: _Optional[_Union[_common_pb2.CommandResult, _Mapping]] = ..., interest_paid: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., fees_paid: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., principal_paid: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ...) -> None: ...

class AccrueInterestRequest(_message.Message):
    __slots__ = ("request_id", "client_id", "through")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    THROUGH_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    client_id: str
    through: str
    def __init__(self, request_id: _Optional[str] = ..., client_id: _Optional[str] = ..., through: _Optional[str] = ...) -> None: ...

class AccrueInterestResponse(_message.Message):
    __slots__ = ("accounts", "days_accrued", "capitalisations", "not_accrued", "not_accrued_count")
    ACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    DAYS_ACCRUED_FIELD_NUMBER: _ClassVar[int]
    CAPITALISATIONS_FIELD_NUMBER: _ClassVar[int]
    NOT_ACCRUED_FIELD_NUMBER: _ClassVar[int]
    NOT_ACCRUED_COUNT_FIELD_NUMBER: _ClassVar[int]
    accounts: int
    days_accrued: int
    capitalisations: int
    not_accrued: _containers.RepeatedScalarFieldContainer[str]
    not_accrued_count: int
    def __init__(self, accounts: _Optional[int] = ..., days_accrued: _Optional[int] = ..., capitalisations: _Optional[int] = ..., not_accrued: _Optional[_Iterable[str]] = ..., not_accrued_count: _Optional[int] = ...) -> None: ...

class CheckRiskRequest(_message.Message):
    __slots__ = ("request_id", "client_id")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    client_id: str
    def __init__(self, request_id: _Optional[str] = ..., client_id: _Optional[str] = ...) -> None: ...

class CheckRiskResponse(_message.Message):
    __slots__ = ("result", "events")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    result: _common_pb2.CommandResult
    events: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, result: _Optional[_Union[_common_pb2.CommandResult, _Mapping]] = ..., events: _Optional[_Iterable[str]] = ...) -> None: ...

class GetLoanRequest(_message.Message):
    __slots__ = ("client_id",)
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    def __init__(self, client_id: _Optional[str] = ...) -> None: ...

class GetLoanResponse(_message.Message):
    __slots__ = ("loan",)
    LOAN_FIELD_NUMBER: _ClassVar[int]
    loan: Loan
    def __init__(self, loan: _Optional[_Union[Loan, _Mapping]] = ...) -> None: ...

class Loan(_message.Message):
    __slots__ = ("client_id", "facility_id", "credit_limit", "annual_rate", "principal", "accrued_interest", "unpaid_fees", "last_accrual_date", "risk_state", "advances_suspended", "margin_call", "version")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    FACILITY_ID_FIELD_NUMBER: _ClassVar[int]
    CREDIT_LIMIT_FIELD_NUMBER: _ClassVar[int]
    ANNUAL_RATE_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    ACCRUED_INTEREST_FIELD_NUMBER: _ClassVar[int]
    UNPAID_FEES_FIELD_NUMBER: _ClassVar[int]
    LAST_ACCRUAL_DATE_FIELD_NUMBER: _ClassVar[int]
    RISK_STATE_FIELD_NUMBER: _ClassVar[int]
    ADVANCES_SUSPENDED_FIELD_NUMBER: _ClassVar[int]
    MARGIN_CALL_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    facility_id: str
    credit_limit: _common_pb2.Amount
    annual_rate: str
    principal: _common_pb2.Amount
    accrued_interest: _common_pb2.Amount
    unpaid_fees: _common_pb2.Amount
    last_accrual_date: str
    risk_state: str
    advances_suspended: bool
    margin_call: MarginCall
    version: int
    def __init__(self, client_id: _Optional[str] = ..., facility_id: _Optional[str] = ..., credit_limit: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., annual_rate: _Optional[str] = ..., principal: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., accrued_interest: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., unpaid_fees: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., last_accrual_date: _Optional[str] = ..., risk_state: _Optional[str] = ..., advances_suspended: _Optional[bool] = ..., margin_call: _Optional[_Union[MarginCall, _Mapping]] = ..., version: _Optional[int] = ...) -> None: ...

class MarginCall(_message.Message):
    __slots__ = ("call_id", "client_id", "amount", "deadline", "state", "issued_at")
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ISSUED_AT_FIELD_NUMBER: _ClassVar[int]
    call_id: str
    client_id: str
    amount: _common_pb2.Amount
    deadline: _timestamp_pb2.Timestamp
    state: str
    issued_at: _timestamp_pb2.Timestamp
    def __init__(self, call_id: _Optional[str] = ..., client_id: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., deadline: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., state: _Optional[str] = ..., issued_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListLoansRequest(_message.Message):
    __slots__ = ("page",)
    PAGE_FIELD_NUMBER: _ClassVar[int]
    page: _common_pb2.PageRequest
    def __init__(self, page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class ListLoansResponse(_message.Message):
    __slots__ = ("loans", "page")
    LOANS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    loans: _containers.RepeatedCompositeFieldContainer[Loan]
    page: _common_pb2.PageInfo
    def __init__(self, loans: _Optional[_Iterable[_Union[Loan, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageInfo, _Mapping]] = ...) -> None: ...

class ListMarginCallsRequest(_message.Message):
    __slots__ = ("open_only", "page")
    OPEN_ONLY_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    open_only: bool
    page: _common_pb2.PageRequest
    def __init__(self, open_only: _Optional[bool] = ..., page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class ListMarginCallsResponse(_message.Message):
    __slots__ = ("calls", "page")
    CALLS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    calls: _containers.RepeatedCompositeFieldContainer[MarginCall]
    page: _common_pb2.PageInfo
    def __init__(self, calls: _Optional[_Iterable[_Union[MarginCall, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageInfo, _Mapping]] = ...) -> None: ...

class GetBrokerExposureRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetBrokerExposureResponse(_message.Message):
    __slots__ = ("outstanding", "total", "total_limit", "single_client_limit", "largest_group", "largest_group_id", "policy_version")
    OUTSTANDING_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    TOTAL_LIMIT_FIELD_NUMBER: _ClassVar[int]
    SINGLE_CLIENT_LIMIT_FIELD_NUMBER: _ClassVar[int]
    LARGEST_GROUP_FIELD_NUMBER: _ClassVar[int]
    LARGEST_GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    outstanding: _containers.RepeatedCompositeFieldContainer[_common_pb2.Amount]
    total: _common_pb2.Amount
    total_limit: _common_pb2.Amount
    single_client_limit: _common_pb2.Amount
    largest_group: _common_pb2.Amount
    largest_group_id: str
    policy_version: int
    def __init__(self, outstanding: _Optional[_Iterable[_Union[_common_pb2.Amount, _Mapping]]] = ..., total: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., total_limit: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., single_client_limit: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., largest_group: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., largest_group_id: _Optional[str] = ..., policy_version: _Optional[int] = ...) -> None: ...

class GetLimitReportRequest(_message.Message):
    __slots__ = ("as_of",)
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    as_of: _timestamp_pb2.Timestamp
    def __init__(self, as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetLimitReportResponse(_message.Message):
    __slots__ = ("as_of", "policy_version", "limits")
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    as_of: _timestamp_pb2.Timestamp
    policy_version: int
    limits: _containers.RepeatedCompositeFieldContainer[LimitStatus]
    def __init__(self, as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., policy_version: _Optional[int] = ..., limits: _Optional[_Iterable[_Union[LimitStatus, _Mapping]]] = ...) -> None: ...

class LimitStatus(_message.Message):
    __slots__ = ("kind", "subject", "measured", "limit", "headroom", "breached")
    KIND_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    MEASURED_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    HEADROOM_FIELD_NUMBER: _ClassVar[int]
    BREACHED_FIELD_NUMBER: _ClassVar[int]
    kind: str
    subject: str
    measured: _common_pb2.Amount
    limit: _common_pb2.Amount
    headroom: _common_pb2.Amount
    breached: bool
    def __init__(self, kind: _Optional[str] = ..., subject: _Optional[str] = ..., measured: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., limit: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., headroom: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., breached: _Optional[bool] = ...) -> None: ...

class LendingServiceSubscribeRequest(_message.Message):
    __slots__ = ("after", "max_events")
    AFTER_FIELD_NUMBER: _ClassVar[int]
    MAX_EVENTS_FIELD_NUMBER: _ClassVar[int]
    after: _common_pb2.FeedCheckpoint
    max_events: int
    def __init__(self, after: _Optional[_Union[_common_pb2.FeedCheckpoint, _Mapping]] = ..., max_events: _Optional[int] = ...) -> None: ...

class LendingServiceSubscribeResponse(_message.Message):
    __slots__ = ("event", "checkpoint")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    event: _common_pb2.RecordedEvent
    checkpoint: _common_pb2.FeedCheckpoint
    def __init__(self, event: _Optional[_Union[_common_pb2.RecordedEvent, _Mapping]] = ..., checkpoint: _Optional[_Union[_common_pb2.FeedCheckpoint, _Mapping]] = ...) -> None: ...
