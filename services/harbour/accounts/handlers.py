"""The accounts service's command handling: load the margin account, decide, append.

The mechanics (idempotency, optimistic retries, the state cache, snapshots) are the shared
:class:`harbour.application.runner.CommandRunner`'s; this module binds them to the
margin-account stream and the accounts decider.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from harbour.accounts.domain import (
    ApproveClientFact,
    ApproveCorrection,
    Command,
    Context,
    MovementNotFound,
    OriginalMovement,
    ProposeCorrection,
    WithdrawCash,
    WithdrawCollateral,
    decide,
)
from harbour.application.decoding import domain_event
from harbour.application.market import market
from harbour.application.outcome import Outcome
from harbour.application.runner import CommandRunner
from harbour.application.streams import ACCOUNTS
from harbour.eventstore.model import RecordedEvent
from harbour.eventstore.store import EventStore
from harbour.eventstore.streams import Loaded
from harbour.ledger import events as ev
from harbour.ledger.account import MarginAccount
from harbour.ledger.advance import AdvanceTest
from harbour.ledger.ids import account_stream

Clock = Callable[[], datetime]
__all__ = ["ACCOUNTS", "AccountHandlers", "Outcome", "evolve_recorded"]


def evolve_recorded(state: MarginAccount, recorded: RecordedEvent) -> MarginAccount:
    return ACCOUNTS.evolve_recorded(state, recorded)


class AccountHandlers:
    def __init__(
        self,
        store: EventStore,
        *,
        clock: Clock,
        snapshot_every: int = 100,
        cached: int = 200_000,
        runner: CommandRunner | None = None,
    ) -> None:
        self._clock = clock
        self.runner = runner or CommandRunner(store, snapshot_every=snapshot_every, cached=cached)

    def now(self) -> datetime:
        return self._clock()

    async def context(
        self,
        command: Command | None = None,
        state: MarginAccount | None = None,
        *,
        actor: str = "",
        original: OriginalMovement | None = None,
        reads: dict[str, int] | None = None,
    ) -> Context:
        """The decision context: the policy in force now and, for a movement out (a
        correction may be one), the advance test with the latest price of everything the
        account (``state``) holds or owes; the caller and the movement a correction names.
        ``reads``: the policy and prices as cached, for the append to check (see
        ``CommandRunner.run_reading``)."""
        now = self._clock()
        moves_out = isinstance(
            command, WithdrawCash | WithdrawCollateral | ProposeCorrection | ApproveCorrection
        )
        if isinstance(command, ApproveClientFact):
            # An approved credit assessment is judged against the minimum grade in force.
            policy, _ = await market(self.runner, now, [], reads)
            return Context(now, policy.minimum_credit_grade, actor=actor)
        if command is not None and not moves_out:
            # Deposits and the like need neither policy nor prices.
            return Context(now, actor=actor, original=original)
        codes = (
            [
                code
                for balances in (state.cash, state.collateral, state.debt)
                for code, minor in balances
                if minor
            ]
            if state is not None and moves_out
            else []
        )
        policy, prices = await market(self.runner, now, codes, reads)
        return Context(
            now, policy.minimum_credit_grade, AdvanceTest(policy, prices), actor, original
        )

    async def movement_version(self, client_id: str, position: int) -> int:
        """The version in the client's stream of the event at global ``position``."""
        found = await self.runner.store.read_all(
            after_position=position - 1, up_to_position=position, limit=1
        )
        if not found or found[0].stream_id != account_stream(client_id):
            raise MovementNotFound(f"no event of the account of {client_id} at position {position}")
        return found[0].version

    async def _original(self, command: Command, state: MarginAccount) -> OriginalMovement | None:
        """The event a correction names, read from the account's stream (None if absent).
        Stored events never change, so reading it before deciding is safe."""
        if isinstance(command, ProposeCorrection):
            version = command.original_version
        elif isinstance(command, ApproveCorrection):
            correction = state.correction(command.correction_id)
            if correction is None:
                return None
            version = correction.original_version
        else:
            return None
        if version < 1:
            return None
        found = await self.runner.store.read_stream(
            account_stream(command.client_id), after_version=version - 1, up_to_version=version
        )
        if not found:
            return None
        return OriginalMovement(version, found[0].position, domain_event(found[0]))

    async def load(
        self, client_id: str, *, up_to_position: int | None = None
    ) -> Loaded[MarginAccount]:
        return await self.runner.load(
            ACCOUNTS, account_stream(client_id), up_to_position=up_to_position
        )

    async def handle(
        self,
        command: Command,
        *,
        request_id: str,
        request: Mapping[str, Any],
        metadata: Mapping[str, Any],
        respond: Callable[[MarginAccount], Mapping[str, Any] | None] = lambda _: None,
        actor: str = "",
    ) -> Outcome:
        """Apply ``command`` once; ``request`` is what the caller sent (its fingerprint);
        ``actor`` the authenticated caller (a correction's or credit fact's maker or checker)."""

        async def decide_with_context(
            state: MarginAccount, reads: dict[str, int] | None
        ) -> list[ev.Event]:
            original = await self._original(command, state)
            context = await self.context(
                command, state, actor=actor, original=original, reads=reads
            )
            return decide(state, command, context)

        return await self.runner.run_reading(
            ACCOUNTS,
            account_stream(command.client_id),
            decide_with_context,
            request_id=request_id,
            request=request,
            metadata=metadata,
            respond=respond,
        )
