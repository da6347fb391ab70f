"""The projector process: keeps every read model caught up with the feed.

Stateless like the services (checkpoints live with the rows), so replicas may run: the
checkpoint row lock makes them take turns per projection. Woken by NOTIFY, polling as a
fallback; reports lag (events behind the head) in its log.

The following loop is supervised (harbour.runtime.supervisor): a PostgreSQL restart or a
dropped LISTEN connection restarts it with backoff on a new connection, and it carries on
from the stored checkpoints — the process never exits for it.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Sequence

from harbour.eventstore.notify import FeedListener
from harbour.eventstore.projections import Projection, ProjectionRunner
from harbour.runtime.projections import all_projections
from harbour.runtime.server import Runtime, open_runtime
from harbour.runtime.settings import Settings
from harbour.runtime.supervisor import Heartbeat, Loop, LoopBody, Supervisor

log = logging.getLogger("harbour.projector")
POLL_SECONDS = 1.0


def read_model_loop(
    runtime: Runtime, projections: Sequence[Projection], *, pace: float
) -> LoopBody:
    """The projector's loop: every read model from one read of the feed per round."""

    async def follow(heartbeat: Heartbeat) -> None:
        runner = ProjectionRunner(runtime.store, clock=runtime.clock)
        # LISTEN before the first read, so no wake-up between a read and the wait is lost.
        async with FeedListener.for_database(runtime.database, pace=pace) as listener:
            while True:
                # Every read model from one read of the feed, in one transaction per page.
                applied = await runner.catch_up_together(projections)
                if applied:
                    log.debug("read models took %d events", applied)
                heartbeat()
                await listener.wait(POLL_SECONDS)

    return follow


async def run_projector(settings: Settings, stop: asyncio.Event | None = None) -> None:
    runtime = await open_runtime(settings)
    stop = stop or _stop_on_signals()
    supervisor = Supervisor(
        [Loop("projector", read_model_loop(runtime, all_projections(), pace=settings.follow_pace))]
    )
    print("harbour projector following the feed", flush=True)
    supervisor.start()
    try:
        await stop.wait()
    finally:
        await supervisor.stop()
        await runtime.database.close()


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop
