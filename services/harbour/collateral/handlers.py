"""The collateral service's command handling and valuations.

Prices and policy changes go through the shared runner (load -> decide -> append on
``price-<ASSET>`` and ``policy-collateral``). A single valuation reads the account, the
prices and the policy from their streams; a batch reads holdings from the ``balances`` read
model in one query and says which feed position it reflects.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from harbour.accounts.schema import balances
from harbour.collateral.domain import (
    PolicyCommand,
    PolicyContext,
    PriceContext,
    RecordPrice,
    decide_policy,
    decide_price,
)
from harbour.commands import CommandRunner, Outcome
from harbour.eventstore.schema import projection_checkpoints
from harbour.kinds import POLICY, PRICES, load_account, market, policy_at
from harbour.ledger import events as ev
from harbour.ledger.errors import AccountNotFound
from harbour.ledger.policy import POLICY_STREAM
from harbour.ledger.postings import CLIENT_ACCOUNT_KINDS
from harbour.ledger.prices import PriceTrack, price_stream
from harbour.ledger.valuation import Holdings, Valuation, holdings_of, value_accounts

Clock = Callable[[], datetime]
HELD_KINDS = frozenset({"cash", "custody"})
OWED_KINDS = frozenset(CLIENT_ACCOUNT_KINDS) - HELD_KINDS


class CollateralHandlers:
    def __init__(self, runner: CommandRunner, *, clock: Clock) -> None:
        self.runner = runner
        self._clock = clock

    def now(self) -> datetime:
        return self._clock()

    # ------------------------------------------------------------------------- commands
    async def record_price(
        self,
        command: RecordPrice,
        *,
        request_id: str,
        request: Mapping[str, Any],
        metadata: Mapping[str, Any],
    ) -> Outcome:
        now = self._clock()
        context = PriceContext(now, await policy_at(self.runner, now))
        decided: list[ev.Event] = []

        def decide(track: PriceTrack) -> list[ev.Event]:
            decided[:] = decide_price(track, command, context)
            return decided

        return await self.runner.run(
            PRICES,
            price_stream(command.asset),
            decide,
            request_id=request_id,
            request=request,
            metadata=metadata,
            respond=lambda _: _price_response(decided),
        )

    async def change_policy(
        self,
        command: PolicyCommand,
        *,
        actor: str,
        request_id: str,
        request: Mapping[str, Any],
        metadata: Mapping[str, Any],
    ) -> Outcome:
        context = PolicyContext(self._clock(), actor)
        return await self.runner.run(
            POLICY,
            POLICY_STREAM,
            lambda history: decide_policy(history, command, context),
            request_id=request_id,
            request=request,
            metadata=metadata,
            respond=lambda history: {"policy_version": history.latest.version},
        )

    # ------------------------------------------------------------------------- valuations
    async def value(self, client_id: str) -> tuple[Valuation, int]:
        """One account now, from its stream; returns the valuation and the version valued."""
        account, version = await load_account(self.runner, client_id)
        if not account.exists:
            raise AccountNotFound(f"client {client_id} has no margin account")
        holdings = holdings_of(account)
        now = self._clock()
        policy, prices = await market(self.runner, now, [*holdings.assets, *holdings.debt])
        return value_accounts([holdings], prices, policy, now)[0], version

    async def value_many(self, client_ids: Sequence[str]) -> tuple[list[Valuation], int]:
        """Many accounts (every client with a balance when ``client_ids`` is empty), from the
        balances read model; returns the valuations and the feed position they reflect."""
        holdings, position = await self._holdings(client_ids)
        codes = {code for h in holdings for code in (*h.assets, *h.debt)}
        now = self._clock()
        policy, prices = await market(self.runner, now, codes)
        return value_accounts(holdings, prices, policy, now), position

    async def _holdings(self, client_ids: Sequence[str]) -> tuple[list[Holdings], int]:
        query = sa.select(balances.c.ledger_account, balances.c.asset, balances.c.amount)
        if client_ids:
            names = [f"client:{c}:{kind}" for c in client_ids for kind in CLIENT_ACCOUNT_KINDS]
            query = query.where(balances.c.ledger_account.in_(names))
        else:
            query = query.where(balances.c.ledger_account.startswith("client:"))
        held: dict[str, dict[str, int]] = defaultdict(dict)
        owed: dict[str, dict[str, int]] = defaultdict(dict)
        async with self.runner.store.engine.connect() as conn:
            # One snapshot for the rows and the checkpoint they reflect.
            await conn.execute(sa.text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
            rows = (await conn.execute(query)).all()
            checkpoint = await conn.scalar(
                sa.select(projection_checkpoints.c.position).where(
                    projection_checkpoints.c.name == "balances"
                )
            )
        for ledger_account, code, amount in rows:
            _, client, kind = ledger_account.split(":")
            minor = int(amount)
            if kind in HELD_KINDS:
                held[client][code] = held[client].get(code, 0) + minor
            elif kind in OWED_KINDS:  # owed balances are negative: the client owes minus them
                owed[client][code] = owed[client].get(code, 0) - minor
        clients = list(client_ids) if client_ids else sorted(set(held) | set(owed))
        result = [
            Holdings(
                client,
                {c: q for c, q in held.get(client, {}).items() if q},
                {c: q for c, q in owed.get(client, {}).items() if q},
            )
            for client in clients
        ]
        return result, int(checkpoint or 0)


def _price_response(decided: Sequence[ev.Event]) -> dict[str, Any]:
    (event,) = decided
    if isinstance(event, ev.PriceRejected):
        return {"accepted": False, "rejection_reason": event.reason}
    return {"accepted": True, "rejection_reason": ""}
