"""Deterministic simulation of the accounts domain.

A seeded random walk of commands over many accounts runs through the pure deciders (no I/O,
no clock but the simulated one); every invariant is checked after every step. A failure
names its seed; `HARBOUR_SIM_SEED=<seed> pytest tests/unit/accounts/test_simulation.py`
replays exactly that run.
"""

from __future__ import annotations

import os
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from harbour.accounts import domain as d
from harbour.ledger import events as ev
from harbour.ledger.account import (
    Lifecycle,
    MarginAccount,
    evolve,
    from_snapshot,
    replay,
    to_snapshot,
)
from harbour.ledger.errors import DomainError
from harbour.ledger.grades import CreditGrade
from harbour.ledger.money import Money
from harbour.ledger.postings import client_of

SEEDS = [int(os.environ["HARBOUR_SIM_SEED"])] if "HARBOUR_SIM_SEED" in os.environ else range(24)
STEPS = 400
CASH = ("HKD", "USD", "USDT")
COLLATERAL = ("BTC", "ETH", "0700.HK")
SCALE = {"HKD": 2, "USD": 2, "USDT": 6, "BTC": 8, "ETH": 18, "0700.HK": 0}


@dataclass
class World:
    seed: int
    rng: random.Random
    now: datetime = datetime(2026, 11, 25, tzinfo=UTC)
    accounts: dict[str, MarginAccount] = field(default_factory=dict)
    history: dict[str, list[ev.Event]] = field(default_factory=lambda: defaultdict(list))
    ledger: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    refusals: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def money(self, codes: tuple[str, ...]) -> Money:
        code = self.rng.choice(codes)
        minor = self.rng.choice([1, self.rng.randint(1, 10**6), self.rng.randint(1, 10**12)])
        return Money.of(code, _text(minor, SCALE[code]))

    def command(self) -> d.Command:
        known = sorted(self.accounts)
        if not known or self.rng.random() < 0.08:
            client = f"S{len(known) + self.rng.randint(0, 2)}"  # sometimes an existing id
            grade = self.rng.choice([None, *CreditGrade])
            return d.OnboardClient(
                client,
                self.rng.choice([None, "SMA"]),
                "CA",
                grade,
                self.rng.choice([None, Money.of("HKD", "1000.00")]),
                self.rng.choice([None, "MA"]),
                self.rng.choice([None, "VA"]),
                self.rng.random() < 0.2,
            )
        client = self.rng.choice([*known, "GHOST"])
        state = self.accounts.get(client)
        pick = self.rng.random()
        if pick < 0.25:
            return d.DepositCash(client, self.money(CASH), "bank")
        if pick < 0.45:
            return d.WithdrawCash(client, self._some_of(state, CASH), "bank")
        if pick < 0.65:
            return d.DepositCollateral(client, self.money(COLLATERAL), "wallet")
        if pick < 0.85:
            return d.WithdrawCollateral(client, self._some_of(state, COLLATERAL), "wallet")
        if pick < 0.92:
            return d.SuspendAccount(client, "sim")
        if pick < 0.97:
            return d.ResumeAccount(client, "sim")
        return d.CloseAccount(client)

    def _some_of(self, state: MarginAccount | None, codes: tuple[str, ...]) -> Money:
        # Mostly within the holding, sometimes beyond it (must be refused).
        code = self.rng.choice(codes)
        held = 0 if state is None else (state.cash if code in CASH else state.collateral).get(code)
        if held > 0 and self.rng.random() < 0.7:
            return Money.of(code, _text(self.rng.randint(1, held), SCALE[code]))
        return Money.of(code, _text(held + self.rng.randint(1, 1000), SCALE[code]))

    def step(self) -> str:
        self.now += timedelta(seconds=self.rng.randint(1, 3600))
        command = self.command()
        state = self.accounts.get(command.client_id, MarginAccount.initial(command.client_id))
        try:
            events = d.decide(state, command, d.Context(self.now))
        except DomainError as refusal:
            self.refusals[refusal.reason] += 1
            return command.client_id
        for event in events:
            self._check_outflow_allowed(state, event)
            state = evolve(state, event)
            self.history[command.client_id].append(event)
            for posting in ev.journal_of(event) or ():
                self.ledger[(posting.ledger_account, posting.asset)] += posting.amount
        self.accounts[command.client_id] = state
        return command.client_id

    def _check_outflow_allowed(self, state: MarginAccount, event: ev.Event) -> None:
        if isinstance(event, ev.CashWithdrawn | ev.CollateralWithdrawn):
            assert not state.suspended, "money left a suspended account"
            assert state.status is not Lifecycle.CLOSED, "money left a closed account"

    def check_invariants(self, clients: list[str] | None = None) -> None:
        """The whole ledger's trial balance, and every check on ``clients`` (default: all)."""
        totals: dict[str, int] = defaultdict(int)
        for (_, code), amount in self.ledger.items():
            totals[code] += amount
        assert all(v == 0 for v in totals.values()), f"trial balance broken: {dict(totals)}"
        for client in self.accounts if clients is None else clients:
            state = self.accounts.get(client)
            if state is None:
                continue
            for code, minor in (*state.cash, *state.collateral):
                assert minor >= 0, f"{client} holds {minor} of {code}"
            for kind, balances in (("cash", state.cash), ("custody", state.collateral)):
                for code, minor in balances:
                    assert self.ledger[(f"client:{client}:{kind}", code)] == minor
            if state.status is Lifecycle.CLOSED:
                assert not state.has_balances, f"closed account {client} still holds assets"
            assert replay(client, self.history[client]) == state, "replay disagrees"
            assert from_snapshot(to_snapshot(state)) == state, "snapshot round trip"
        for (account, _), _amount in self.ledger.items():
            owner = client_of(account)
            assert owner is None or owner[0] in self.accounts, f"posting to unknown {account}"

    def check_codec(self) -> None:
        for events in self.history.values():
            for event in events:
                assert ev.decode(*ev.encode(event)) == event


def _text(minor: int, scale: int) -> str:
    if scale == 0:
        return str(minor)
    whole, fraction = divmod(minor, 10**scale)
    return f"{whole}.{fraction:0{scale}d}"


@pytest.mark.parametrize("seed", SEEDS)
def test_random_walks_keep_every_invariant(seed: int) -> None:
    world = World(seed, random.Random(seed))
    for step in range(STEPS):
        try:
            world.check_invariants([world.step()])
        except AssertionError as broken:
            raise AssertionError(
                f"seed {seed} broke at step {step}: {broken}\n"
                f"replay: HARBOUR_SIM_SEED={seed} pytest tests/unit/accounts/test_simulation.py"
            ) from broken
    world.check_invariants()
    world.check_codec()
    # The walk must actually exercise both sides: plenty of decisions and of refusals.
    assert sum(len(h) for h in world.history.values()) > 100
    assert {"insufficient_balance", "insufficient_collateral"} <= set(world.refusals)


def test_the_same_seed_replays_exactly() -> None:
    first, second = World(7, random.Random(7)), World(7, random.Random(7))
    for _ in range(200):
        first.step()
        second.step()
    assert first.accounts == second.accounts and first.ledger == second.ledger
