"""The kinds of stream the services decide on, and the market inputs every valuation needs.

* ``account-<client>`` folds into a :class:`MarginAccount` (snapshotted);
* ``price-<ASSET>`` into a :class:`PriceTrack`;
* ``policy-collateral`` into the :class:`PolicyHistory`.

Every service that decides on an account reads prices and the policy from their own streams
(through the runner's cache), never from a read model, so a decision always rests on every
committed fact.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from harbour.commands import CommandRunner, StreamKind
from harbour.ledger import events as ev
from harbour.ledger.account import SNAPSHOT_VERSION, MarginAccount, evolve, from_snapshot
from harbour.ledger.account import to_snapshot as account_snapshot
from harbour.ledger.assets import REPORTING_CURRENCY
from harbour.ledger.ids import account_stream
from harbour.ledger.policy import POLICY_STREAM, CollateralPolicy, PolicyHistory, evolve_policy
from harbour.ledger.prices import PriceTrack, evolve_price, price_stream

ACCOUNT_STREAM_PREFIX = "account-"


class AccountSnapshots:
    """The event store's snapshot codec for margin accounts."""

    schema_version = SNAPSHOT_VERSION

    def to_json(self, state: MarginAccount) -> Mapping[str, Any]:
        return account_snapshot(state)

    def from_json(self, data: Mapping[str, Any]) -> MarginAccount:
        return from_snapshot(dict(data))


def _account(stream: str) -> MarginAccount:
    return MarginAccount.initial(stream.removeprefix(ACCOUNT_STREAM_PREFIX))


def _policy(stream: str) -> PolicyHistory:
    return PolicyHistory()


ACCOUNTS: StreamKind[MarginAccount] = StreamKind(_account, evolve, AccountSnapshots())
PRICES: StreamKind[PriceTrack] = StreamKind(PriceTrack.of_stream, evolve_price)
POLICY: StreamKind[PolicyHistory] = StreamKind(_policy, evolve_policy)


async def load_account(runner: CommandRunner, client_id: str) -> tuple[MarginAccount, int]:
    loaded = await runner.load(ACCOUNTS, account_stream(client_id))
    return loaded.state, loaded.version


async def policy_history(runner: CommandRunner) -> PolicyHistory:
    return (await runner.load(POLICY, POLICY_STREAM)).state


async def policy_at(runner: CommandRunner, instant: datetime) -> CollateralPolicy:
    return (await policy_history(runner)).as_of(instant)


async def market(
    runner: CommandRunner, instant: datetime, codes: Iterable[str]
) -> tuple[CollateralPolicy, dict[str, ev.PricePoint]]:
    """The policy in force at ``instant`` and the last price of each of ``codes``: what a
    risk decision rests on, read in one round trip once the streams are cached."""
    priced = sorted(set(codes) - {REPORTING_CURRENCY.code})
    states = await runner.load_many(
        [(POLICY, POLICY_STREAM), *((PRICES, price_stream(code)) for code in priced)]
    )
    history, tracks = states[0], states[1:]
    prices = {t.asset: t.last for t in tracks if t.last is not None}
    return history.as_of(instant), prices
