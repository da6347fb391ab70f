"""kill -9 of the liquidation process mid-sale: the restarted process resumes every liquidation
from its events and the venues' memory, and nothing is sold twice.

The accounts, collateral and lending servers run in this process (they set the crash up); the
liquidation service is a real `harbour serve liquidation` child, running while the crash is
checked client by client, SIGKILLed as soon as its first orders are recorded — while others
are being started, placed, sent or settled — and started again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa

from harbour.eventstore.database import Database
from harbour.runtime.settings import Settings
from tests.e2e.test_faults import Service
from tests.e2e.test_harbour_up import free_port_block
from tests.e2e.test_liquidation_service import (
    LiquidationStack,
    _trial_balance,
    assert_sold_once,
    serving,
)

CLIENTS = 32


@pytest.fixture
async def crashed(
    settings: Settings, database: Database
) -> AsyncIterator[tuple[LiquidationStack, list[str]]]:
    async with serving(settings, database, ("accounts", "collateral", "lending")) as stack:
        clients = [f"K{n:02d}" for n in range(CLIENTS)]
        for client in clients:
            await stack.borrow_and_spend(client, "400000.00")
        yield stack, clients


async def crash(stack: LiquidationStack, clients: list[str]) -> None:
    """BTC -50% and the shares to 290: every client past the forced-sale level, checked one
    after another (the running liquidation service starts selling as the first ones land)."""
    await stack.price("BTC", "250000.00")
    await stack.price("0700.HK", "290.00")
    for client in clients:
        await stack.check(client)


async def count(stack: LiquidationStack, sql: str) -> int:
    async with stack.store.engine.connect() as conn:
        return int(await conn.scalar(sa.text(sql)) or 0)


async def test_kill_9_mid_sale_resumes_without_a_second_sale(
    crashed: tuple[LiquidationStack, list[str]], database_url: str
) -> None:
    stack, clients = crashed
    service = Service("liquidation", database_url, free_port_block(1))
    await service.start()
    crashing = asyncio.create_task(crash(stack, clients))
    try:
        for _ in range(1000):  # kill it the moment its first orders are on record
            if await count(
                stack, "SELECT count(*) FROM events WHERE type = 'LiquidationOrderPlaced'"
            ):
                break
            await asyncio.sleep(0.01)
        service.kill()
        killed_with = await count(
            stack, "SELECT count(*) FROM events WHERE type = 'LiquidationCompleted'"
        )
        assert killed_with < CLIENTS, "the kill came too late to interrupt anything"
        await crashing
        started = await count(
            stack, "SELECT count(*) FROM events WHERE type = 'LiquidationStarted'"
        )
        assert started == CLIENTS
        await service.start()
        ended = 0
        for _ in range(600):
            ended = await count(
                stack,
                "SELECT count(DISTINCT stream_id) FROM events "
                "WHERE type IN ('LiquidationCompleted', 'ShortfallRecognised')",
            )
            if ended == CLIENTS:
                break
            await asyncio.sleep(0.1)
        assert ended == CLIENTS
    finally:
        crashing.cancel()
        service.stop()
    await assert_sold_once(stack, *clients)
    assert await _trial_balance(stack.store) == []
    open_orders = await count(
        stack,
        "SELECT (SELECT count(*) FROM events WHERE type = 'LiquidationOrderPlaced') - "
        "(SELECT count(*) FROM events WHERE type = 'LiquidationOrderSettled')",
    )
    assert open_orders == 0  # every reservation was settled or released
