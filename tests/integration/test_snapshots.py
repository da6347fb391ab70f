"""Snapshots keep loads short and are only ever a cache."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg

from harbour.eventstore.model import NewEvent, RecordedEvent
from harbour.eventstore.store import EventStore
from harbour.eventstore.streams import load_stream, snapshot_if_due
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
