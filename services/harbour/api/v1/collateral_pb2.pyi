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

class ImpliedState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    IMPLIED_STATE_UNSPECIFIED: _ClassVar[ImpliedState]
    IMPLIED_STATE_HEALTHY: _ClassVar[ImpliedState]
    IMPLIED_STATE_WARNING: _ClassVar[ImpliedState]
    IMPLIED_STATE_MARGIN_CALL: _ClassVar[ImpliedState]
    IMPLIED_STATE_FORCED_SALE: _ClassVar[ImpliedState]
IMPLIED_STATE_UNSPECIFIED: ImpliedState
IMPLIED_STATE_HEALTHY: ImpliedState
IMPLIED_STATE_WARNING: ImpliedState
IMPLIED_STATE_MARGIN_CALL: ImpliedState
IMPLIED_STATE_FORCED_SALE: ImpliedState

class StressShock(_message.Message):
    __slots__ = ("asset", "change")
    ASSET_FIELD_NUMBER: _ClassVar[int]
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    asset: str
    change: str
    def __init__(self, asset: _Optional[str] = ..., change: _Optional[str] = ...) -> None: ...

class RunStressTestRequest(_message.Message):
    __slots__ = ("request_id", "run_id", "scenario", "shocks", "securities_shock", "worst_accounts", "page_size")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    SCENARIO_FIELD_NUMBER: _ClassVar[int]
    SHOCKS_FIELD_NUMBER: _ClassVar[int]
    SECURITIES_SHOCK_FIELD_NUMBER: _ClassVar[int]
    WORST_ACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    run_id: str
    scenario: str
    shocks: _containers.RepeatedCompositeFieldContainer[StressShock]
    securities_shock: str
    worst_accounts: int
    page_size: int
    def __init__(self, request_id: _Optional[str] = ..., run_id: _Optional[str] = ..., scenario: _Optional[str] = ..., shocks: _Optional[_Iterable[_Union[StressShock, _Mapping]]] = ..., securities_shock: _Optional[str] = ..., worst_accounts: _Optional[int] = ..., page_size: _Optional[int] = ...) -> None: ...

class StressedAccount(_message.Message):
    __slots__ = ("client_id", "utilisation", "debt", "shortfall", "implied_state")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    UTILISATION_FIELD_NUMBER: _ClassVar[int]
    DEBT_FIELD_NUMBER: _ClassVar[int]
    SHORTFALL_FIELD_NUMBER: _ClassVar[int]
    IMPLIED_STATE_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    utilisation: str
    debt: _common_pb2.Amount
    shortfall: _common_pb2.Amount
    implied_state: ImpliedState
    def __init__(self, client_id: _Optional[str] = ..., utilisation: _Optional[str] = ..., debt: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., shortfall: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., implied_state: _Optional[_Union[ImpliedState, str]] = ...) -> None: ...

