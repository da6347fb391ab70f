"""Snapshots keep loads short and are only ever a cache."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

from harbour.application.outcome import new_event
from harbour.application.runner import CommandRunner
from harbour.application.streams import EXPOSURE
from harbour.eventstore.model import NewEvent, RecordedEvent
from harbour.eventstore.store import EventStore
from harbour.eventstore.streams import Loaded, Wanted, load_stream, load_streams, snapshot_if_due
from harbour.ledger import events as ev
from harbour.ledger.exposure import EXPOSURE_STREAM, BrokerExposure
from harbour.ledger.money import Money
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


# ----------------------------------------------------------- a hot stream, off the command path


def advances(count: int) -> list[ev.Event]:
    return [
        ev.BrokerExposureChanged(f"C-{n}", f"G-{n}", Money.of("HKD", "10.00"), "advance", f"r-{n}")
        for n in range(count)
    ]


async def test_a_hot_streams_snapshot_is_saved_in_the_background(store: EventStore) -> None:
    # The broker's exposure at 100,000 groups took ~3 s to encode, sign and store, inline, under
    # the stream's lock: every draw queued behind it. Now the command that makes it due returns
    # first, the cache counts from the snapshot at once, and the snapshot lands behind it.
    kind = replace(EXPOSURE, snapshot_every=3)
    assert kind.snapshot_in_background
    runner = CommandRunner(store)
    added = advances(3)
    await store.append(EXPOSURE_STREAM, [new_event(e) for e in added], expected_version=0)
    released = asyncio.Event()
    save = store.save_snapshot

    async def slow_save(*args: Any) -> None:
        await released.wait()  # a save that takes as long as the test says
        await save(*args)

    store.save_snapshot = slow_save  # type: ignore[method-assign]
    await asyncio.wait_for(  # returns while the save has not even begun
        runner.grown(kind, EXPOSURE_STREAM, Loaded(BrokerExposure(), 0, 0), added), 5
    )
    cached = await runner.current(kind, EXPOSURE_STREAM, trust=True)
    assert (cached.version, cached.replayed) == (3, 0)  # the next command starts no other
    assert await store.load_snapshot(EXPOSURE_STREAM) is None
    released.set()
    await runner.snapshots_saved()
    saved = await store.load_snapshot(EXPOSURE_STREAM)
    assert saved is not None and saved[0] == 3
    assert kind.codec is not None and kind.codec.from_json(saved[2]) == cached.state
    reloaded = await CommandRunner(store).load(kind, EXPOSURE_STREAM)
    assert (reloaded.state, reloaded.version, reloaded.replayed) == (cached.state, 3, 0)


async def test_a_background_snapshot_that_fails_is_logged_and_fails_no_command(
    store: EventStore, caplog: pytest.LogCaptureFixture
) -> None:
    kind = replace(EXPOSURE, snapshot_every=3)
    runner = CommandRunner(store)
    added = advances(3)
    # The state claims a version the stream does not have: the store refuses to snapshot it.
    await runner.grown(kind, EXPOSURE_STREAM, Loaded(BrokerExposure(), 0, 0), added)
    await runner.snapshots_saved()
    assert await store.load_snapshot(EXPOSURE_STREAM) is None
    assert "snapshot of broker-exposure at version 3 not saved" in caplog.text


async def test_a_hot_stream_has_one_background_snapshot_at_a_time(store: EventStore) -> None:
    # A save still running when the next falls due (a slow database) lets that one pass.
    kind = replace(EXPOSURE, snapshot_every=3)
    runner = CommandRunner(store)
    first, second = advances(3), advances(6)[3:]
    await store.append(EXPOSURE_STREAM, [new_event(e) for e in first + second], expected_version=0)
    released = asyncio.Event()
    saved: list[int] = []
    save = store.save_snapshot

    async def slow_save(stream: str, version: int, *rest: Any) -> None:
        await released.wait()
        saved.append(version)
        await save(stream, version, *rest)

    store.save_snapshot = slow_save  # type: ignore[method-assign]
    await runner.grown(kind, EXPOSURE_STREAM, Loaded(BrokerExposure(), 0, 0), first)
    held = await runner.current(kind, EXPOSURE_STREAM, trust=True)
    await runner.grown(kind, EXPOSURE_STREAM, held, second)  # due again while the first saves
    released.set()
    await runner.snapshots_saved()
    assert saved == [3]
    grown = await runner.current(kind, EXPOSURE_STREAM, trust=True)
    assert (grown.version, grown.replayed) == (6, 0)
