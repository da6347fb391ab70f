"""Group commit: several commands in one statement, each logged, all or nothing."""

from __future__ import annotations

import pytest

from harbour.eventstore.errors import BatchNotApplied, InvalidAppend
from harbour.eventstore.model import CommandWrite, NewEvent, StreamWrite
from harbour.eventstore.store import EventStore, request_fingerprint
from harbour.eventstore.verify import verify_store


def advance(client: str, amount: str, account_version: int, exposure_version: int) -> CommandWrite:
    """A draw: the client's advance and the broker's exposure move together."""
    return CommandWrite(
        [
            StreamWrite(
                f"account-{client}",
                [NewEvent("LoanAdvanced", {"amount": amount})],
                account_version,
            ),
            StreamWrite(
                "broker-exposure",
                [NewEvent("BrokerExposureChanged", {"client": client, "change": amount})],
                exposure_version,
            ),
        ],
        request_id=f"draw-{client}-{amount}",
        fingerprint=request_fingerprint({"client": client, "amount": amount}),
        metadata={"actor": f"desk-{client}"},
        response={"client": client},
    )


async def test_each_command_of_a_batch_is_logged_with_its_own_events(store: EventStore) -> None:
    await store.append("account-B", [NewEvent("CashDeposited", {})], expected_version=0)
    batch = [advance("A", "10", 0, 0), advance("B", "20", 1, 1), advance("C", "30", 0, 2)]
    results = await store.append_batch(batch)

    exposure = await store.read_stream("broker-exposure")
    assert [(e.version, e.data["client"]) for e in exposure] == [(1, "A"), (2, "B"), (3, "C")]
    for command, result, hot in zip(batch, results, exposure, strict=True):
        own = (await store.read_stream(command.writes[0].stream_id))[-1]
        # Each event carries its own command's metadata, and the log spans exactly those.
        assert (
            own.metadata
            == hot.metadata
            == {
                "actor": command.metadata["actor"],
                "request_id": command.request_id,
            }
        )
        span = (min(own.position, hot.position), max(own.position, hot.position))
        assert (result.first_position, result.last_position) == span
        assert (result.stream_id, result.version) == (own.stream_id, own.version)
        logged = await store.lookup_command(command.request_id)
        assert logged is not None and logged.response == {"client": command.writes[0].stream_id[8:]}
        # A retry of one of them gets its first answer, as after a single append.
        replay = await store.replayed(command.request_id, command.fingerprint)
        assert replay is not None and replay.last_position == result.last_position
    assert (await verify_store(store)).intact


async def test_a_stale_stream_writes_nothing_and_names_the_stream(store: EventStore) -> None:
    await store.append("account-B", [NewEvent("CashDeposited", {})], expected_version=0)
    with pytest.raises(BatchNotApplied) as refused:
        await store.append_batch([advance("A", "10", 0, 0), advance("B", "20", 0, 1)])
    assert refused.value.stale == {"account-B"}
    assert await store.stream_version("broker-exposure") == 0
    assert await store.stream_version("account-A") == 0
    assert await store.lookup_command("draw-A-10") is None


async def test_a_request_id_already_logged_refuses_the_whole_batch(store: EventStore) -> None:
    await store.append_batch([advance("A", "10", 0, 0)])
    with pytest.raises(BatchNotApplied) as refused:
        await store.append_batch([advance("B", "20", 0, 1), advance("A", "10", 1, 2)])
    assert refused.value.stale == frozenset()  # apply them one by one instead
    assert await store.stream_version("broker-exposure") == 1
    assert await store.lookup_command("draw-B-20") is None


async def test_commands_on_one_stream_must_follow_each_other(store: EventStore) -> None:
    with pytest.raises(InvalidAppend, match="follow each other"):
        await store.append_batch([advance("A", "10", 0, 0), advance("B", "20", 0, 0)])
    assert await store.stream_version("broker-exposure") == 0
