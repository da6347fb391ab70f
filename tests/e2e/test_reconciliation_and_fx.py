"""FX and reconciliation through real servers on loopback and a real PostgreSQL.

FX: cash in USD and USDT is valued in HKD at the rate the price service publishes (a
``PriceObserved`` of USD or USDT quoted in HKD) less its haircut; a rate move is a price tick
the risk monitor reacts to; a stale rate blocks a draw but never a margin call, whose basis
names it. Reconciliation: ``ReconcileStatement`` records a run and pages its breaks."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import grpc
import pytest

from harbour.accounts.projections import Balances
from harbour.api.v1 import accounts_pb2
from harbour.api.v1.common_pb2 import Amount, PageRequest
from harbour.application.decoding import domain_event
from harbour.ledger import events as ev
from tests.e2e.callers import OPERATOR, PLATFORM, rid
from tests.e2e.followers import caught_up
from tests.e2e.test_audit_service import details
from tests.e2e.test_lending_service import Stack, stack

__all__ = ["stack"]  # the lending stack fixture: accounts, collateral and lending servers


async def deposit_cash(stack: Stack, client: str, code: str, value: str) -> None:
    await stack.accounts.DepositCash(
        accounts_pb2.DepositCashRequest(
            request_id=rid(),
            client_id=client,
            amount=Amount(asset=code, value=value),
            reference="bank",
        ),
        metadata=PLATFORM,
    )


async def recorded(stack: Stack, client: str, event_type: str) -> list[ev.Event]:
    events = await stack.store.read_stream(f"account-{client}")
    return [domain_event(e) for e in events if e.type == event_type]


async def until_recorded(stack: Stack, client: str, event_type: str) -> ev.Event:
    for _ in range(200):
        found = await recorded(stack, client, event_type)
        if found:
            return found[-1]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {event_type} on account-{client}")


def rates(basis: ev.DecisionBasis) -> dict[str, str]:
    return {p.base_asset: str(p.price) for p in basis.prices if p.base_asset in ("USD", "USDT")}


async def test_usd_and_usdt_cash_count_at_the_rate_and_a_rate_moves_risk(stack: Stack) -> None:
    # Collateral: 0700.HK 1,000 at 400 (30% haircut) = 280,000; BTC 1 at 500,000 (60%) =
    # 200,000. Cash: USD 1,000.00 at 7.80 less 5% = 7,410; USDT 10,000 at 7.75 less 10% =
    # 69,750. CV = 557,160 (the VA cap admits all the BTC).
    await stack.price("USD", "7.80")
    await stack.price("USDT", "7.75")
    await stack.borrower("C1")
    await deposit_cash(stack, "C1", "USD", "1000.00")
    await deposit_cash(stack, "C1", "USDT", "10000.000000")
    drawn = await stack.draw("C1", "490000.00")
    assert drawn.utilisation_after == "0.879461"  # 490,000 / 557,160, rounded up
    (advance,) = await recorded(stack, "C1", "LoanAdvanced")
    assert isinstance(advance, ev.LoanAdvanced)
    assert rates(advance.basis) == {"USD": "7.80", "USDT": "7.75"}
    assert advance.risk_after.marginable_value.minor == 557_160_00
    await stack.withdraw_cash("C1", "490000.00")

    # USDT loses its peg: 10,000 at 6.00 less 10% = 54,000, CV 541,410, U 0.905 > 90%. The
    # rate is a price tick: the risk monitor warns by itself.
    await caught_up(stack.store, [Balances()], clock=stack.clock)
    await stack.price("USDT", "6.00")
    warning = await until_recorded(stack, "C1", "EarlyWarningIssued")
    assert isinstance(warning, ev.EarlyWarningIssued)
    assert rates(warning.basis) == {"USD": "7.80", "USDT": "6.00"}
    assert warning.risk.marginable_value.minor == 541_410_00

    # Two minutes on, every feed but USDT's has ticked: its stale rate refuses a draw...
    stack.clock.now += timedelta(seconds=121)
    for code, price in (("USD", "7.80"), ("BTC", "500000.00"), ("0700.HK", "400.00")):
        await stack.price(code, price)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stack.draw("C1", "1.00")
    assert details(refused.value)[0] == "stale_price"
    assert "USDT" in (refused.value.details() or "")

    # ...but never a margin call: 0700.HK at 300 puts CV at 471,410 (U 1.04), and the call
    # is issued on the last USDT rate, recorded as stale.
    await stack.price("0700.HK", "300.00")
    await stack.check("C1")
    call = await until_recorded(stack, "C1", "MarginCallIssued")
    assert isinstance(call, ev.MarginCallIssued)
    assert call.basis.stale_assets == ("USDT",)
    assert rates(call.basis) == {"USD": "7.80", "USDT": "6.00"}
    assert call.call_amount.minor == 490_000_00 - 471_410_00


async def test_a_statement_is_reconciled_over_grpc_and_its_breaks_paged(stack: Stack) -> None:
    await stack.borrower("C1")
    await deposit_cash(stack, "C1", "HKD", "100.00")
    statement = (
        b"client_id,security,quantity\n"
        b"C1,0700.HK,999\n"  # the ledger holds 1,000
        b"C9,0700.HK,5\n"  # nobody
        b"C1,0005.HK,1.5\n"  # not whole shares
    )
    request = accounts_pb2.ReconcileStatementRequest(
        request_id=rid(),
        run_id="sms-1",
        source=accounts_pb2.STATEMENT_SOURCE_SECURITIES,
        statement=statement,
        file_name="positions.csv",
        page_size=2,
    )
    first = await stack.accounts.ReconcileStatement(request, metadata=OPERATOR)
    assert first.result.stream_id == "reconciliation-sms-1" and not first.result.replayed
    assert (first.run.breaks_found, first.run.lines_read, first.run.balances_matched) == (3, 3, 0)
    assert [(b.cause, b.line, b.difference) for b in first.breaks] == [
        ("amount_differs", 2, "-1"),
        ("unknown_client", 3, ""),
    ]
    rest = await stack.accounts.GetReconciliationRun(
        accounts_pb2.GetReconciliationRunRequest(
            run_id="sms-1", page=PageRequest(page_token=first.page.next_page_token)
        ),
        metadata=OPERATOR,
    )
    assert [(b.cause, b.line) for b in rest.breaks] == [("malformed_line", 4)]
    assert rest.page.next_page_token == "" and rest.run == first.run
    again = await stack.accounts.ReconcileStatement(request, metadata=OPERATOR)
    assert again.result.replayed and again.run == first.run

    with pytest.raises(grpc.aio.AioRpcError) as refused:  # a bank file sent as positions
        await stack.accounts.ReconcileStatement(
            accounts_pb2.ReconcileStatementRequest(
                request_id=rid(),
                run_id="sms-2",
                source=accounts_pb2.STATEMENT_SOURCE_SECURITIES,
                statement=b"client_id,currency,balance\nC1,HKD,100.00\n",
            ),
            metadata=OPERATOR,
        )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.aio.AioRpcError) as denied:  # reconciling is an operator's job
        await stack.accounts.ReconcileStatement(request, metadata=PLATFORM)
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
