"""Every kind of stream the services decide on, and how each stream is named: the one registry.

| stream | kind | folds into |
|---|---|---|
| ``account-<client>`` | ``ACCOUNTS`` | the :class:`MarginAccount` (snapshotted) |
| ``broker-exposure`` | ``EXPOSURE`` | the :class:`BrokerExposure` (snapshotted; hot) |
| ``broker-limits`` | ``LIMITS`` | the :class:`BrokerLimits` breached and cleared |
| ``price-<ASSET>`` | ``PRICES`` | the asset's :class:`PriceTrack` |
| ``policy-collateral`` | ``POLICY`` | the :class:`PolicyHistory` |
| ``calendar-HKEX`` | ``CALENDAR`` | the :class:`MarketCalendar` (shipped data + closures) |
| ``stress-<run>`` | ``STRESS_RUNS`` | how many runs it holds (one: the run id is unique) |
| ``reconciliation-<run>`` | ``RECONCILIATION_RUNS`` | the same, for reconciliation runs |

The kernel keeps the names it parses itself (``PriceTrack.of_stream`` reads the asset from
``price-<ASSET>``), and they are re-exported here, so the application and its read side name
every stream from this module. The feed's scope (``harbour.feed.scope``) is pure and may not
import the store, so it keeps its own table of prefixes; tests/unit/test_event_protos.py holds
it to this one. The audit's pure replay names ``account-`` itself, for the same reason.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from harbour.application.decoding import domain_event
from harbour.application.snapshots import AccountSnapshots, ExposureSnapshots
from harbour.eventstore.model import RecordedEvent
from harbour.eventstore.streams import Loaded, StateCodec
from harbour.ledger import events as ev
from harbour.ledger.account import MarginAccount, evolve
from harbour.ledger.calendar import (
    CALENDAR_STREAM_PREFIX,
    HKEX,
    MarketCalendar,
    calendar_stream,
    evolve_calendar,
    hkex_calendar,
)
from harbour.ledger.exposure import EXPOSURE_STREAM, BrokerExposure, evolve_exposure
from harbour.ledger.ids import ACCOUNT_STREAM_PREFIX, account_stream, check_id
from harbour.ledger.limits import LIMITS_STREAM, BrokerLimits, evolve_limits
from harbour.ledger.policy import POLICY_STREAM, PolicyHistory, evolve_policy
from harbour.ledger.prices import PRICE_STREAM_PREFIX, PriceTrack, evolve_price, price_stream

__all__ = [
    "ACCOUNTS",
    "ACCOUNT_STREAM_PREFIX",
    "CALENDAR",
    "CALENDAR_STREAM_PREFIX",
    "EXPOSURE",
    "EXPOSURE_STREAM",
    "HKEX",
    "LIMITS",
    "LIMITS_STREAM",
    "POLICY",
    "POLICY_STREAM",
    "PRICES",
    "PRICE_STREAM_PREFIX",
    "RECONCILIATION_RUNS",
    "RECONCILIATION_STREAM_PREFIX",
    "STRESS_RUNS",
    "STRESS_STREAM_PREFIX",
    "StreamKind",
    "account_stream",
    "calendar_stream",
    "price_stream",
    "reconciliation_stream",
    "stress_stream",
]

S = TypeVar("S")

STRESS_STREAM_PREFIX = "stress-"
RECONCILIATION_STREAM_PREFIX = "reconciliation-"


@dataclass(frozen=True)
class StreamKind(Generic[S]):
    """What a kind of stream folds into: its empty state, ``evolve`` and a snapshot codec."""

    initial: Callable[[str], S]  # stream id -> the state of an empty stream
    evolve: Callable[[S, ev.Event], S]
    codec: StateCodec[S] | None = None
    snapshot_every: int | None = None  # events between snapshots; None: the runner's default
    # A hot stream that many commands write (the broker's exposure): a process lets one
    # command at a time decide on it, so its commands queue instead of losing optimistic
    # races over and over. Other processes can still race; the version check settles that.
    serialised: bool = False
    # A state so big that encoding it takes seconds (the exposure at 100,000 groups: 3 MB):
    # its snapshot is saved by a background task, its encoding in a worker thread, so the
    # commands queued on the stream do not wait for it.
    snapshot_in_background: bool = False

    def evolve_recorded(self, state: S, recorded: RecordedEvent) -> S:
        return self.evolve(state, domain_event(recorded))

    def fold(self, state: S, events: Sequence[ev.Event]) -> S:
        for event in events:
            state = self.evolve(state, event)
        return state

    def grow(self, loaded: Loaded[S], added: Sequence[ev.Event]) -> Loaded[S]:
        """``loaded`` after ``added`` were appended to it (counted as replayed since its
        last snapshot, which is what decides the next one)."""
        return Loaded(
            self.fold(loaded.state, added),
            loaded.version + len(added),
            loaded.replayed + len(added),
        )


def stress_stream(run_id: str) -> str:
    return STRESS_STREAM_PREFIX + run_id


def reconciliation_stream(run_id: str) -> str:
    return RECONCILIATION_STREAM_PREFIX + check_id(run_id, "run_id")


def _account(stream: str) -> MarginAccount:
    return MarginAccount.initial(stream.removeprefix(ACCOUNT_STREAM_PREFIX))


def _policy(stream: str) -> PolicyHistory:
    return PolicyHistory()


# A snapshot holds every group (about 0.8 s to write at 100,000 borrowers, measured), while
# an event costs ~20 us to fold: snapshot rarely.
EXPOSURE: StreamKind[BrokerExposure] = StreamKind(
    BrokerExposure.of_stream,
    evolve_exposure,
    ExposureSnapshots(),
    snapshot_every=10_000,
    serialised=True,
    snapshot_in_background=True,
)


ACCOUNTS: StreamKind[MarginAccount] = StreamKind(_account, evolve, AccountSnapshots())
PRICES: StreamKind[PriceTrack] = StreamKind(PriceTrack.of_stream, evolve_price)
POLICY: StreamKind[PolicyHistory] = StreamKind(_policy, evolve_policy)
CALENDAR: StreamKind[MarketCalendar] = StreamKind(lambda _: hkex_calendar(), evolve_calendar)
LIMITS: StreamKind[BrokerLimits] = StreamKind(BrokerLimits.of_stream, evolve_limits)
# A run's stream holds its one event; its state is how many it holds.
STRESS_RUNS: StreamKind[int] = StreamKind(lambda _: 0, lambda count, _: count + 1)
RECONCILIATION_RUNS: StreamKind[int] = StreamKind(lambda _: 0, lambda count, _: count + 1)