class RunStressTestResponse(_message.Message):
    __slots__ = ("result", "policy_version", "accounts_tested", "accounts_warned", "accounts_called", "accounts_liquidated", "accounts_short", "expected_shortfall", "worst_accounts", "shocked_prices", "accounts_valued_exactly", "book_position", "run_id", "scenario", "accounts_listed", "accounts_not_listed", "accounts", "page")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    ACCOUNTS_TESTED_FIELD_NUMBER: _ClassVar[int]
    ACCOUNTS_WARNED_FIELD_NUMBER: _ClassVar[int]
    ACCOUNTS_CALLED_FIELD_NUMBER: _ClassVar[int]
    ACCOUNTS_LIQUIDATED_FIELD_NUMBER: _ClassVar[int]
    ACCOUNTS_SHORT_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_SHORTFALL_FIELD_NUMBER: _ClassVar[int]
    WORST_ACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    SHOCKED_PRICES_FIELD_NUMBER: _ClassVar[int]
    ACCOUNTS_VALUED_EXACTLY_FIELD_NUMBER: _ClassVar[int]
    BOOK_POSITION_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    SCENARIO_FIELD_NUMBER: _ClassVar[int]
    ACCOUNTS_LISTED_FIELD_NUMBER: _ClassVar[int]
    ACCOUNTS_NOT_LISTED_FIELD_NUMBER: _ClassVar[int]
    ACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    result: _common_pb2.CommandResult
    policy_version: int
    accounts_tested: int
    accounts_warned: int
    accounts_called: int
    accounts_liquidated: int
    accounts_short: int
    expected_shortfall: _common_pb2.Amount
    worst_accounts: _containers.RepeatedCompositeFieldContainer[StressedAccount]
    shocked_prices: _containers.RepeatedCompositeFieldContainer[_common_pb2.Price]
    accounts_valued_exactly: int
    book_position: int
    run_id: str
    scenario: str
    accounts_listed: int
    accounts_not_listed: int
    accounts: _containers.RepeatedCompositeFieldContainer[StressedAccount]
    page: _common_pb2.PageInfo
    def __init__(self, result: _Optional[_Union[_common_pb2.CommandResult, _Mapping]] = ..., policy_version: _Optional[int] = ..., accounts_tested: _Optional[int] = ..., accounts_warned: _Optional[int] = ..., accounts_called: _Optional[int] = ..., accounts_liquidated: _Optional[int] = ..., accounts_short: _Optional[int] = ..., expected_shortfall: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., worst_accounts: _Optional[_Iterable[_Union[StressedAccount, _Mapping]]] = ..., shocked_prices: _Optional[_Iterable[_Union[_common_pb2.Price, _Mapping]]] = ..., accounts_valued_exactly: _Optional[int] = ..., book_position: _Optional[int] = ..., run_id: _Optional[str] = ..., scenario: _Optional[str] = ..., accounts_listed: _Optional[int] = ..., accounts_not_listed: _Optional[int] = ..., accounts: _Optional[_Iterable[_Union[StressedAccount, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageInfo, _Mapping]] = ...) -> None: ...

class GetStressTestRunRequest(_message.Message):
    __slots__ = ("run_id", "page")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    page: _common_pb2.PageRequest
    def __init__(self, run_id: _Optional[str] = ..., page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class GetStressTestRunResponse(_message.Message):
    __slots__ = ("run",)
    RUN_FIELD_NUMBER: _ClassVar[int]
    run: RunStressTestResponse
    def __init__(self, run: _Optional[_Union[RunStressTestResponse, _Mapping]] = ...) -> None: ...

class RecordPriceRequest(_message.Message):
    __slots__ = ("request_id", "price", "observed_at", "source")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_AT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    price: _common_pb2.Price
    observed_at: _timestamp_pb2.Timestamp
    source: str
    def __init__(self, request_id: _Optional[str] = ..., price: _Optional[_Union[_common_pb2.Price, _Mapping]] = ..., observed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., source: _Optional[str] = ...) -> None: ...

class RecordPriceResponse(_message.Message):
    __slots__ = ("result", "accepted", "rejection_reason")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    REJECTION_REASON_FIELD_NUMBER: _ClassVar[int]
    result: _common_pb2.CommandResult
    accepted: bool
    rejection_reason: str
    def __init__(self, result: _Optional[_Union[_common_pb2.CommandResult, _Mapping]] = ..., accepted: _Optional[bool] = ..., rejection_reason: _Optional[str] = ...) -> None: ...

class StreamPricesRequest(_message.Message):
    __slots__ = ("observation",)
    OBSERVATION_FIELD_NUMBER: _ClassVar[int]
    observation: RecordPriceRequest
    def __init__(self, observation: _Optional[_Union[RecordPriceRequest, _Mapping]] = ...) -> None: ...

class StreamPricesResponse(_message.Message):
    __slots__ = ("accepted", "rejected", "rejections", "position")
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    REJECTIONS_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    accepted: int
    rejected: int
    rejections: _containers.RepeatedCompositeFieldContainer[PriceRejection]
    position: int
    def __init__(self, accepted: _Optional[int] = ..., rejected: _Optional[int] = ..., rejections: _Optional[_Iterable[_Union[PriceRejection, _Mapping]]] = ..., position: _Optional[int] = ...) -> None: ...

class PriceRejection(_message.Message):
    __slots__ = ("request_id", "reason")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    reason: str
    def __init__(self, request_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class GetPriceRequest(_message.Message):
    __slots__ = ("asset", "at")
    ASSET_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    asset: str
    at: _timestamp_pb2.Timestamp
    def __init__(self, asset: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetPriceResponse(_message.Message):
    __slots__ = ("price", "observed_at", "source", "stale", "position")
    PRICE_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_AT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    STALE_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    price: _common_pb2.Price
    observed_at: _timestamp_pb2.Timestamp
    source: str
    stale: bool
    position: int
    def __init__(self, price: _Optional[_Union[_common_pb2.Price, _Mapping]] = ..., observed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., source: _Optional[str] = ..., stale: _Optional[bool] = ..., position: _Optional[int] = ...) -> None: ...

class PolicyParameter(_message.Message):
    __slots__ = ("name", "value")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: str
    def __init__(self, name: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class ProposePolicyChangeRequest(_message.Message):
    __slots__ = ("request_id", "proposal_id", "parameters", "effective_from")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PROPOSAL_ID_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_FROM_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    proposal_id: str
    parameters: _containers.RepeatedCompositeFieldContainer[PolicyParameter]
    effective_from: _timestamp_pb2.Timestamp
    def __init__(self, request_id: _Optional[str] = ..., proposal_id: _Optional[str] = ..., parameters: _Optional[_Iterable[_Union[PolicyParameter, _Mapping]]] = ..., effective_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ProposePolicyChangeResponse(_message.Message):
    __slots__ = ("result", "base_version")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    BASE_VERSION_FIELD_NUMBER: _ClassVar[int]
    result: _common_pb2.CommandResult
    base_version: int
    def __init__(self, result: _Optional[_Union[_common_pb2.CommandResult, _Mapping]] = ..., base_version: _Optional[int] = ...) -> None: ...

class ApprovePolicyChangeRequest(_message.Message):
    __slots__ = ("request_id", "proposal_id")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PROPOSAL_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    proposal_id: str
    def __init__(self, request_id: _Optional[str] = ..., proposal_id: _Optional[str] = ...) -> None: ...

class ApprovePolicyChangeResponse(_message.Message):
    __slots__ = ("result", "policy_version")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    result: _common_pb2.CommandResult
    policy_version: int
    def __init__(self, result: _Optional[_Union[_common_pb2.CommandResult, _Mapping]] = ..., policy_version: _Optional[int] = ...) -> None: ...

class RejectPolicyChangeRequest(_message.Message):
    __slots__ = ("request_id", "proposal_id", "reason")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PROPOSAL_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    proposal_id: str
    reason: str
    def __init__(self, request_id: _Optional[str] = ..., proposal_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RejectPolicyChangeResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: _common_pb2.CommandResult
    def __init__(self, result: _Optional[_Union[_common_pb2.CommandResult, _Mapping]] = ...) -> None: ...

class GetPolicyRequest(_message.Message):
    __slots__ = ("at", "version")
    AT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    at: _timestamp_pb2.Timestamp
    version: int
    def __init__(self, at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., version: _Optional[int] = ...) -> None: ...

class GetPolicyResponse(_message.Message):
    __slots__ = ("policy",)
    POLICY_FIELD_NUMBER: _ClassVar[int]
    policy: Policy
    def __init__(self, policy: _Optional[_Union[Policy, _Mapping]] = ...) -> None: ...

class Policy(_message.Message):
    __slots__ = ("version", "effective_from", "parameters", "proposal_id", "proposed_by", "approved_by")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_FROM_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    PROPOSAL_ID_FIELD_NUMBER: _ClassVar[int]
    PROPOSED_BY_FIELD_NUMBER: _ClassVar[int]
    APPROVED_BY_FIELD_NUMBER: _ClassVar[int]
    version: int
    effective_from: _timestamp_pb2.Timestamp
    parameters: _containers.RepeatedCompositeFieldContainer[PolicyParameter]
    proposal_id: str
    proposed_by: str
    approved_by: str
    def __init__(self, version: _Optional[int] = ..., effective_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., parameters: _Optional[_Iterable[_Union[PolicyParameter, _Mapping]]] = ..., proposal_id: _Optional[str] = ..., proposed_by: _Optional[str] = ..., approved_by: _Optional[str] = ...) -> None: ...

class ListPolicyVersionsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListPolicyVersionsResponse(_message.Message):
    __slots__ = ("versions", "proposals")
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    PROPOSALS_FIELD_NUMBER: _ClassVar[int]
    versions: _containers.RepeatedCompositeFieldContainer[Policy]
    proposals: _containers.RepeatedCompositeFieldContainer[PolicyProposal]
    def __init__(self, versions: _Optional[_Iterable[_Union[Policy, _Mapping]]] = ..., proposals: _Optional[_Iterable[_Union[PolicyProposal, _Mapping]]] = ...) -> None: ...

class PolicyProposal(_message.Message):
    __slots__ = ("proposal_id", "state", "base_version", "parameters", "effective_from", "proposed_by")
    PROPOSAL_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    BASE_VERSION_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_FROM_FIELD_NUMBER: _ClassVar[int]
    PROPOSED_BY_FIELD_NUMBER: _ClassVar[int]
    proposal_id: str
    state: str
    base_version: int
    parameters: _containers.RepeatedCompositeFieldContainer[PolicyParameter]
    effective_from: _timestamp_pb2.Timestamp
    proposed_by: str
    def __init__(self, proposal_id: _Optional[str] = ..., state: _Optional[str] = ..., base_version: _Optional[int] = ..., parameters: _Optional[_Iterable[_Union[PolicyParameter, _Mapping]]] = ..., effective_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., proposed_by: _Optional[str] = ...) -> None: ...

class ValueAccountRequest(_message.Message):
    __slots__ = ("client_id",)
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    def __init__(self, client_id: _Optional[str] = ...) -> None: ...

class ValueAccountResponse(_message.Message):
    __slots__ = ("valuation",)
    VALUATION_FIELD_NUMBER: _ClassVar[int]
    valuation: AccountValuation
    def __init__(self, valuation: _Optional[_Union[AccountValuation, _Mapping]] = ...) -> None: ...

class ValueAccountsRequest(_message.Message):
    __slots__ = ("client_ids",)
    CLIENT_IDS_FIELD_NUMBER: _ClassVar[int]
    client_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, client_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class ValueAccountsResponse(_message.Message):
    __slots__ = ("valuations", "position")
    VALUATIONS_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    valuations: _containers.RepeatedCompositeFieldContainer[AccountValuation]
    position: int
    def __init__(self, valuations: _Optional[_Iterable[_Union[AccountValuation, _Mapping]]] = ..., position: _Optional[int] = ...) -> None: ...

class AssetValuation(_message.Message):
    __slots__ = ("quantity", "price", "observed_at", "haircut", "market_value", "marginable_value", "virtual_asset", "stale")
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_AT_FIELD_NUMBER: _ClassVar[int]
    HAIRCUT_FIELD_NUMBER: _ClassVar[int]
    MARKET_VALUE_FIELD_NUMBER: _ClassVar[int]
    MARGINABLE_VALUE_FIELD_NUMBER: _ClassVar[int]
    VIRTUAL_ASSET_FIELD_NUMBER: _ClassVar[int]
    STALE_FIELD_NUMBER: _ClassVar[int]
    quantity: _common_pb2.Amount
    price: str
    observed_at: _timestamp_pb2.Timestamp
    haircut: str
    market_value: _common_pb2.Amount
    marginable_value: _common_pb2.Amount
    virtual_asset: bool
    stale: bool
    def __init__(self, quantity: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., price: _Optional[str] = ..., observed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., haircut: _Optional[str] = ..., market_value: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., marginable_value: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., virtual_asset: _Optional[bool] = ..., stale: _Optional[bool] = ...) -> None: ...

class AccountValuation(_message.Message):
    __slots__ = ("client_id", "policy_version", "assets", "market_value", "virtual_marginable_value", "other_marginable_value", "virtual_cap_allowance", "virtual_cap_effect", "marginable_value", "debt", "utilisation", "loan_to_value", "margin_level", "implied_state", "call_amount", "advance_headroom", "stale_assets", "unpriced_assets", "prices", "account_version", "valued_at")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    ASSETS_FIELD_NUMBER: _ClassVar[int]
    MARKET_VALUE_FIELD_NUMBER: _ClassVar[int]
    VIRTUAL_MARGINABLE_VALUE_FIELD_NUMBER: _ClassVar[int]
    OTHER_MARGINABLE_VALUE_FIELD_NUMBER: _ClassVar[int]
    VIRTUAL_CAP_ALLOWANCE_FIELD_NUMBER: _ClassVar[int]
    VIRTUAL_CAP_EFFECT_FIELD_NUMBER: _ClassVar[int]
    MARGINABLE_VALUE_FIELD_NUMBER: _ClassVar[int]
    DEBT_FIELD_NUMBER: _ClassVar[int]
    UTILISATION_FIELD_NUMBER: _ClassVar[int]
    LOAN_TO_VALUE_FIELD_NUMBER: _ClassVar[int]
    MARGIN_LEVEL_FIELD_NUMBER: _ClassVar[int]
    IMPLIED_STATE_FIELD_NUMBER: _ClassVar[int]
    CALL_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    ADVANCE_HEADROOM_FIELD_NUMBER: _ClassVar[int]
    STALE_ASSETS_FIELD_NUMBER: _ClassVar[int]
    UNPRICED_ASSETS_FIELD_NUMBER: _ClassVar[int]
    PRICES_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_VERSION_FIELD_NUMBER: _ClassVar[int]
    VALUED_AT_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    policy_version: int
    assets: _containers.RepeatedCompositeFieldContainer[AssetValuation]
    market_value: _common_pb2.Amount
    virtual_marginable_value: _common_pb2.Amount
    other_marginable_value: _common_pb2.Amount
    virtual_cap_allowance: _common_pb2.Amount
    virtual_cap_effect: _common_pb2.Amount
    marginable_value: _common_pb2.Amount
    debt: _common_pb2.Amount
    utilisation: str
    loan_to_value: str
    margin_level: str
    implied_state: ImpliedState
    call_amount: _common_pb2.Amount
    advance_headroom: _common_pb2.Amount
    stale_assets: _containers.RepeatedScalarFieldContainer[str]
    unpriced_assets: _containers.RepeatedScalarFieldContainer[str]
    prices: _containers.RepeatedCompositeFieldContainer[PriceUsed]
    account_version: int
    valued_at: _timestamp_pb2.Timestamp
    def __init__(self, client_id: _Optional[str] = ..., policy_version: _Optional[int] = ..., assets: _Optional[_Iterable[_Union[AssetValuation, _Mapping]]] = ..., market_value: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., virtual_marginable_value: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., other_marginable_value: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., virtual_cap_allowance: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., virtual_cap_effect: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., marginable_value: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., debt: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., utilisation: _Optional[str] = ..., loan_to_value: _Optional[str] = ..., margin_level: _Optional[str] = ..., implied_state: _Optional[_Union[ImpliedState, str]] = ..., call_amount: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., advance_headroom: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., stale_assets: _Optional[_Iterable[str]] = ..., unpriced_assets: _Optional[_Iterable[str]] = ..., prices: _Optional[_Iterable[_Union[PriceUsed, _Mapping]]] = ..., account_version: _Optional[int] = ..., valued_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PriceUsed(_message.Message):
    __slots__ = ("price", "observed_at", "source")
    PRICE_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_AT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    price: _common_pb2.Price
    observed_at: _timestamp_pb2.Timestamp
    source: str
    def __init__(self, price: _Optional[_Union[_common_pb2.Price, _Mapping]] = ..., observed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., source: _Optional[str] = ...) -> None: ...

class CollateralServiceSubscribeRequest(_message.Message):
    __slots__ = ("after", "max_events")
    AFTER_FIELD_NUMBER: _ClassVar[int]
    MAX_EVENTS_FIELD_NUMBER: _ClassVar[int]
    after: _common_pb2.FeedCheckpoint
    max_events: int
    def __init__(self, after: _Optional[_Union[_common_pb2.FeedCheckpoint, _Mapping]] = ..., max_events: _Optional[int] = ...) -> None: ...

class CollateralServiceSubscribeResponse(_message.Message):
    __slots__ = ("event", "checkpoint")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    event: _common_pb2.RecordedEvent
    checkpoint: _common_pb2.FeedCheckpoint
    def __init__(self, event: _Optional[_Union[_common_pb2.RecordedEvent, _Mapping]] = ..., checkpoint: _Optional[_Union[_common_pb2.FeedCheckpoint, _Mapping]] = ...) -> None: ...

class RecordMarketClosureRequest(_message.Message):
    __slots__ = ("request_id", "market", "closed_on", "reason", "sessions")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    MARKET_FIELD_NUMBER: _ClassVar[int]
    CLOSED_ON_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    market: str
    closed_on: str
    reason: str
    sessions: str
    def __init__(self, request_id: _Optional[str] = ..., market: _Optional[str] = ..., closed_on: _Optional[str] = ..., reason: _Optional[str] = ..., sessions: _Optional[str] = ...) -> None: ...

class RecordMarketClosureResponse(_message.Message):
    __slots__ = ("result", "recorded")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    RECORDED_FIELD_NUMBER: _ClassVar[int]
    result: _common_pb2.CommandResult
    recorded: bool
    def __init__(self, result: _Optional[_Union[_common_pb2.CommandResult, _Mapping]] = ..., recorded: _Optional[bool] = ...) -> None: ...

class GetMarketCalendarRequest(_message.Message):
    __slots__ = ("market", "from_date", "to_date")
    MARKET_FIELD_NUMBER: _ClassVar[int]
    FROM_DATE_FIELD_NUMBER: _ClassVar[int]
    TO_DATE_FIELD_NUMBER: _ClassVar[int]
    market: str
    from_date: str
    to_date: str
    def __init__(self, market: _Optional[str] = ..., from_date: _Optional[str] = ..., to_date: _Optional[str] = ...) -> None: ...

class GetMarketCalendarResponse(_message.Message):
    __slots__ = ("market", "days", "closures")
    MARKET_FIELD_NUMBER: _ClassVar[int]
    DAYS_FIELD_NUMBER: _ClassVar[int]
    CLOSURES_FIELD_NUMBER: _ClassVar[int]
    market: str
    days: _containers.RepeatedCompositeFieldContainer[MarketDay]
    closures: _containers.RepeatedCompositeFieldContainer[MarketClosure]
    def __init__(self, market: _Optional[str] = ..., days: _Optional[_Iterable[_Union[MarketDay, _Mapping]]] = ..., closures: _Optional[_Iterable[_Union[MarketClosure, _Mapping]]] = ...) -> None: ...

class MarketDay(_message.Message):
    __slots__ = ("date", "business_day", "holiday", "half_day", "sessions", "holidays_known")
    DATE_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_DAY_FIELD_NUMBER: _ClassVar[int]
    HOLIDAY_FIELD_NUMBER: _ClassVar[int]
    HALF_DAY_FIELD_NUMBER: _ClassVar[int]
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    HOLIDAYS_KNOWN_FIELD_NUMBER: _ClassVar[int]
    date: str
    business_day: bool
    holiday: str
    half_day: str
    sessions: _containers.RepeatedCompositeFieldContainer[MarketSession]
    holidays_known: bool
    def __init__(self, date: _Optional[str] = ..., business_day: _Optional[bool] = ..., holiday: _Optional[str] = ..., half_day: _Optional[str] = ..., sessions: _Optional[_Iterable[_Union[MarketSession, _Mapping]]] = ..., holidays_known: _Optional[bool] = ...) -> None: ...

class MarketSession(_message.Message):
    __slots__ = ("name", "opens", "closes")
    NAME_FIELD_NUMBER: _ClassVar[int]
    OPENS_FIELD_NUMBER: _ClassVar[int]
    CLOSES_FIELD_NUMBER: _ClassVar[int]
    name: str
    opens: _timestamp_pb2.Timestamp
    closes: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., opens: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., closes: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class MarketClosure(_message.Message):
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
