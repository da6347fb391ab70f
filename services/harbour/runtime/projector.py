"""The projector process: keeps every read model caught up with the feed.

Stateless like the services (checkpoints live with the rows), so replicas may run: the
checkpoint row lock makes them take turns per projection. Woken by NOTIFY, polling as a
fallback; reports lag (events behind the head) in its log.

The following loop is supervised (harbour.runtime.supervisor): a PostgreSQL restart or a
dropped LISTEN connection restarts it with backoff on a new connection, and it carries on
from the stored checkpoints — the process never exits for it.

Nor for a malformed event: the read model that cannot apply it is quarantined at it (see
harbour.eventstore.projections) and every other one goes on, so the loop never crash-loops on
poison. The projector has no gRPC server; it logs every quarantine when it happens and again
in its report every REPORT_SECONDS (with each read model's lag), and
``harbour projections status`` shows the same.
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
REPORT_SECONDS = 60.0


def read_model_loop(
    runtime: Runtime, projections: Sequence[Projection], *, pace: float
) -> LoopBody:
    """The projector's loop: every read model from one read of the feed per round."""

    async def follow(heartbeat: Heartbeat) -> None:
        runner = ProjectionRunner(runtime.store, clock=runtime.clock)
        clock = asyncio.get_running_loop().time
        report_at = clock()
        # LISTEN before the first read, so no wake-up between a read and the wait is lost.
        async with FeedListener.for_database(runtime.database, pace=pace) as listener:
            while True:
                # Every read model from one read of the feed, in one transaction per page.
                applied = await runner.catch_up_together(projections)
                if applied:
                    log.debug("read models took %d events", applied)
                heartbeat()
                if clock() >= report_at:
                    await report(runner, projections)
                    report_at = clock() + REPORT_SECONDS
                await listener.wait(POLL_SECONDS)

    return follow


async def report(runner: ProjectionRunner, projections: Sequence[Projection]) -> None:
    """Log each read model's lag, and loudly every one stopped at poison."""
    statuses = await runner.statuses([p.name for p in projections], only=True)
    for status in statuses:
        if status.quarantined and status.poison is not None:
            log.error(
                "%s is QUARANTINED at %s (%d events behind); after a fix: "
                "harbour projections retry %s",
                status.name,
                status.poison.describe(),
                status.behind,
                status.name,
            )
    log.info("read models behind the feed: %s", ", ".join(f"{s.name} {s.behind}" for s in statuses))


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
