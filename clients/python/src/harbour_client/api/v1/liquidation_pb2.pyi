import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from harbour_client.api.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetLiquidationRequest(_message.Message):
    __slots__ = ("liquidation_id",)
    LIQUIDATION_ID_FIELD_NUMBER: _ClassVar[int]
    liquidation_id: str
    def __init__(self, liquidation_id: _Optional[str] = ...) -> None: ...

class GetLiquidationResponse(_message.Message):
    __slots__ = ("liquidation",)
    LIQUIDATION_FIELD_NUMBER: _ClassVar[int]
    liquidation: Liquidation
    def __init__(self, liquidation: _Optional[_Union[Liquidation, _Mapping]] = ...) -> None: ...

class Liquidation(_message.Message):
    __slots__ = ("liquidation_id", "client_id", "state", "trigger", "reason", "target_utilisation", "utilisation_at_start", "outcome", "pause_reason", "orders_open", "proceeds", "fees", "shortfall", "started_at", "ended_at", "fills")
    LIQUIDATION_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    TARGET_UTILISATION_FIELD_NUMBER: _ClassVar[int]
    UTILISATION_AT_START_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    PAUSE_REASON_FIELD_NUMBER: _ClassVar[int]
    ORDERS_OPEN_FIELD_NUMBER: _ClassVar[int]
    PROCEEDS_FIELD_NUMBER: _ClassVar[int]
    FEES_FIELD_NUMBER: _ClassVar[int]
    SHORTFALL_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    ENDED_AT_FIELD_NUMBER: _ClassVar[int]
    FILLS_FIELD_NUMBER: _ClassVar[int]
    liquidation_id: str
    client_id: str
    state: str
    trigger: str
    reason: str
    target_utilisation: str
    utilisation_at_start: str
    outcome: str
    pause_reason: str
    orders_open: int
    proceeds: _common_pb2.Amount
    fees: _common_pb2.Amount
    shortfall: _common_pb2.Amount
    started_at: _timestamp_pb2.Timestamp
    ended_at: _timestamp_pb2.Timestamp
    fills: _containers.RepeatedCompositeFieldContainer[LiquidationFill]
    def __init__(self, liquidation_id: _Optional[str] = ..., client_id: _Optional[str] = ..., state: _Optional[str] = ..., trigger: _Optional[str] = ..., reason: _Optional[str] = ..., target_utilisation: _Optional[str] = ..., utilisation_at_start: _Optional[str] = ..., outcome: _Optional[str] = ..., pause_reason: _Optional[str] = ..., orders_open: _Optional[int] = ..., proceeds: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., fees: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., shortfall: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ended_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., fills: _Optional[_Iterable[_Union[LiquidationFill, _Mapping]]] = ...) -> None: ...

