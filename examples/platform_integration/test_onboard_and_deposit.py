"""How a trading platform's integration test uses Harbour Ledger: only the public API.

With harbour-ledger[testing] installed, the ``harbour_stack`` fixture is there (pytest plugin);
it hands back ready stubs. Set HARBOUR_TESTING_IMAGE to run the services from the image where
Docker answers; otherwise they run in this process on an embedded PostgreSQL.
"""

from __future__ import annotations

import uuid

import grpc
import pytest

from harbour.api.v1 import accounts_pb2 as accounts
from harbour.api.v1 import feed_pb2 as feed
from harbour.api.v1.common_pb2 import Amount
from harbour.testing import HarbourStack

pytestmark = pytest.mark.asyncio(loop_scope="session")


def request_id() -> str:
    return uuid.uuid4().hex


async def onboard(stack: HarbourStack, client_id: str) -> None:
    await stack.accounts.OnboardClient(
        accounts.OnboardClientRequest(
            request_id=request_id(),
            client_id=client_id,
            securities_margin_account_id=f"SMA-{client_id}",
            credit_grade="A",
            credit_assessment_id=f"CA-{client_id}",
            credit_limit=Amount(asset="HKD", value="500000.00"),
            margin_agreement_version="MA-2026",
            risk_disclosure_version="VARD-1",
        )
    )


async def test_a_deposit_is_in_the_balance_read_back(harbour_stack: HarbourStack) -> None:
    client_id = f"PLATFORM-{uuid.uuid4().hex[:8]}"
    await onboard(harbour_stack, client_id)
    deposited = await harbour_stack.accounts.DepositCash(
        accounts.DepositCashRequest(
            request_id=request_id(),
            client_id=client_id,
            amount=Amount(asset="HKD", value="2500.75"),
            reference="bank-transfer-1",
        )
    )
    # Reading at the position the deposit returned sees it, whatever the read model's lag.
    reply = await harbour_stack.accounts.GetAccount(
        accounts.GetAccountRequest(client_id=client_id, min_position=deposited.result.position)
    )
    cash = {amount.asset: amount.value for amount in reply.account.cash}
    assert cash == {"HKD": "2500.75"}


async def test_an_overdraft_is_refused(harbour_stack: HarbourStack) -> None:
    client_id = f"PLATFORM-{uuid.uuid4().hex[:8]}"
    await onboard(harbour_stack, client_id)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await harbour_stack.accounts.WithdrawCash(
            accounts.WithdrawCashRequest(
                request_id=request_id(),
                client_id=client_id,
                amount=Amount(asset="HKD", value="0.01"),
                reference="atm",
            )
        )
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_a_platform_follows_its_client_through_the_feed(harbour_stack: HarbourStack) -> None:
    client_id = f"PLATFORM-{uuid.uuid4().hex[:8]}"
    await onboard(harbour_stack, client_id)
    await harbour_stack.accounts.DepositCash(
        accounts.DepositCashRequest(
            request_id=request_id(),
            client_id=client_id,
            amount=Amount(asset="HKD", value="100.00"),
            reference="bank-transfer-2",
        )
    )
    # A trading platform names the clients it follows and sees only their account streams.
    events = [
        event
        async for event in harbour_stack.feed.Subscribe(
            feed.FeedServiceSubscribeRequest(
                client_ids=[client_id],
                event_types=["CashDeposited"],
                max_events=1,
                idle_seconds=10,
            ),
            metadata=(("x-harbour-principal", "desk:trading-platform"),),
        )
    ]
    assert [(e.stream_id, e.cash_deposited.amount.value) for e in events] == [
        (f"account-{client_id}", "100.00")
    ]
