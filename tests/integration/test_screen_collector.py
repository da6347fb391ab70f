"""A risk screen of a whole book runs with the cyclic garbage collector paused (see
harbour.collector); a few accounts' screen leaves it alone."""

from __future__ import annotations

import gc
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from harbour.application.runner import CommandRunner
from harbour.collector import PAUSE_COLLECTOR_FROM
from harbour.eventstore.store import EventStore
from harbour.lending.handlers import LendingHandlers


async def test_a_book_wide_screen_pauses_the_collector_and_a_small_one_does_not(
    store: EventStore,
) -> None:
    handlers = LendingHandlers(CommandRunner(store), clock=lambda: datetime.now(UTC))
    load_many = handlers.runner.load_many
    seen: list[tuple[int, bool]] = []

    async def watched(wanted: Sequence[Any], *args: Any, **kwargs: Any) -> Any:
        if all(stream.startswith("account-") for _, stream in wanted):  # not the market's
            seen.append((len(wanted), gc.isenabled()))
        return await load_many(wanted, *args, **kwargs)

    handlers.runner.load_many = watched  # type: ignore[method-assign]
    book = [f"S{n:05d}" for n in range(PAUSE_COLLECTOR_FROM)]
    assert gc.isenabled()
    # No such accounts: each check would meet the refusal itself, so every one is named.
    assert await handlers.needing_action(book) == book
    assert await handlers.needing_action(book[:3]) == book[:3]
    assert seen == [(len(book), False), (3, True)]
    assert gc.isenabled()
