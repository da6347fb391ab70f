"""When a stream's state is snapshotted, and how: the snapshot codecs of the kinds that have one.

A snapshot is a cache (the store ignores one of another codec version and replays instead): a
stream is snapshotted once it has grown ``every`` events past its last snapshot, so loading it
never replays more than that.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from harbour.eventstore.store import EventStore
from harbour.eventstore.streams import Loaded, StateCodec, snapshot_if_due
from harbour.ledger.account import SNAPSHOT_VERSION, MarginAccount, from_snapshot
from harbour.ledger.account import to_snapshot as account_snapshot
from harbour.ledger.exposure import SNAPSHOT_VERSION as EXPOSURE_SNAPSHOT_VERSION
from harbour.ledger.exposure import BrokerExposure
from harbour.ledger.exposure import from_snapshot as exposure_from_snapshot
from harbour.ledger.exposure import to_snapshot as exposure_snapshot

S = TypeVar("S")


class AccountSnapshots:
    """The event store's snapshot codec for margin accounts."""

    schema_version = SNAPSHOT_VERSION

    def to_json(self, state: MarginAccount) -> Mapping[str, Any]:
        return account_snapshot(state)

    def from_json(self, data: Mapping[str, Any]) -> MarginAccount:
        return from_snapshot(dict(data))


class ExposureSnapshots:
    """Snapshots of ``broker-exposure``: every advance and repayment appends to it, so it is
    the longest stream there is and is never replayed from the start."""

    schema_version = EXPOSURE_SNAPSHOT_VERSION

    def to_json(self, state: BrokerExposure) -> Mapping[str, Any]:
        return exposure_snapshot(state)

    def from_json(self, data: Mapping[str, Any]) -> BrokerExposure:
        return exposure_from_snapshot(dict(data))


async def snapshot_when_due(
    store: EventStore, stream: str, loaded: Loaded[S], codec: StateCodec[S] | None, every: int
) -> Loaded[S] | None:
    """Snapshot a stream that has grown ``every`` events past its last one. Returns the state
    the cache should keep then (None: no snapshot was due)."""
    if codec is None or loaded.replayed < every:
        return None
    await snapshot_if_due(store, stream, loaded, codec, every=every)
    # Count replays from the new snapshot again, or every later command would save one.
    return Loaded(loaded.state, loaded.version, 0)
