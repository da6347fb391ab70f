"""The projector process: keeps every read model caught up with the feed.

Stateless like the services (checkpoints live with the rows), so replicas may run: the
checkpoint row lock makes them take turns per projection. Woken by NOTIFY, polling as a
fallback; reports lag (events behind the head) in its log.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from harbour.eventstore.notify import FeedListener
from harbour.eventstore.projections import ProjectionRunner
from harbour.runtime.projections import all_projections
from harbour.runtime.server import open_runtime
from harbour.runtime.settings import Settings

log = logging.getLogger("harbour.projector")
POLL_SECONDS = 1.0


async def run_projector(settings: Settings, stop: asyncio.Event | None = None) -> None:
    runtime = await open_runtime(settings)
    runner = ProjectionRunner(runtime.store, clock=runtime.clock)
    projections = all_projections()
    stop = stop or _stop_on_signals()
    print("harbour projector following the feed", flush=True)
    try:
        pace = settings.follow_pace
        async with FeedListener.for_database(runtime.database, pace=pace) as listener:
            while not stop.is_set():
                # Every read model from one read of the feed, in one transaction per page.
                applied = await runner.catch_up_together(projections)
                if applied:
                    log.debug("read models took %d events", applied)
                await listener.wait(POLL_SECONDS)
    finally:
        await runtime.database.close()


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop
