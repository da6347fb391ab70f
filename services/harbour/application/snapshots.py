"""When a stream's state is snapshotted, and how: the snapshot codecs of the kinds that have one.

A snapshot is a cache (the store ignores one of another codec version and replays instead): a
stream is snapshotted once it has grown ``every`` events past its last snapshot, so loading it
never replays more than that.
"""

from __future__ import annotations

import asyncio
import logging
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

log = logging.getLogger("harbour.application.snapshots")


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


async def snapshot_off_the_path(
    store: EventStore, stream: str, loaded: Loaded[S], codec: StateCodec[S]
) -> None:
    """Save a snapshot of ``loaded`` with its encoding in a worker thread (the state is
    immutable, so reading it there is safe). A failure is logged and left: a snapshot is a
    cache, and the next one is due ``every`` events later."""
    try:
        document = await asyncio.to_thread(codec.to_json, loaded.state)
        await store.save_snapshot(stream, loaded.version, document, codec.schema_version)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.warning("snapshot of %s at version %d not saved", stream, loaded.version, exc_info=True)
