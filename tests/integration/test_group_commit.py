"""The group commit of a hot stream, through the runner against a real store."""

from __future__ import annotations

import asyncio

from harbour.application.group_commit import Decide, Unprepared
from harbour.application.runner import CommandRunner
from harbour.application.streams import StreamKind
from harbour.eventstore.errors import InvalidAppend
from harbour.eventstore.store import EventStore
from harbour.ledger import events as ev
from harbour.ledger.money import Money

# A stream's state here is just how many events it holds.
COUNTED: StreamKind[int] = StreamKind(lambda _: 0, lambda n, _: n + 1)


def moved(client: str, reference: str) -> ev.BrokerExposureChanged:
    return ev.BrokerExposureChanged(client, client, Money.of("HKD", "1.00"), "advance", reference)


async def test_a_decision_its_reads_do_not_cover_prepares_again(store: EventStore) -> None:
    runner = CommandRunner(store)
    prepared_on: list[int] = []

    def command(n: int) -> asyncio.Task[object]:
        async def prepare(own: int, _: int, __: object) -> Decide:
            prepared_on.append(own)

            def decide(now_own: int, hot: int) -> tuple[list[ev.Event], list[ev.Event]]:
                if now_own != own:  # the batch moved the stream since these reads
                    raise Unprepared
                return [moved("A", f"own-{n}")], [moved("A", f"hot-{n}")]

            return decide

        return asyncio.ensure_future(
            runner.run_grouped(
                (COUNTED, "account-A"),
                (COUNTED, "broker-exposure"),
                prepare,
                request_id=f"cmd-{n}",
                request={"n": n},
                metadata={},
            )
        )

    async with runner.holding(["broker-exposure"]):  # both queue before the first batch
        tasks = [command(1), command(2)]
        await asyncio.sleep(0.2)
    await asyncio.gather(*tasks)

    # Both prepared on the empty stream; the second, decided after the first in one batch,
    # found a state its reads did not cover, prepared again on it and went in the next.
    assert prepared_on == [0, 0, 1]
    own = await store.read_stream("account-A")
    hot = await store.read_stream("broker-exposure")
    # Whichever of the two queued first went in the first batch (their loads race).
    applied = [e.metadata["request_id"] for e in own]
    assert sorted(applied) == ["cmd-1", "cmd-2"]
    assert [e.metadata["request_id"] for e in hot] == applied
    assert len({e.txid for e in hot}) == 2  # two statements


async def test_one_unstorable_command_fails_alone_not_its_batch(store: EventStore) -> None:
    runner = CommandRunner(store)

    def command(client: str, reference: str) -> asyncio.Task[object]:
        async def prepare(_: int, __: int, ___: object) -> Decide:
            def decide(_: int, __: int) -> tuple[list[ev.Event], list[ev.Event]]:
                return [moved(client, reference)], [moved(client, reference)]

            return decide

        return asyncio.ensure_future(
            runner.run_grouped(
                (COUNTED, f"account-{client}"),
                (COUNTED, "broker-exposure"),
                prepare,
                request_id=f"cmd-{client}",
                request={"client": client},
                metadata={},
            )
        )

    async with runner.holding(["broker-exposure"]):  # one batch
        tasks = [command("A", "ok"), command("B", "nul \x00 in text"), command("C", "ok")]
        await asyncio.sleep(0.2)
    good, bad, also_good = await asyncio.gather(*tasks, return_exceptions=True)

    assert isinstance(bad, InvalidAppend)  # PostgreSQL's jsonb refuses \u0000
    assert not isinstance(good, BaseException) and not isinstance(also_good, BaseException)
    hot = await store.read_stream("broker-exposure")
    assert sorted(e.metadata["request_id"] for e in hot) == ["cmd-A", "cmd-C"]
    assert await store.stream_version("account-B") == 0
