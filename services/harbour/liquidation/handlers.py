"""The liquidation service's command handling: load the account (and the broker's exposure
when principal may move), the policy and the marks; decide; append in one statement.

Marks and the policy are read from their own streams through the runner's cache, never from a
read model, so each decision rests on every committed fact and records which ones it used.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from harbour.application.group_commit import Decide, Unprepared
from harbour.application.market import load_account, market
from harbour.application.outcome import Outcome
from harbour.application.runner import CommandRunner
from harbour.application.streams import ACCOUNTS, EXPOSURE
from harbour.ledger import events as ev
from harbour.ledger.account import MarginAccount
from harbour.ledger.errors import AccountNotFound
from harbour.ledger.exposure import EXPOSURE_STREAM, BrokerExposure
from harbour.ledger.ids import account_stream
from harbour.liquidation.domain import (
    AdvanceLiquidation,
    Command,
    Context,
    SettleOrder,
    decide,
)
from harbour.liquidation.schema import liquidations

Clock = Callable[[], datetime]
ACTIVE = ("selling", "paused")


class LiquidationHandlers:
    def __init__(self, runner: CommandRunner, *, clock: Clock) -> None:
        self.runner = runner
        self._clock = clock

    def now(self) -> datetime:
        return self._clock()

    async def handle(
        self,
        command: Command,
        *,
        request_id: str,
        request: Mapping[str, Any],
        metadata: Mapping[str, Any],
        events: list[ev.Event] | None = None,
    ) -> Outcome:
        """Apply ``command`` once; ``events`` receives the account events decided.

        Settling an order repays principal, which moves the broker's exposure: it goes through
        the exposure stream's group commit (one statement per batch, as draws do), so a crash
        liquidating a thousand accounts does not queue them one round trip at a time. Every
        other command stays off the hot stream; an advance that turns out to move it (a
        shortfall takes principal off the books) is decided again on both streams."""
        actor = str(metadata.get("actor", ""))
        stream = account_stream(command.client_id)

        async def prepare(
            state: MarginAccount, _: BrokerExposure, reads: dict[str, int] | None = None
        ) -> Decide:
            now = self._clock()
            codes = _codes(state, command)
            policy, prices = await market(self.runner, now, codes, reads)

            def decide_now(
                state: MarginAccount, exposure: BrokerExposure
            ) -> tuple[Sequence[ev.Event], Sequence[ev.Event]]:
                if not _codes(state, command) <= codes:
                    raise Unprepared  # an earlier command of a batch brought a new asset
                decision = decide(state, command, Context(now, policy, prices, request_id, actor))
                if events is not None:
                    events[:] = decision.account
                return decision.account, decision.exposure

            return decide_now

        if isinstance(command, SettleOrder):
            return await self.runner.run_grouped(
                (ACCOUNTS, stream),
                (EXPOSURE, EXPOSURE_STREAM),
                prepare,
                request_id=request_id,
                request=request,
                metadata=metadata,
            )

        async def decide_alone(
            state: MarginAccount, reads: dict[str, int] | None
        ) -> Sequence[ev.Event]:
            decide_now = await prepare(state, BrokerExposure(), reads)
            account, exposure = decide_now(state, BrokerExposure())
            if exposure:
                raise _MovesExposure
            return account

        try:
            return await self.runner.run_reading(
                ACCOUNTS,
                stream,
                decide_alone,
                request_id=request_id,
                request=request,
                metadata=metadata,
            )
        except _MovesExposure:

            async def decide_both(
                state: MarginAccount, exposure: BrokerExposure
            ) -> tuple[Sequence[ev.Event], Sequence[ev.Event]]:
                return (await prepare(state, exposure))(state, exposure)

            return await self.runner.run_together(
                (ACCOUNTS, stream),
                (EXPOSURE, EXPOSURE_STREAM),
                decide_both,
                request_id=request_id,
                request=request,
                metadata=metadata,
            )

    async def mark(self, code: str) -> Decimal | None:
        """The last observed price of ``code`` (what the simulated venues quote around; a
        real venue has its own)."""
        _, prices = await market(self.runner, self._clock(), [code])
        point = prices.get(code)
        return None if point is None else point.price

    async def account(self, client_id: str) -> tuple[MarginAccount, int]:
        state, version = await load_account(self.runner, client_id)
        if not state.exists:
            raise AccountNotFound(f"client {client_id} has no margin account")
        return state, version

    async def active(self, limit: int) -> list[str]:
        """Clients with a liquidation selling or paused, oldest first (the read model the
        engine itself keeps current before it asks)."""
        async with self.runner.store.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(liquidations.c.client_id)
                .where(liquidations.c.state.in_(ACTIVE))
                .order_by(liquidations.c.position)
                .limit(limit)
            )
            return [row[0] for row in rows]


class _MovesExposure(Exception):
    """A decision made off the hot stream moved it after all: decide again on both."""


def _codes(state: MarginAccount, command: Command) -> set[str]:
    """Every asset the decision may value: holdings and debts (and what is quoted)."""
    codes = {code for code, _ in state.cash} | {code for code, _ in state.collateral}
    codes |= {code for code, _ in state.debt}
    if isinstance(command, AdvanceLiquidation):
        codes |= set(command.quotes)
    return codes