class LiquidationFill(_message.Message):
    __slots__ = ("fill_id", "quantity", "price", "proceeds", "fee", "venue", "counterparty", "affiliated", "quote", "best_independent_quote", "executed_at")
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
    def __init__(self, fill_id: _Optional[str] = ..., quantity: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., price: _Optional[str] = ..., proceeds: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., fee: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., venue: _Optional[str] = ..., counterparty: _Optional[str] = ..., affiliated: _Optional[bool] = ..., quote: _Optional[str] = ..., best_independent_quote: _Optional[str] = ..., executed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListLiquidationsRequest(_message.Message):
    __slots__ = ("state", "client_id", "page")
    STATE_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    state: str
    client_id: str
    page: _common_pb2.PageRequest
    def __init__(self, state: _Optional[str] = ..., client_id: _Optional[str] = ..., page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class ListLiquidationsResponse(_message.Message):
    __slots__ = ("liquidations", "page")
    LIQUIDATIONS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    liquidations: _containers.RepeatedCompositeFieldContainer[Liquidation]
    page: _common_pb2.PageInfo
    def __init__(self, liquidations: _Optional[_Iterable[_Union[Liquidation, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageInfo, _Mapping]] = ...) -> None: ...

class StartLiquidationRequest(_message.Message):
    __slots__ = ("request_id", "client_id", "reason")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    client_id: str
    reason: str
    def __init__(self, request_id: _Optional[str] = ..., client_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class StartLiquidationResponse(_message.Message):
    __slots__ = ("result", "liquidation_id")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    LIQUIDATION_ID_FIELD_NUMBER: _ClassVar[int]
    result: _common_pb2.CommandResult
    liquidation_id: str
    def __init__(self, result: _Optional[_Union[_common_pb2.CommandResult, _Mapping]] = ..., liquidation_id: _Optional[str] = ...) -> None: ...

class ResumeLiquidationRequest(_message.Message):
    __slots__ = ("request_id", "client_id", "asset", "floor_price", "reason")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    ASSET_FIELD_NUMBER: _ClassVar[int]
    FLOOR_PRICE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    client_id: str
    asset: str
    floor_price: str
    reason: str
    def __init__(self, request_id: _Optional[str] = ..., client_id: _Optional[str] = ..., asset: _Optional[str] = ..., floor_price: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ResumeLiquidationResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: _common_pb2.CommandResult
    def __init__(self, result: _Optional[_Union[_common_pb2.CommandResult, _Mapping]] = ...) -> None: ...

class ListDeficitsRequest(_message.Message):
    __slots__ = ("state", "page")
    STATE_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    state: str
    page: _common_pb2.PageRequest
    def __init__(self, state: _Optional[str] = ..., page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class ListDeficitsResponse(_message.Message):
    __slots__ = ("deficits", "page")
    DEFICITS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    deficits: _containers.RepeatedCompositeFieldContainer[Deficit]
    page: _common_pb2.PageInfo
    def __init__(self, deficits: _Optional[_Iterable[_Union[Deficit, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageInfo, _Mapping]] = ...) -> None: ...

class Deficit(_message.Message):
    __slots__ = ("client_id", "liquidation_id", "recognised", "recovered", "written_off", "outstanding", "state", "pending_proposals")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    LIQUIDATION_ID_FIELD_NUMBER: _ClassVar[int]
    RECOGNISED_FIELD_NUMBER: _ClassVar[int]
    RECOVERED_FIELD_NUMBER: _ClassVar[int]
    WRITTEN_OFF_FIELD_NUMBER: _ClassVar[int]
    OUTSTANDING_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PENDING_PROPOSALS_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    liquidation_id: str
    recognised: _common_pb2.Amount
    recovered: _common_pb2.Amount
    written_off: _common_pb2.Amount
    outstanding: _common_pb2.Amount
    state: str
    pending_proposals: int
    def __init__(self, client_id: _Optional[str] = ..., liquidation_id: _Optional[str] = ..., recognised: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., recovered: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., written_off: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., outstanding: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., state: _Optional[str] = ..., pending_proposals: _Optional[int] = ...) -> None: ...

class ProposeDeficitSettlementRequest(_message.Message):
    __slots__ = ("request_id", "client_id", "proposal_id", "kind", "amount", "source", "reference")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    PROPOSAL_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    client_id: str
    proposal_id: str
    kind: str
    amount: _common_pb2.Amount
    source: str
    reference: str
    def __init__(self, request_id: _Optional[str] = ..., client_id: _Optional[str] = ..., proposal_id: _Optional[str] = ..., kind: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Amount, _Mapping]] = ..., source: _Optional[str] = ..., reference: _Optional[str] = ...) -> None: ...

class ProposeDeficitSettlementResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: _common_pb2.CommandResult
    def __init__(self, result: _Optional[_Union[_common_pb2.CommandResult, _Mapping]] = ...) -> None: ...

class ApproveDeficitSettlementRequest(_message.Message):
    __slots__ = ("request_id", "client_id", "proposal_id")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    PROPOSAL_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    client_id: str
    proposal_id: str
    def __init__(self, request_id: _Optional[str] = ..., client_id: _Optional[str] = ..., proposal_id: _Optional[str] = ...) -> None: ...

class ApproveDeficitSettlementResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: _common_pb2.CommandResult
    def __init__(self, result: _Optional[_Union[_common_pb2.CommandResult, _Mapping]] = ...) -> None: ...

class RejectDeficitSettlementRequest(_message.Message):
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

class RejectDeficitSettlementResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: _common_pb2.CommandResult
    def __init__(self, result: _Optional[_Union[_common_pb2.CommandResult, _Mapping]] = ...) -> None: ...

class SubscribeLiquidationEventsRequest(_message.Message):
    __slots__ = ("client_id", "after_position", "max_events", "idle_seconds")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_POSITION_FIELD_NUMBER: _ClassVar[int]
    MAX_EVENTS_FIELD_NUMBER: _ClassVar[int]
    IDLE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    after_position: int
    max_events: int
    idle_seconds: int
    def __init__(self, client_id: _Optional[str] = ..., after_position: _Optional[int] = ..., max_events: _Optional[int] = ..., idle_seconds: _Optional[int] = ...) -> None: ...

class SubscribeLiquidationEventsResponse(_message.Message):
    __slots__ = ("event",)
    EVENT_FIELD_NUMBER: _ClassVar[int]
    event: _common_pb2.RecordedEvent
    def __init__(self, event: _Optional[_Union[_common_pb2.RecordedEvent, _Mapping]] = ...) -> None: ...
