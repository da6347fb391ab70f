"""The projector process: keeps every read model caught up with the feed.

Stateless like the services (checkpoints live with the rows), so replicas may run: the
checkpoint row lock makes them take turns per projection. Woken by NOTIFY, polling as a
fallback; reports lag (events behind the head) in its log, and after every page as the metric
``harbour_feed_lag_events`` on its /metrics endpoint (``Settings.metrics_port_of``).

The following loop is supervised (harbour.runtime.supervisor): a PostgreSQL restart or a
dropped LISTEN connection restarts it with backoff on a new connection, and it carries on
from the stored checkpoints — the process never exits for it.

Nor for a malformed event: the read model that cannot apply it is quarantined at it (see
harbour.eventstore.projections) and every other one goes on, so the loop never crash-loops on
poison. It logs every quarantine when it happens and again in its report every REPORT_SECONDS
(with each read model's lag), ``harbour projections status`` shows the same, and its gRPC
health (``Settings.projector_port``) says it too: the overall status ("") is NOT_SERVING while
the loop is down, and ``harbour.projection.<name>`` is NOT_SERVING while that read model is
quarantined (checked every HEALTH_SECONDS).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Sequence

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer

from harbour.eventstore.notify import FeedListener
from harbour.eventstore.projections import Projection, ProjectionRunner
from harbour.runtime.metrics import start_process_metrics
from harbour.runtime.projections import all_projections
from harbour.runtime.server import Runtime, open_runtime
from harbour.runtime.settings import Settings
from harbour.runtime.supervisor import Heartbeat, Loop, LoopBody, Supervisor

log = logging.getLogger("harbour.projector")
POLL_SECONDS = 1.0
REPORT_SECONDS = 60.0
HEALTH_SECONDS = 5.0
HEALTH_PREFIX = "harbour.projection."


class ProjectorHealth:
    """The projector's gRPC health: the loop as a whole, and each read model by name."""

    def __init__(self, projections: Sequence[Projection]) -> None:
        self.servicer = HealthServicer()
        self._names = [p.name for p in projections]

    async def loop(self, serving: bool) -> None:
        status = health_pb2.HealthCheckResponse.SERVING if serving else _NOT_SERVING
        await self.servicer.set("", status)

    async def read_models(self, runner: ProjectionRunner) -> None:
        for status in await runner.statuses(self._names, only=True):
            state = _NOT_SERVING if status.quarantined else health_pb2.HealthCheckResponse.SERVING
            await self.servicer.set(HEALTH_PREFIX + status.name, state)


_NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def read_model_loop(
    runtime: Runtime,
    projections: Sequence[Projection],
    *,
    pace: float,
    health: ProjectorHealth | None = None,
) -> LoopBody:
    """The projector's loop: every read model from one read of the feed per round."""

    async def follow(heartbeat: Heartbeat) -> None:
        runner = ProjectionRunner(runtime.store, clock=runtime.clock)
        clock = asyncio.get_running_loop().time
        report_at = health_at = clock()
        # LISTEN before the first read, so no wake-up between a read and the wait is lost.
        async with FeedListener.for_database(runtime.database, pace=pace) as listener:
            while True:
                # Every read model from one read of the feed, in one transaction per page.
                applied = await runner.catch_up_together(projections)
                if applied:
                    log.debug("read models took %d events", applied)
                heartbeat()
                if health is not None and clock() >= health_at:
                    await health.read_models(runner)
                    health_at = clock() + HEALTH_SECONDS
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
    metrics = start_process_metrics(settings, "projector")
    runtime = await open_runtime(settings)
    stop = stop or _stop_on_signals()
    projections = all_projections()
    health = ProjectorHealth(projections)
    server = await _health_server(health, settings)
    loop = read_model_loop(runtime, projections, pace=settings.follow_pace, health=health)
    supervisor = Supervisor([Loop("projector", loop)], on_health=health.loop)
    print("harbour projector following the feed", flush=True)
    supervisor.start()
    try:
        await stop.wait()
    finally:
        await supervisor.stop()
        if server is not None:
            await server.stop(1.0)
        await runtime.database.close()
        if metrics is not None:
            metrics.close()


async def _health_server(health: ProjectorHealth, settings: Settings) -> grpc.aio.Server | None:
    """A health-only gRPC server on the projector's port; a port that is taken is logged and
    the projector runs on without it (its work does not depend on being probed)."""
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    health_pb2_grpc.add_HealthServicer_to_server(health.servicer, server)
    address = f"{settings.host}:{settings.projector_port}"
    try:
        bound = server.add_insecure_port(address)
    except RuntimeError:
        bound = 0
    if bound == 0:
        log.error("projector health not served: could not bind %s", address)
        return None
    await server.start()
    await health.servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    return server


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop
