"""Snapshots keep loads short and are only ever a cache."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg

from harbour.eventstore.model import NewEvent, RecordedEvent
from harbour.eventstore.store import EventStore
from harbour.eventstore.streams import Loaded, Wanted, load_stream, load_streams, snapshot_if_due
from harbour.runtime.settings import libpq_url


@dataclass(frozen=True)
class Tally:
    cents: int = 0
    deposits: int = 0


def evolve(state: Tally, event: RecordedEvent) -> Tally:
    if event.type == "CashDeposited":
        return Tally(state.cents + int(event.data["cents"]), state.deposits + 1)
    return state


class TallyCodec:
    schema_version = 1

    def to_json(self, state: Tally) -> Mapping[str, Any]:
        return {"cents": str(state.cents), "deposits": state.deposits}

    def from_json(self, data: Mapping[str, Any]) -> Tally:
        return Tally(int(data["cents"]), int(data["deposits"]))


async def grow(store: EventStore, count: int, start: int = 0) -> None:
    for n in range(start, start + count):
        await store.append(
            "account-S", [NewEvent("CashDeposited", {"cents": n})], expected_version=n
        )


async def load(store: EventStore, codec: Any = None) -> Any:
    return await load_stream(store, "account-S", initial=Tally(), evolve=evolve, codec=codec)


async def test_a_snapshot_shortens_the_replay_and_changes_no_answer(
    store: EventStore, database_url: str
) -> None:
    codec = TallyCodec()
    await grow(store, 30)
    first = await load(store, codec)
    assert (first.state, first.version, first.replayed) == (Tally(435, 30), 30, 30)
    assert await snapshot_if_due(store, "account-S", first, codec, every=25)
    await grow(store, 5, start=30)
    second = await load(store, codec)
    assert (second.version, second.replayed) == (35, 5)  # only the events after the snapshot
    assert second.state == (await load(store)).state == Tally(sum(range(35)), 35)

    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        conn.execute("DELETE FROM snapshots")  # a cache may be dropped at any time
    assert (await load(store, codec)).state == second.state


async def test_a_snapshot_of_an_older_shape_is_ignored(store: EventStore) -> None:
    await grow(store, 3)
    await store.save_snapshot("account-S", 3, {"legacy": True}, schema_version=0)
    loaded = await load(store, TallyCodec())
    assert (loaded.state, loaded.replayed) == (Tally(3, 3), 3)


async def test_state_as_of_a_position_ignores_newer_snapshots(database: Any) -> None:
    store = EventStore(database, clock=lambda: datetime.now(UTC))
    await grow(store, 10)
    cut = (await store.read_stream("account-S"))[3].position
    codec = TallyCodec()
    await snapshot_if_due(store, "account-S", await load(store, codec), codec, every=1)
    as_of = await load_stream(
        store, "account-S", initial=Tally(), evolve=evolve, codec=codec, up_to_position=cut
    )
    assert (as_of.state, as_of.version) == (Tally(0 + 1 + 2 + 3, 4), 4)


async def test_many_streams_load_together_exactly_as_each_alone(store: EventStore) -> None:
    # One stream with a snapshot and events after it, one with an older-shaped snapshot,
    # one with events only, one never written: two round trips for all of them, and each
    # state, version and replay count the same as load_stream gives it alone.
    codec = TallyCodec()
    for stream, count in (("account-A", 12), ("account-B", 4), ("account-C", 3)):
        for n in range(count):
            await store.append(
                stream, [NewEvent("CashDeposited", {"cents": n})], expected_version=n
            )
    alone_a = await load_stream(store, "account-A", initial=Tally(), evolve=evolve, codec=codec)
    await snapshot_if_due(store, "account-A", alone_a, codec, every=1)
    await store.append(
        "account-A", [NewEvent("CashDeposited", {"cents": 100})], expected_version=12
    )
    await store.save_snapshot("account-B", 2, {"legacy": True}, schema_version=0)

    streams = ["account-A", "account-B", "account-C", "account-D"]
    together = await load_streams(store, [Wanted(s, Tally(), evolve, codec) for s in streams])
    for stream in streams:
        alone = await load_stream(store, stream, initial=Tally(), evolve=evolve, codec=codec)
        assert together[stream] == alone
    assert (together["account-A"].version, together["account-A"].replayed) == (13, 1)
    assert together["account-B"] == Loaded(Tally(6, 4), 4, 4)  # the old shape ignored
    assert together["account-D"] == Loaded(Tally(), 0, 0)
