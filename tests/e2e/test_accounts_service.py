"""The accounts service through a real gRPC server on loopback and a real PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from harbour.api.v1 import accounts_pb2 as pb
from harbour.api.v1 import accounts_pb2_grpc
from harbour.api.v1.common_pb2 import Amount
from harbour.eventstore.verify import verify_store
from harbour.runtime.server import Runtime
from harbour.testing import credit
from tests.e2e.test_audit_service import details

OPERATOR = (("x-harbour-principal", "ops:operator"),)
PLATFORM = (("x-harbour-principal", "desk:trading-platform"),)
RISK = (("x-harbour-principal", "desk:risk"),)


def rid() -> str:
    return uuid.uuid4().hex


@pytest.fixture
def accounts(accounts_channel: grpc.aio.Channel) -> accounts_pb2_grpc.AccountsServiceStub:
    return accounts_pb2_grpc.AccountsServiceStub(accounts_channel)


async def onboard(
    accounts: accounts_pb2_grpc.AccountsServiceStub, client: str = "C1"
) -> pb.OnboardClientResponse:
    response: pb.OnboardClientResponse = await accounts.OnboardClient(
        pb.OnboardClientRequest(
            request_id=rid(),
            client_id=client,
            securities_margin_account_id="SMA-1",
            credit_grade="A",
            credit_assessment_id="CA-1",
            credit_limit=Amount(asset="HKD", value="1000000.00"),
            margin_agreement_version="MA-2026",
            risk_disclosure_version="VARD-1",
        ),
        metadata=OPERATOR,
    )
    return response


async def deposit(
    accounts: accounts_pb2_grpc.AccountsServiceStub, value: str, client: str = "C1"
) -> pb.DepositCashResponse:
    response: pb.DepositCashResponse = await accounts.DepositCash(
        pb.DepositCashRequest(
            request_id=rid(),
            client_id=client,
            amount=Amount(asset="HKD", value=value),
            reference="bank",
        ),
        metadata=PLATFORM,
    )
    return response


def cash_of(account: pb.Account, code: str = "HKD") -> str:
    return next((a.value for a in account.cash if a.asset == code), "0")


async def test_onboard_deposit_withdraw_and_read_back(
    accounts: accounts_pb2_grpc.AccountsServiceStub,
) -> None:
    opened = await onboard(accounts)
    # The grade and the limit are proposed: they count once a second principal approves them.
    assert list(opened.borrowing_refusals) == ["credit_assessment_missing", "credit_limit_missing"]
    assert list(opened.fact_proposal_ids) == list(credit.ONBOARDING_PROPOSALS)
    assert opened.result.stream_id == "account-C1" and opened.result.stream_version == 7
    approved = await credit.approve_client_facts(accounts, "C1")
    assert approved[-1].may_borrow and list(approved[-1].borrowing_refusals) == []
    await deposit(accounts, "1500.50")
    await accounts.DepositCollateral(
        pb.DepositCollateralRequest(
            request_id=rid(),
            client_id="C1",
            quantity=Amount(asset="BTC", value="0.12345678"),
            reference="w",
        ),
        metadata=PLATFORM,
    )
    out = await accounts.WithdrawCash(
        pb.WithdrawCashRequest(
            request_id=rid(),
            client_id="C1",
            amount=Amount(asset="HKD", value="500.25"),
            reference="b",
        ),
        metadata=PLATFORM,
    )
    reply = await accounts.GetAccount(
        pb.GetAccountRequest(client_id="C1", min_position=out.result.position), metadata=PLATFORM
    )
    account = reply.account
    assert (
        account.status == pb.ACCOUNT_STATUS_ACTIVE and account.risk_state == pb.RISK_STATE_HEALTHY
    )
    assert cash_of(account) == "1000.25"
    assert [(a.asset, a.value) for a in account.collateral] == [("BTC", "0.12345678")]
    assert account.version == out.result.stream_version and account.position == out.result.position


async def test_an_overdraft_is_failed_precondition_and_appends_nothing(
    accounts: accounts_pb2_grpc.AccountsServiceStub, runtime: Runtime
) -> None:
    await onboard(accounts)
    await deposit(accounts, "10.00")
    before = await runtime.store.head_position()
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await accounts.WithdrawCash(
            pb.WithdrawCashRequest(
                request_id=rid(),
                client_id="C1",
                amount=Amount(asset="HKD", value="10.01"),
                reference="b",
            ),
            metadata=PLATFORM,
        )
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert details(refused.value) == ("insufficient_balance", [])
    assert await runtime.store.head_position() == before


async def test_retries_are_idempotent_and_a_reused_request_id_is_refused(
    accounts: accounts_pb2_grpc.AccountsServiceStub, runtime: Runtime
) -> None:
    await onboard(accounts)
    request = pb.DepositCashRequest(
        request_id="dep-1", client_id="C1", amount=Amount(asset="HKD", value="7.00"), reference="b"
    )
    first = await accounts.DepositCash(request, metadata=PLATFORM)
    again = await accounts.DepositCash(request, metadata=PLATFORM)
    assert again.result.replayed and not first.result.replayed
    assert again.result.position == first.result.position
    different = pb.DepositCashRequest(
        request_id="dep-1", client_id="C1", amount=Amount(asset="HKD", value="8.00"), reference="b"
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await accounts.DepositCash(different, metadata=PLATFORM)
    assert refused.value.code() == grpc.StatusCode.ALREADY_EXISTS
    account = (
        await accounts.GetAccount(pb.GetAccountRequest(client_id="C1"), metadata=PLATFORM)
    ).account
    assert cash_of(account) == "7.00"


async def test_thirty_two_racing_withdrawals_never_overdraw(
    accounts: accounts_pb2_grpc.AccountsServiceStub, runtime: Runtime
) -> None:
    await onboard(accounts)
    await deposit(accounts, "100.00")

    async def withdraw() -> bool:
        try:
            await accounts.WithdrawCash(
                pb.WithdrawCashRequest(
                    request_id=rid(),
                    client_id="C1",
                    amount=Amount(asset="HKD", value="7.00"),
                    reference="b",
                ),
                metadata=PLATFORM,
            )
        except grpc.aio.AioRpcError as error:
            assert error.code() == grpc.StatusCode.FAILED_PRECONDITION, error.details()
            return False
        return True

    outcomes = await asyncio.gather(*(withdraw() for _ in range(32)))
    assert sum(outcomes) == 14  # 14 x 7.00 = 98.00 fits in 100.00; a 15th would not
    account = (
        await accounts.GetAccount(pb.GetAccountRequest(client_id="C1"), metadata=PLATFORM)
    ).account
    assert cash_of(account) == "2.00"
    assert (await verify_store(runtime.store)).intact


def amount(asset: str, value: str) -> Amount:
    return Amount(asset=asset, value=value)


BAD_DEPOSITS = [
    (dict(client_id="", amount=amount("HKD", "1.00")), "client_id"),
    (dict(client_id="C 1", amount=amount("HKD", "1.00")), "client_id"),
    (dict(client_id="C" * 65, amount=amount("HKD", "1.00")), "client_id"),
    (dict(client_id="C1", amount=amount("HKD", "-1.00")), "amount.value"),
    (dict(client_id="C1", amount=amount("HKD", "0")), "amount.value"),
    (dict(client_id="C1", amount=amount("HKD", "1.001")), "amount.value"),
    (dict(client_id="C1", amount=amount("HKD", "1e3")), "amount.value"),
    (dict(client_id="C1", amount=amount("HKD", "NaN")), "amount.value"),
    (dict(client_id="C1", amount=amount("HKD", "9" * 5000)), "amount.value"),
    (dict(client_id="C1", amount=amount("DOGE", "1.00")), "amount.asset"),
    (dict(client_id="C1", amount=amount("BTC", "1.00")), "amount.asset"),
    (dict(client_id="C1"), "amount"),
    (dict(client_id="C1", amount=amount("HKD", "1.00"), reference="x" * 129), "reference"),
    (dict(client_id="C1", amount=amount("HKD", "1.00"), request_id=""), "request_id"),
    (dict(client_id="C1", amount=amount("HKD", "1.00"), request_id="r" * 129), "request_id"),
]


@pytest.mark.parametrize(("fields", "field"), BAD_DEPOSITS)
async def test_bad_input_is_invalid_argument_naming_the_field_and_appends_nothing(
    accounts: accounts_pb2_grpc.AccountsServiceStub,
    runtime: Runtime,
    fields: dict[str, object],
    field: str,
) -> None:
    await onboard(accounts)
    before = await runtime.store.head_position()
    request = pb.DepositCashRequest(**{"request_id": rid(), "reference": "b", **fields})  # type: ignore[arg-type]
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await accounts.DepositCash(request, metadata=PLATFORM)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, refused.value.details()
    reason, fields_named = details(refused.value)
    assert fields_named == [field], (reason, refused.value.details())
    assert await runtime.store.head_position() == before


async def test_unknown_client_is_not_found(accounts: accounts_pb2_grpc.AccountsServiceStub) -> None:
    for call in (
        accounts.GetAccount(pb.GetAccountRequest(client_id="NOPE"), metadata=PLATFORM),
        deposit(accounts, "1.00", client="NOPE"),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await call
        assert refused.value.code() == grpc.StatusCode.NOT_FOUND


async def test_balances_as_of_a_past_moment_equal_a_replay_up_to_it(
    accounts: accounts_pb2_grpc.AccountsServiceStub, runtime: Runtime
) -> None:
    await onboard(accounts)
    first = await deposit(accounts, "100.00")
    await asyncio.sleep(0.01)
    moment = Timestamp()
    moment.GetCurrentTime()
    await asyncio.sleep(0.01)
    await deposit(accounts, "50.00")
    by_position = await accounts.GetBalances(
        pb.GetBalancesRequest(client_id="C1", position=first.result.position), metadata=PLATFORM
    )
    by_time = await accounts.GetBalances(
        pb.GetBalancesRequest(client_id="C1", at=moment), metadata=PLATFORM
    )
    now = await accounts.GetBalances(pb.GetBalancesRequest(client_id="C1"), metadata=PLATFORM)

    def cash(reply: pb.GetBalancesResponse) -> str:
        return next(b.balance.value for b in reply.balances if b.ledger_account == "client:C1:cash")

    assert cash(by_position) == cash(by_time) == "100.00"
    assert cash(now) == "150.00"
    # ... and equal to folding the stream's own journals up to that position by hand.
    events = await runtime.store.read_stream("account-C1", up_to_position=first.result.position)
    from harbour.application.decoding import domain_event
    from harbour.ledger import events as ev

    total = sum(
        p.amount
        for e in events
        for p in (ev.journal_of(domain_event(e)) or ())
        if p.ledger_account == "client:C1:cash"
    )
    assert Decimal(cash(by_position)) == Decimal(total) / 100


async def test_statement_pages_through_events_with_their_postings(
    accounts: accounts_pb2_grpc.AccountsServiceStub,
) -> None:
    await onboard(accounts)
    for value in ("1.00", "2.00", "3.00"):
        await deposit(accounts, value)
    first = await accounts.GetStatement(
        pb.GetStatementRequest(client_id="C1", page={"page_size": 8}), metadata=PLATFORM
    )
    assert len(first.entries) == 8 and first.page.next_page_token
    rest = await accounts.GetStatement(
        pb.GetStatementRequest(
            client_id="C1", page={"page_size": 8, "page_token": first.page.next_page_token}
        ),
        metadata=PLATFORM,
    )
    assert [e.type for e in rest.entries] == [
        "CashDeposited",
        "CashDeposited",
    ] and not rest.page.next_page_token
    postings = {(p.ledger_account, p.amount.value) for p in rest.entries[-1].postings}
    assert postings == {("client:C1:cash", "3.00"), ("external:bank", "-3.00")}


async def test_suspend_close_and_roles(accounts: accounts_pb2_grpc.AccountsServiceStub) -> None:
    await onboard(accounts)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await accounts.SuspendAccount(
            pb.SuspendAccountRequest(request_id=rid(), client_id="C1", reason="x"),
            metadata=PLATFORM,
        )
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    await accounts.SuspendAccount(
        pb.SuspendAccountRequest(request_id=rid(), client_id="C1", reason="AML review"),
        metadata=OPERATOR,
    )
    account = (
        await accounts.GetAccount(pb.GetAccountRequest(client_id="C1"), metadata=PLATFORM)
    ).account
    assert account.suspended and "account_suspended" in account.borrowing_refusals
    await accounts.ResumeAccount(
        pb.ResumeAccountRequest(request_id=rid(), client_id="C1", reason="cleared"),
        metadata=OPERATOR,
    )
    await accounts.CloseAccount(
        pb.CloseAccountRequest(request_id=rid(), client_id="C1"), metadata=OPERATOR
    )
    account = (
        await accounts.GetAccount(pb.GetAccountRequest(client_id="C1"), metadata=PLATFORM)
    ).account
    assert account.status == pb.ACCOUNT_STATUS_CLOSED


async def test_subscribe_streams_the_account_events(
    accounts: accounts_pb2_grpc.AccountsServiceStub,
) -> None:
    await onboard(accounts)
    await deposit(accounts, "1.00")
    stream = accounts.Subscribe(pb.AccountsServiceSubscribeRequest(max_events=8), metadata=RISK)
    types = [m.event.type async for m in stream]
    assert types[0] == "ClientOnboarded" and types[-1] == "CashDeposited" and len(types) == 8


async def test_the_deprecated_subscribe_refuses_a_trading_platform_and_points_to_the_feed(
    accounts: accounts_pb2_grpc.AccountsServiceStub,
) -> None:
    """It streams every client's events unscoped: a platform follows its clients through
    FeedService.Subscribe, which scopes it to the clients it names."""
    await onboard(accounts)
    stream = accounts.Subscribe(pb.AccountsServiceSubscribeRequest(max_events=1), metadata=PLATFORM)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        _ = [m async for m in stream]
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert details(refused.value)[0] == "permission_denied"
    assert "deprecated" in (refused.value.details() or "")
    assert "/harbour.api.v1.FeedService/Subscribe" in (refused.value.details() or "")


async def test_a_retry_that_todays_state_would_refuse_gets_its_first_answer(
    accounts: accounts_pb2_grpc.AccountsServiceStub, runtime: Runtime
) -> None:
    await onboard(accounts)
    await deposit(accounts, "10.00")
    first_try = pb.WithdrawCashRequest(
        request_id="wd-1", client_id="C1", amount=Amount(asset="HKD", value="10.00"), reference="b"
    )
    applied = await accounts.WithdrawCash(first_try, metadata=PLATFORM)
    # The balance is now zero: deciding the same withdrawal again would refuse it...
    again = await accounts.WithdrawCash(first_try, metadata=PLATFORM)
    # ...but the client only lost the answer, so it gets the first one back.
    assert again.result.replayed and again.result.position == applied.result.position
    events = await runtime.store.read_stream("account-C1")
    assert [e.type for e in events].count("CashWithdrawn") == 1
