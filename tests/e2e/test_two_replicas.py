"""Services are stateless: two replicas of every service (each with its own pool, command
runner, state cache and group commit, as two pods would have) and two projectors, against one
PostgreSQL, under concurrent load — and every invariant holds: the version checks settle every
race, a request id sent to both replicas at once is applied once, the trial balance is zero,
the broker's exposure equals the loans, every chain verifies and every read model equals a
rebuild."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import grpc
import pytest
import sqlalchemy as sa

from harbour.accounts.projections import TRIAL_BALANCE_SQL
from harbour.api.v1 import (
    accounts_pb2,
    accounts_pb2_grpc,
    collateral_pb2,
    collateral_pb2_grpc,
    lending_pb2,
    lending_pb2_grpc,
)
from harbour.api.v1.common_pb2 import Amount, Price
from harbour.eventstore.database import Database
from harbour.eventstore.notify import FeedNotifier
from harbour.eventstore.projections import ProjectionRunner
from harbour.eventstore.store import EventStore
from harbour.eventstore.verify import verify_store
from harbour.runtime.database import open_database
from harbour.runtime.projections import all_projections
from harbour.runtime.server import RunningServer, Runtime, start_server, system_clock
from harbour.runtime.settings import Settings
from harbour.runtime.upcasting import vocabulary_upcasters
from harbour.testing.credit import approve_client_facts
from tests.e2e.callers import ALICE, BOB, FEED, OPERATOR, PLATFORM, RISK, at, rid

SERVICES = ("accounts", "collateral", "lending")
CLIENTS = 8
DRAWS_PER_CLIENT = 4


@dataclass
class Replica:
    accounts: Any
    collateral: Any
    lending: Any


@dataclass
class Replicas:
    a: Replica
    b: Replica
    servers: list[RunningServer]

    async def stop(self) -> None:
        """Both replicas down (their background loops too): the feed stops growing."""
        for server in self.servers:
            await server.stop(0)
        self.servers.clear()


@pytest.fixture
async def replicas(
    settings: Settings, database: Database, database_url: str
) -> AsyncIterator[Replicas]:
    second = await open_database(database_url, pool_size=10)  # its own pool, as a pod's
    servers: list[RunningServer] = []
    channels: list[grpc.aio.Channel] = []
    built: list[Replica] = []
    for db in (database, second):
        store = EventStore(
            db, clock=system_clock, notifier=FeedNotifier(db), upcasters=vocabulary_upcasters()
        )
        runtime = Runtime(settings, db, store, system_clock)
        stubs: dict[str, Any] = {}
        for name in SERVICES:
            server = await start_server(name, runtime, port=0, host="127.0.0.1")
            channel = grpc.aio.insecure_channel(f"127.0.0.1:{server.port}")
            servers.append(server)
            channels.append(channel)
            stubs[name] = channel
        built.append(
            Replica(
                accounts_pb2_grpc.AccountsServiceStub(stubs["accounts"]),
                collateral_pb2_grpc.CollateralServiceStub(stubs["collateral"]),
                lending_pb2_grpc.LendingServiceStub(stubs["lending"]),
            )
        )
    running = Replicas(built[0], built[1], servers)
    try:
        yield running
    finally:
        for channel in channels:
            await channel.close()
        await running.stop()
        await second.close()


def hkd(value: str) -> Amount:
    return Amount(asset="HKD", value=value)


async def market(a: Replica, b: Replica) -> None:
    proposal = rid()
    await a.collateral.ProposePolicyChange(
        collateral_pb2.ProposePolicyChangeRequest(
            request_id=rid(),
            proposal_id=proposal,
            parameters=[collateral_pb2.PolicyParameter(name="haircut.0700.HK", value="0.30")],
            effective_from=at(datetime.now(UTC)),
        ),
        metadata=ALICE,
    )
    # The checker approves through the other replica: the proposal is in the database.
    await b.collateral.ApprovePolicyChange(
        collateral_pb2.ApprovePolicyChangeRequest(request_id=rid(), proposal_id=proposal),
        metadata=BOB,
    )
    for replica, (asset, value) in ((a, ("BTC", "500000.00")), (b, ("0700.HK", "400.00"))):
        response = await replica.collateral.RecordPrice(
            collateral_pb2.RecordPriceRequest(
                request_id=rid(),
                price=Price(base_asset=asset, quote_asset="HKD", value=value),
                observed_at=at(datetime.now(UTC)),
                source="vendor-a",
            ),
            metadata=FEED,
        )
        assert response.accepted, response.rejection_reason


async def borrower(replica: Replica, client: str) -> None:
    await replica.accounts.OnboardClient(
        accounts_pb2.OnboardClientRequest(
            request_id=rid(),
            client_id=client,
            securities_margin_account_id=f"SMA-{client}",
            credit_grade="A",
            credit_limit=hkd("1000000.00"),
            margin_agreement_version="MA-2026",
            risk_disclosure_version="VARD-1",
        ),
        metadata=OPERATOR,
    )
    await approve_client_facts(replica.accounts, client)  # a second person approves the credit
    for asset, quantity in (("0700.HK", "1000"), ("BTC", "1")):
        await replica.accounts.DepositCollateral(
            accounts_pb2.DepositCollateralRequest(
                request_id=rid(),
                client_id=client,
                quantity=Amount(asset=asset, value=quantity),
                reference="custody",
            ),
            metadata=PLATFORM,
        )
    await replica.lending.ApproveFacility(
        lending_pb2.ApproveFacilityRequest(
            request_id=rid(),
            client_id=client,
            facility_id=f"F-{client}",
            credit_limit=hkd("1000000.00"),
            annual_rate="0.068",
        ),
        metadata=RISK,
    )


async def draw_on_both(a: Replica, b: Replica, client: str, amount: str) -> list[Any]:
    """The same request id to both replicas at once (a platform's retry to another pod)."""
    request = lending_pb2.DrawLoanRequest(request_id=rid(), client_id=client, amount=hkd(amount))
    return list(
        await asyncio.gather(
            a.lending.DrawLoan(request, metadata=PLATFORM),
            b.lending.DrawLoan(request, metadata=PLATFORM),
            return_exceptions=True,
        )
    )


async def test_two_replicas_of_every_service_keep_every_invariant(
    replicas: Replicas, database: Database
) -> None:
    a, b = replicas.a, replicas.b
    await market(a, b)
    clients = [f"R{n:02d}" for n in range(CLIENTS)]
    await asyncio.gather(*(borrower((a, b)[n % 2], c) for n, c in enumerate(clients)))
    rng = random.Random(7)
    drawn: dict[str, Decimal] = dict.fromkeys(clients, Decimal(0))

    async def load(client: str) -> None:
        for _ in range(DRAWS_PER_CLIENT):
            amount = f"{rng.randint(1000, 9000)}.{rng.randint(0, 99):02d}"
            first, second = await draw_on_both(a, b, client, amount)
            outcomes = [r for r in (first, second) if not isinstance(r, BaseException)]
            failures = [r for r in (first, second) if isinstance(r, BaseException)]
            # A loser of the race may be told ABORTED (try again); never a second application.
            for failure in failures:
                assert isinstance(failure, grpc.aio.AioRpcError), failure
                assert failure.code() == grpc.StatusCode.ABORTED, failure.details()
            assert outcomes, "one replica applied it"
            assert len({(o.result.stream_version, o.result.position) for o in outcomes}) == 1
            drawn[client] += Decimal(amount)
            # Cash moves through the other replica meanwhile (the account stream races).
            await rng.choice((a, b)).accounts.DepositCash(
                accounts_pb2.DepositCashRequest(
                    request_id=rid(), client_id=client, amount=hkd("10.00"), reference="bank"
                ),
                metadata=PLATFORM,
            )

    await asyncio.gather(*(load(c) for c in clients))

    for client in clients:
        for replica in (a, b):
            loan = (
                await replica.lending.GetLoan(
                    lending_pb2.GetLoanRequest(client_id=client), metadata=RISK
                )
            ).loan
            assert Decimal(loan.principal.value) == drawn[client], client
    exposure = await b.lending.GetBrokerExposure(
        lending_pb2.GetBrokerExposureRequest(), metadata=RISK
    )
    assert [(x.asset, Decimal(x.value)) for x in exposure.outstanding] == [
        ("HKD", sum(drawn.values()))
    ]
    async with database.engine.connect() as conn:
        assert (await conn.execute(sa.text(TRIAL_BALANCE_SQL))).all() == []
        advances = await conn.scalar(
            sa.text("SELECT count(*) FROM events WHERE type = 'LoanAdvanced'")
        )
    assert advances == CLIENTS * DRAWS_PER_CLIENT  # each request id applied exactly once

    # Two projectors race over the same read models: checkpoints keep each event counted once.
    await replicas.stop()
    store = EventStore(database, clock=system_clock, upcasters=vocabulary_upcasters())
    projectors = [ProjectionRunner(store, clock=system_clock, page_size=50) for _ in range(2)]

    async def project(runner: ProjectionRunner) -> None:
        for projection in all_projections():
            await runner.catch_up(projection)

    await asyncio.gather(*(project(r) for r in projectors))
    for projection in all_projections():
        assert await projectors[0].verify(projection) == [], projection.name
    assert (await verify_store(store)).intact
