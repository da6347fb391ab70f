"""The collateral gRPC servicer: proto <-> command and valuation <-> proto, nothing else."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import grpc
import sqlalchemy as sa

from harbour.api.v1 import collateral_pb2, collateral_pb2_grpc, common_pb2
from harbour.application import wire
from harbour.application.caller import current, require_role
from harbour.application.market import policy_history
from harbour.collateral import domain
from harbour.collateral.handlers import CollateralHandlers
from harbour.collateral.schema import latest_prices, price_observations
from harbour.collateral.stress import Cursor, RunStressTest, StressTests
from harbour.eventstore.errors import InvalidAppend
from harbour.eventstore.store import EventStore
from harbour.ledger import events as ev
from harbour.ledger import stress
from harbour.ledger.assets import REPORTING_CURRENCY, asset
from harbour.ledger.calendar import MARKETS, Closure, MarketCalendar
from harbour.ledger.errors import InvalidArgument, NotFound, PriceUnavailable
from harbour.ledger.ids import check_id, client_id
from harbour.ledger.money import format_decimal, parse_decimal, parse_price
from harbour.ledger.policy import CollateralPolicy, PolicyHistory, Proposal
from harbour.ledger.valuation import ImpliedState, Valuation

Context = grpc.aio.ServicerContext[Any, Any]
FEEDS = ("price-feed",)
POLICY_ADMINS = ("policy-admin",)
READERS = ("risk", "trading-platform", "operator", "auditor", "policy-admin")
CALENDAR_KEEPERS = ("operator", "risk")
STRESS_TESTERS = ("risk",)
# A run names every client it moves out of healthy: not for a trading platform.
STRESS_READERS = ("risk", "operator", "auditor")
MAX_CALENDAR_DAYS = 366
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
FIRST_DATE, LAST_DATE = date(1970, 1, 1), date(2999, 12, 31)
MAX_REASON = 500
# A batch valuation takes at most MAX_BATCH ids (more is INVALID_ARGUMENT); they are checked
# CHECKED_PER_STEP at a time, the event loop yielded in between, and valued a page at a time.
# A page's wire form (~0.2 ms an account) is built on a worker thread: the interpreter then
# hands the event loop a turn every few milliseconds, so other calls are not held up behind it.
MAX_BATCH, CHECKED_PER_STEP = 100_000, 2_000

IMPLIED = {state: getattr(collateral_pb2, f"IMPLIED_STATE_{state.name}") for state in ImpliedState}


class CollateralService(collateral_pb2_grpc.CollateralServiceServicer):
    def __init__(self, store: EventStore, handlers: CollateralHandlers) -> None:
        self._store = store
        self._handlers = handlers
        self._stress = StressTests(handlers.runner, clock=handlers.now)

    # ------------------------------------------------------------------------- prices
    async def RecordPrice(
        self, request: collateral_pb2.RecordPriceRequest, context: Context
    ) -> collateral_pb2.RecordPriceResponse:
        require_role(*FEEDS)
        return await self._record(request, "")

    async def StreamPrices(
        self, request_iterator: AsyncIterator[collateral_pb2.StreamPricesRequest], context: Context
    ) -> collateral_pb2.StreamPricesResponse:
        require_role(*FEEDS)
        summary = collateral_pb2.StreamPricesResponse()
        index = 0
        async for message in request_iterator:
            # Each observation is its own command: a malformed one ends the call, naming it;
            # the ones before it stay recorded, exactly as separate RecordPrice calls would.
            recorded = await self._record(message.observation, f"observation[{index}].")
            index += 1
            summary.position = max(summary.position, recorded.result.position)
            if recorded.accepted:
                summary.accepted += 1
            else:
                summary.rejected += 1
                summary.rejections.append(
                    collateral_pb2.PriceRejection(
                        request_id=message.observation.request_id,
                        reason=recorded.rejection_reason,
                    )
                )
        return summary

    async def _record(
        self, request: collateral_pb2.RecordPriceRequest, prefix: str
    ) -> collateral_pb2.RecordPriceResponse:
        try:
            command = _record_price(request)
            request_id, payload = wire.command_request(request)
        except (InvalidArgument, InvalidAppend) as error:
            if not prefix:
                raise
            field, description = _violation(error)
            raise InvalidArgument.for_field(f"{prefix}{field}", description) from error
        outcome = await self._handlers.record_price(
            command, request_id=request_id, request=payload, metadata=current().event_metadata()
        )
        response = outcome.response or {}
        return collateral_pb2.RecordPriceResponse(
            result=wire.command_result(outcome),
            accepted=bool(response.get("accepted")),
            rejection_reason=str(response.get("rejection_reason", "")),
        )

    async def GetPrice(
        self, request: collateral_pb2.GetPriceRequest, context: Context
    ) -> collateral_pb2.GetPriceResponse:
        require_role(*READERS, *FEEDS)
        code = asset(request.asset, "asset").code
        at = wire.instant(request.at, "at") if request.HasField("at") else None
        if at is None:
            query = sa.select(latest_prices).where(latest_prices.c.asset == code)
        else:
            query = (
                sa.select(price_observations)
                .where(price_observations.c.asset == code, price_observations.c.observed_at <= at)
                .order_by(price_observations.c.observed_at.desc())
                .limit(1)
            )
        async with self._store.engine.connect() as conn:
            row = (await conn.execute(query)).mappings().first()
        if row is None:
            when = f" at {at.isoformat()}" if at else ""
            raise PriceUnavailable(f"no accepted price of {code}{when}")
        moment = at or self._handlers.now()
        policy = (await policy_history(self._handlers.runner)).as_of(moment)
        stale = moment - row["observed_at"] > timedelta(seconds=policy.price_staleness_seconds)
        response = collateral_pb2.GetPriceResponse(
            price=_price(code, row["price"]),
            source=row["source"],
            stale=stale,
            position=row["position"],
        )
        response.observed_at.FromDatetime(row["observed_at"])
        return response

    # ------------------------------------------------------------------------- policy
    async def ProposePolicyChange(
        self, request: collateral_pb2.ProposePolicyChangeRequest, context: Context
    ) -> collateral_pb2.ProposePolicyChangeResponse:
        require_role(*POLICY_ADMINS)
        if not request.HasField("effective_from"):
            raise InvalidArgument.for_field("effective_from", "is required")
        command = domain.ProposePolicyChange(
            proposal_id=check_id(request.proposal_id, "proposal_id"),
            parameters=tuple(
                ev.PolicyParameter(
                    wire.text(p.name, f"parameters[{i}].name", 100, required=True),
                    wire.text(p.value, f"parameters[{i}].value", 1000),
                )
                for i, p in enumerate(request.parameters)
            ),
            effective_from=wire.instant(request.effective_from, "effective_from"),
        )
        outcome = await self._policy(command, request)
        history = await policy_history(self._handlers.runner)
        proposal = history.proposals.get(command.proposal_id)
        return collateral_pb2.ProposePolicyChangeResponse(
            result=wire.command_result(outcome),
            base_version=proposal.base_version if proposal else 0,
        )

    async def ApprovePolicyChange(
        self, request: collateral_pb2.ApprovePolicyChangeRequest, context: Context
    ) -> collateral_pb2.ApprovePolicyChangeResponse:
        require_role(*POLICY_ADMINS)
        command = domain.ApprovePolicyChange(check_id(request.proposal_id, "proposal_id"))
        outcome = await self._policy(command, request)
        return collateral_pb2.ApprovePolicyChangeResponse(
            result=wire.command_result(outcome),
            policy_version=int((outcome.response or {}).get("policy_version", 0)),
        )

    async def RejectPolicyChange(
        self, request: collateral_pb2.RejectPolicyChangeRequest, context: Context
    ) -> collateral_pb2.RejectPolicyChangeResponse:
        require_role(*POLICY_ADMINS)
        command = domain.RejectPolicyChange(
            check_id(request.proposal_id, "proposal_id"),
            wire.text(request.reason, "reason", MAX_REASON, required=True),
        )
        outcome = await self._policy(command, request)
        return collateral_pb2.RejectPolicyChangeResponse(result=wire.command_result(outcome))

    async def _policy(self, command: domain.PolicyCommand, request: Any) -> Any:
        request_id, payload = wire.command_request(request)
        return await self._handlers.change_policy(
            command,
            actor=current().principal.name,
            request_id=request_id,
            request=payload,
            metadata=current().event_metadata(),
        )

    async def GetPolicy(
        self, request: collateral_pb2.GetPolicyRequest, context: Context
    ) -> collateral_pb2.GetPolicyResponse:
        require_role(*READERS)
        history = await policy_history(self._handlers.runner)
        which = request.WhichOneof("which")
        if which == "version":
            policy = history.version(request.version)
            if policy is None:
                raise NotFound(
                    f"no policy version {request.version}; the latest is {history.latest.version}"
                )
        else:
            moment = wire.instant(request.at, "at") if which == "at" else self._handlers.now()
            policy = history.as_of(moment)
        return collateral_pb2.GetPolicyResponse(policy=_policy(policy, history))

    async def ListPolicyVersions(
        self, request: collateral_pb2.ListPolicyVersionsRequest, context: Context
    ) -> collateral_pb2.ListPolicyVersionsResponse:
        require_role(*READERS)
        history = await policy_history(self._handlers.runner)
        return collateral_pb2.ListPolicyVersionsResponse(
            versions=[_policy(p, history) for p in history.versions],
            proposals=[_proposal(p) for p in history.proposals.values()],
        )

    # ------------------------------------------------------------------------- valuations
    async def ValueAccount(
        self, request: collateral_pb2.ValueAccountRequest, context: Context
    ) -> collateral_pb2.ValueAccountResponse:
        require_role(*READERS)
        valuation, version = await self._handlers.value(client_id(request.client_id))
        message = _valuation(valuation, self._handlers.now())
        message.account_version = version
        return collateral_pb2.ValueAccountResponse(valuation=message)

    async def ValueAccounts(
        self, request: collateral_pb2.ValueAccountsRequest, context: Context
    ) -> AsyncIterator[collateral_pb2.ValueAccountsResponse]:
        require_role(*READERS)
        if len(request.client_ids) > MAX_BATCH:
            raise InvalidArgument.for_field("client_ids", f"at most {MAX_BATCH} clients a call")
        clients = await _client_ids(request.client_ids)
        now = self._handlers.now()
        async for valuations, position in self._handlers.value_pages(clients):
            yield await asyncio.to_thread(_valuations, valuations, now, position)

    # ------------------------------------------------------------------------- calendar
    async def RecordMarketClosure(
        self, request: collateral_pb2.RecordMarketClosureRequest, context: Context
    ) -> collateral_pb2.RecordMarketClosureResponse:
        principal = require_role(*CALENDAR_KEEPERS)
        command = domain.RecordMarketClosure(
            market=_market(request.market),
            closed_on=_date(request.closed_on, "closed_on"),
            reason=wire.text(request.reason, "reason", 40, required=True),
            sessions=wire.text(request.sessions, "sessions", 20, required=True),
        )
        request_id, payload = wire.command_request(request)
        outcome = await self._handlers.record_closure(
            command,
            actor=principal.name,
            request_id=request_id,
            request=payload,
            metadata=current().event_metadata(),
        )
        return collateral_pb2.RecordMarketClosureResponse(
            result=wire.command_result(outcome),
            recorded=bool((outcome.response or {}).get("recorded")),
        )

    async def GetMarketCalendar(
        self, request: collateral_pb2.GetMarketCalendarRequest, context: Context
    ) -> collateral_pb2.GetMarketCalendarResponse:
        require_role(*READERS, *FEEDS)
        market = _market(request.market)
        first = _date(request.from_date, "from_date")
        last = _date(request.to_date, "to_date")
        if last < first:
            raise InvalidArgument.for_field("to_date", "must not be before from_date")
        if (last - first).days > MAX_CALENDAR_DAYS:
            raise InvalidArgument.for_field(
                "to_date", f"at most {MAX_CALENDAR_DAYS} days after from_date"
            )
        calendar = await self._handlers.calendar()
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        return collateral_pb2.GetMarketCalendarResponse(
            market=market,
            days=[_market_day(calendar, market, day) for day in days],
            closures=[_closure(c) for c in calendar.closures_between(first, last, market)],
        )

    # ------------------------------------------------------------------------- stress tests
    async def RunStressTest(
        self, request: collateral_pb2.RunStressTestRequest, context: Context
    ) -> collateral_pb2.RunStressTestResponse:
        principal = require_role(*STRESS_TESTERS)
        command = _stress_test(request)
        request_id, payload = wire.command_request(request)
        size = wire.page_size(request.page_size)
        outcome, run = await self._stress.run(
            command,
            actor=principal.name,
            request_id=request_id,
            request=payload,
            metadata=current().event_metadata(),
        )
        accounts, after = await self._stress.accounts(run, Cursor(), size)
        return _stress_response(wire.command_result(outcome), run, accounts, after)

    async def GetStressTestRun(
        self, request: collateral_pb2.GetStressTestRunRequest, context: Context
    ) -> collateral_pb2.GetStressTestRunResponse:
        require_role(*STRESS_READERS)
        run_id = check_id(request.run_id, "run_id")
        start = _stress_cursor(request.page.page_token)
        size = wire.page_size(request.page.page_size)
        run = await self._stress.recorded(run_id)
        last = await self._stress.last_event(run)
        accounts, after = await self._stress.accounts(run, start, size)
        result = common_pb2.CommandResult(
            stream_id=last.stream_id, stream_version=last.version, position=last.position
        )
        return collateral_pb2.GetStressTestRunResponse(
            run=_stress_response(result, run, accounts, after)
        )

    async def Subscribe(
        self, request: collateral_pb2.CollateralServiceSubscribeRequest, context: Context
    ) -> AsyncIterator[collateral_pb2.CollateralServiceSubscribeResponse]:
        require_role(*wire.WHOLE_FEED_READERS)  # deprecated: FeedService.Subscribe
        async for reply in wire.subscription(
            self._store, request, collateral_pb2.CollateralServiceSubscribeResponse
        ):
            yield reply


# ----------------------------------------------------------------------------- conversions


def _record_price(request: collateral_pb2.RecordPriceRequest) -> domain.RecordPrice:
    if not request.HasField("price"):
        raise InvalidArgument.for_field("price", "is required")
    if request.price.quote_asset != REPORTING_CURRENCY.code:
        raise InvalidArgument.for_field(
            "price.quote_asset", f"prices are quoted in {REPORTING_CURRENCY.code}"
        )
    if not request.HasField("observed_at"):
        raise InvalidArgument.for_field("observed_at", "is required")
    return domain.RecordPrice(
        asset=asset(request.price.base_asset, "price.base_asset").code,
        price=parse_price(request.price.value, "price.value"),
        observed_at=wire.instant(request.observed_at, "observed_at"),
        source=check_id(request.source, "source"),
    )


def _valuations(
    valuations: Sequence[Valuation], now: datetime, position: int
) -> collateral_pb2.ValueAccountsResponse:
    return collateral_pb2.ValueAccountsResponse(
        valuations=[_valuation(v, now) for v in valuations], position=position
    )


async def _client_ids(ids: Sequence[str]) -> list[str]:
    """Every id checked (the first bad one refused, by its index), duplicates dropped; the event
    loop yielded between steps, so checking 100,000 ids stalls no other caller."""
    checked: dict[str, None] = {}
    for start in range(0, len(ids), CHECKED_PER_STEP):
        for index in range(start, min(start + CHECKED_PER_STEP, len(ids))):
            checked[client_id(ids[index], f"client_ids[{index}]")] = None
        await asyncio.sleep(0)
    return list(checked)


def _stress_test(request: collateral_pb2.RunStressTestRequest) -> RunStressTest:
    shocks = tuple(
        ev.PriceShock(
            wire.text(shock.asset, f"shocks[{index}].asset", 20, required=True),
            _change(shock.change, f"shocks[{index}].change"),
        )
        for index, shock in enumerate(request.shocks[: stress.MAX_SHOCKS + 1])
    )
    index_move = None
    if request.securities_shock:
        index_move = _change(request.securities_shock, "securities_shock")
    if not 0 <= request.worst_accounts <= stress.MAX_WORST:
        raise InvalidArgument.for_field("worst_accounts", f"from 0 to {stress.MAX_WORST}")
    return RunStressTest(
        run_id=check_id(request.run_id, "run_id"),
        scenario=stress.scenario(check_id(request.scenario, "scenario"), shocks, index_move),
        worst=request.worst_accounts or 10,
    )


def _change(text: str, field: str) -> Decimal:
    return stress.check_change(parse_decimal(text, field, allow_negative=True), field)


def _stress_cursor(token: str) -> Cursor:
    """A page token this service issued: "<page>.<index>" ("" for the first page)."""
    if not token:
        return Cursor()
    page, dot, index = token.partition(".")
    if not (dot and page.isdigit() and index.isdigit() and len(page) + len(index) <= 12):
        raise InvalidArgument.for_field("page.page_token", "is not a token this service issued")
    return Cursor(int(page), int(index))


def _stress_response(
    result: common_pb2.CommandResult,
    run: ev.StressTestRun,
    accounts: Sequence[ev.StressedAccount],
    after: Cursor | None,
) -> collateral_pb2.RunStressTestResponse:
    moved = run.accounts_warned + run.accounts_in_margin_call + run.accounts_liquidating
    return collateral_pb2.RunStressTestResponse(
        result=result,
        policy_version=run.policy_version,
        accounts_tested=run.accounts_tested,
        accounts_warned=run.accounts_warned,
        accounts_called=run.accounts_in_margin_call,
        accounts_liquidated=run.accounts_liquidating,
        accounts_short=run.accounts_short,
        expected_shortfall=wire.money(run.total_shortfall),
        worst_accounts=[_stressed(one) for one in run.worst_accounts],
        shocked_prices=[_price(point.base_asset, point.price) for point in run.prices],
        accounts_valued_exactly=run.accounts_flagged,
        book_position=run.book_position,
        run_id=run.run_id,
        scenario=run.scenario,
        accounts_listed=run.accounts_listed,
        accounts_not_listed=moved - run.accounts_listed,
        accounts=[_stressed(one) for one in accounts],
        page=common_pb2.PageInfo(
            next_page_token="" if after is None else f"{after.page}.{after.index}"
        ),
    )


def _stressed(one: ev.StressedAccount) -> collateral_pb2.StressedAccount:
    hkd = REPORTING_CURRENCY.code
    return collateral_pb2.StressedAccount(
        client_id=one.client_id,
        utilisation=_ratio(one.utilisation),
        debt=wire.amount(hkd, one.debt.minor),
        shortfall=wire.amount(hkd, one.shortfall.minor),
        implied_state=(
            IMPLIED[ImpliedState(one.state)]
            if one.state
            else collateral_pb2.IMPLIED_STATE_UNSPECIFIED
        ),
    )


def _market(text: str) -> str:
    if text not in MARKETS:
        raise InvalidArgument.for_field("market", f"must be one of {', '.join(MARKETS)}")
    return text


def _date(text: str, field: str) -> date:
    """A "YYYY-MM-DD" field (only that form: fromisoformat alone takes week dates too), in
    years whose instants every conversion can hold."""
    try:
        if _ISO_DATE.fullmatch(text):
            day = date.fromisoformat(text)
            if FIRST_DATE <= day <= LAST_DATE:
                return day
    except ValueError:
        pass
    raise InvalidArgument.for_field(
        field, f"must be a date, YYYY-MM-DD, from {FIRST_DATE} to {LAST_DATE}"
    )


def _market_day(calendar: MarketCalendar, market: str, day: date) -> collateral_pb2.MarketDay:
    half = calendar.half_days.get(day)
    message = collateral_pb2.MarketDay(
        date=day.isoformat(),
        business_day=calendar.is_business_day(day),
        holiday=calendar.holiday(day) or "",
        half_day=half.name if half is not None else "",
        holidays_known=calendar.covers(day),
    )
    for window in calendar.trading_windows(market, day):
        session = message.sessions.add(name=window.session)
        session.opens.FromDatetime(window.opens)
        session.closes.FromDatetime(window.closes)
    return message


def _closure(closure: Closure) -> collateral_pb2.MarketClosure:
    return collateral_pb2.MarketClosure(
        market=closure.market,
        closed_on=closure.closed_on.isoformat(),
        reason=closure.reason,
        sessions=closure.sessions,
        recorded_by=closure.recorded_by,
    )


def _violation(error: InvalidArgument | InvalidAppend) -> tuple[str, str]:
    if isinstance(error, InvalidAppend):
        return error.field, error.description
    if error.violations:
        return error.violations[0].field, error.violations[0].description
    return "observation", str(error)


def _price(code: str, value: Decimal) -> common_pb2.Price:
    return common_pb2.Price(
        base_asset=code, quote_asset=REPORTING_CURRENCY.code, value=format_decimal(value)
    )


def _parameters(parameters: Sequence[ev.PolicyParameter]) -> list[collateral_pb2.PolicyParameter]:
    return [collateral_pb2.PolicyParameter(name=p.name, value=p.value) for p in parameters]


def _policy(policy: CollateralPolicy, history: PolicyHistory) -> collateral_pb2.Policy:
    origin = next(
        (p for p in history.proposals.values() if p.approved_version == policy.version), None
    )
    message = collateral_pb2.Policy(
        version=policy.version,
        parameters=_parameters(policy.parameters()),
        proposal_id=origin.proposal_id if origin else "",
        proposed_by=origin.proposed_by if origin else "",
        approved_by=(origin.decided_by or "") if origin else "",
    )
    message.effective_from.FromDatetime(policy.effective_from)
    return message


def _proposal(proposal: Proposal) -> collateral_pb2.PolicyProposal:
    message = collateral_pb2.PolicyProposal(
        proposal_id=proposal.proposal_id,
        state=proposal.state,
        base_version=proposal.base_version,
        parameters=_parameters(proposal.parameters),
        proposed_by=proposal.proposed_by,
    )
    message.effective_from.FromDatetime(proposal.effective_from)
    return message


def _valuation(valuation: Valuation, now: datetime) -> collateral_pb2.AccountValuation:
    hkd = REPORTING_CURRENCY.code
    message = collateral_pb2.AccountValuation(
        client_id=valuation.client_id,
        policy_version=valuation.policy_version,
        assets=[
            collateral_pb2.AssetValuation(
                quantity=wire.amount(line.asset, line.quantity),
                price=format_decimal(line.price) if line.priced else "",
                haircut=format_decimal(line.haircut),
                market_value=wire.amount(hkd, line.market_value),
                marginable_value=wire.amount(hkd, line.marginable_value),
                virtual_asset=line.virtual,
                stale=line.stale,
            )
            for line in valuation.lines
        ],
        market_value=wire.amount(hkd, valuation.market_value),
        virtual_marginable_value=wire.amount(hkd, valuation.va_marginable_value),
        other_marginable_value=wire.amount(hkd, valuation.other_marginable_value),
        virtual_cap_effect=wire.amount(hkd, valuation.va_cap_effect),
        marginable_value=wire.amount(hkd, valuation.marginable_value),
        debt=wire.amount(hkd, valuation.debt),
        utilisation=_ratio(valuation.utilisation),
        loan_to_value=_ratio(valuation.loan_to_value),
        margin_level=_ratio(valuation.margin_level),
        implied_state=IMPLIED[valuation.state],
        call_amount=wire.amount(hkd, valuation.call_amount),
        advance_headroom=wire.amount(hkd, valuation.advance_headroom),
        stale_assets=list(valuation.stale_assets),
        unpriced_assets=list(valuation.unpriced_assets),
        prices=[_used(point) for point in valuation.prices],
    )
    if valuation.va_cap_allowance is not None:
        message.virtual_cap_allowance.CopyFrom(wire.amount(hkd, valuation.va_cap_allowance))
    for line, out in zip(valuation.lines, message.assets, strict=True):
        if line.observed_at is not None:
            out.observed_at.FromDatetime(line.observed_at)
    message.valued_at.FromDatetime(now)
    return message


def _ratio(value: Decimal | None) -> str:
    return "" if value is None else format_decimal(value)


def _used(point: ev.PricePoint) -> collateral_pb2.PriceUsed:
    message = collateral_pb2.PriceUsed(
        price=_price(point.base_asset, point.price), source=point.source
    )
    message.observed_at.FromDatetime(point.observed_at)
    return message


def register(
    server: grpc.aio.Server, store: EventStore, handlers: CollateralHandlers
) -> tuple[str, ...]:
    # Generated servicer helpers are untyped (grpcio-tools emits no stubs for them).
    collateral_pb2_grpc.add_CollateralServiceServicer_to_server(  # type: ignore[no-untyped-call]
        CollateralService(store, handlers), server
    )
    return (collateral_pb2.DESCRIPTOR.services_by_name["CollateralService"].full_name,)
