"""A malformed event in one client's stream does not stop risk for the book: the lending
service's risk monitor skips it (recorded and logged) and still calls margin on another client
when prices crash. Accounts, collateral and lending servers on loopback, one real PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from harbour.api.v1 import accounts_pb2_grpc, collateral_pb2_grpc, lending_pb2, lending_pb2_grpc
from harbour.eventstore.database import Database
from harbour.eventstore.notify import FeedNotifier
from harbour.eventstore.projections import ProjectionRunner, ProjectionStatus
from harbour.eventstore.store import EventStore
from harbour.lending.projections import Loans
from harbour.runtime.server import RunningServer, Runtime, start_server
from harbour.runtime.settings import Settings
from harbour.runtime.supervisor import LoopState
from tests.e2e.callers import OPERATOR, ManualClock, rid
from tests.e2e.followers import caught_up
from tests.e2e.test_lending_service import Stack
from tests.integration.poison import POISON_TYPE, insert_poison


@pytest.fixture
async def served(
    settings: Settings, database: Database
) -> AsyncIterator[tuple[Stack, RunningServer]]:
    """test_lending_service's stack, with the lending server at hand (its loops' status)."""
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
    store = EventStore(database, clock=clock, notifier=FeedNotifier(database))
    runtime = Runtime(settings, database, store, clock)
    servers = [
        await start_server(name, runtime, port=0, host="127.0.0.1")
        for name in ("accounts", "collateral", "lending")
    ]
    channels = [grpc.aio.insecure_channel(f"127.0.0.1:{s.port}") for s in servers]
    stack = Stack(
        accounts_pb2_grpc.AccountsServiceStub(channels[0]),
        collateral_pb2_grpc.CollateralServiceStub(channels[1]),
        lending_pb2_grpc.LendingServiceStub(channels[2]),
        store,
        clock,
    )
    await stack.policy(**{"haircut.0700.HK": "0.30"})
    await stack.price("BTC", "500000.00")
    await stack.price("0700.HK", "400.00")
    yield stack, servers[2]
    for channel in channels:
        await channel.close()
    for server in servers:
        await server.stop(0)


async def monitor_status(store: EventStore) -> ProjectionStatus:
    runner = ProjectionRunner(store, clock=lambda: datetime.now(UTC))
    (status,) = await runner.statuses(["risk_monitor"], only=True)
    return status


async def until(condition: Callable[[], Awaitable[bool]], within: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def test_the_risk_monitor_skips_poison_and_still_calls_margin(
    served: tuple[Stack, RunningServer], database_url: str
) -> None:
    stack, lending = served
    for client in ("C1", "BAD"):  # same loan, same collateral: both fall into a call below
        await stack.borrower(client)
        await stack.draw(client, "400000.00")
        await stack.withdraw_cash(client, "400000.00")

    async def past_everything() -> bool:
        return (await monitor_status(stack.store)).behind == 0

    # The monitor has BAD's loan in its book before BAD's stream is poisoned, so the crash
    # below screens BAD too, and its check cannot load the account.
    await until(past_everything)
    poison = insert_poison(database_url, "account-BAD")

    async def poison_skipped() -> bool:
        return (await monitor_status(stack.store)).skipped > 0

    await until(poison_skipped)
    skipped = await monitor_status(stack.store)
    assert not skipped.quarantined and skipped.skipped == 1 and skipped.poison is not None
    assert (skipped.poison.position, skipped.poison.stream_id, skipped.poison.event_type) == (
        poison,
        "account-BAD",
        POISON_TYPE,
    )
    assert skipped.poison.reason.startswith("DecodeError")

    # The crash puts both in a call (U 1.0204); BAD's account cannot even be loaded now, C1's
    # call is issued by the monitor by itself.
    await stack.price("0700.HK", "280.00")

    async def called() -> bool:
        return (await stack.loan("C1")).risk_state == "margin_call"

    await until(called)
    issued = [
        e for e in await stack.store.read_stream("account-C1") if e.type == "MarginCallIssued"
    ]
    assert [e.metadata.get("actor") for e in issued] == ["risk-monitor"]

    assert lending.supervisor is not None
    for loop in lending.supervisor.statuses():
        assert loop.state is LoopState.UP and loop.restarts == 0, loop
    await until(past_everything)  # including the call it wrote itself
    assert (await monitor_status(stack.store)).skipped == 1  # nothing else skipped


async def test_an_interest_run_names_the_borrower_it_cannot_accrue_and_accrues_the_rest(
    served: tuple[Stack, RunningServer], database_url: str
) -> None:
    stack, _ = served
    for client in ("C1", "BAD"):
        await stack.borrower(client)
        await stack.draw(client, "100000.00")
    stack.clock.now += timedelta(days=2)
    await stack.price("BTC", "500000.00")
    await stack.price("0700.HK", "400.00")
    through = (stack.clock.now + timedelta(hours=8)).date() - timedelta(days=1)
    await caught_up(stack.store, [Loans()], clock=stack.clock)  # the rows name both
    poison = insert_poison(database_url, "account-BAD")

    run = await stack.lending.AccrueInterest(
        lending_pb2.AccrueInterestRequest(request_id=rid(), through=through.isoformat()),
        metadata=OPERATOR,
    )
    assert (list(run.not_accrued), run.not_accrued_count) == (["BAD"], 1)
    # C1 was accrued up to the day (by this run, or by the service's hourly scheduler, which
    # sees the clock move too); nothing was written to BAD's account past the malformed event.
    accrued = {
        e.data["accrual_date"]
        for e in await stack.store.read_stream("account-C1")
        if e.type == "InterestAccrued"
    }
    assert max(accrued) == through.isoformat()
    assert (await stack.store.read_stream("account-BAD"))[-1].position == poison
