"""Server bootstrap: one composition root per process, explicit arguments, nothing at import.

``start_server`` builds a grpc.aio server for one service with the Harbour interceptor,
health checking and reflection, TLS when configured; ``serve`` is the process entry point
that also opens the database and stops gracefully on SIGINT/SIGTERM.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection

from harbour.eventstore.database import Database
from harbour.eventstore.notify import FeedNotifier
from harbour.eventstore.store import EventStore
from harbour.runtime.auth import DevelopmentModeAnnouncer, authenticator_for
from harbour.runtime.database import open_database
from harbour.runtime.interceptors import HarbourInterceptor
from harbour.runtime.limits import OpenStreams, server_options
from harbour.runtime.metrics import start_process_metrics, watch_database
from harbour.runtime.settings import Settings
from harbour.runtime.supervisor import Supervisor
from harbour.runtime.tracing import server_interceptors, tracer_provider
from harbour.runtime.upcasting import vocabulary_upcasters

log = logging.getLogger("harbour.server")
Clock = Callable[[], datetime]
GRACE_SECONDS = 5.0


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    """What every service's composition root is built from."""

    settings: Settings
    database: Database
    store: EventStore
    clock: Clock
    # The process's open server streams (caps in settings), shared by the servers it runs.
    streams: OpenStreams | None = None
    # OpenTelemetry's TracerProvider when tracing is on (harbour.runtime.tracing), else None.
    tracer: Any = None

    def open_streams(self) -> OpenStreams:
        if self.streams is None:
            self.streams = OpenStreams.from_settings(self.settings)
        return self.streams


@dataclass
class RunningServer:
    service: str
    server: grpc.aio.Server
    port: int
    health: HealthServicer
    service_names: tuple[str, ...]
    supervisor: Supervisor | None = None  # the service's background loops, if it has any

    async def stop(self, grace: float = GRACE_SECONDS) -> None:
        # The loops first (so none reports SERVING again), then tell load balancers, then let
        # in-flight calls finish.
        if self.supervisor is not None:
            await self.supervisor.stop()
        await _set_health(self.health, self.service_names, serving=False)
        await self.server.stop(grace)


async def start_server(
    service: str, runtime: Runtime, *, port: int | None = None, host: str | None = None
) -> RunningServer:
    from harbour.runtime.services import register_service

    settings = runtime.settings
    # Refuses to serve without a way to authenticate, or in development mode off loopback.
    authenticator = authenticator_for(settings, host or settings.host)
    # Development mode marks every response, refusals included: outermost interceptor.
    marks = [DevelopmentModeAnnouncer()] if authenticator.development_mode else []
    interceptor = HarbourInterceptor(
        service,
        authenticator,
        streams=runtime.open_streams(),
        stall_seconds=settings.stream_stall_ms / 1000,
        statement_seconds=settings.statement_timeout_ms / 1000,
    )
    watch_database(runtime.database)
    server = grpc.aio.server(
        interceptors=[*marks, *server_interceptors(runtime.tracer), interceptor],
        options=server_options(settings),
    )
    registered = register_service(service, server, runtime)
    names = registered.names
    health_servicer = HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (
            *names,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ),
        server,
    )
    address = f"{host or settings.host}:{settings.port_of(service) if port is None else port}"
    credentials = server_credentials(settings)
    if credentials is not None:
        bound = server.add_secure_port(address, credentials)
    else:
        bound = server.add_insecure_port(address)
    if bound == 0:
        raise OSError(f"could not bind {address}")
    await server.start()
    await _set_health(health_servicer, names, serving=True)
    supervisor = None
    if registered.background:
        # NOT_SERVING while any background loop is down (see harbour.runtime.supervisor).
        async def publish(serving: bool) -> None:
            await _set_health(health_servicer, names, serving=serving)

        supervisor = Supervisor(registered.background, on_health=publish)
        supervisor.start()
    return RunningServer(service, server, bound, health_servicer, names, supervisor)


def server_credentials(settings: Settings) -> grpc.ServerCredentials | None:
    """TLS with the server's certificate when configured; with HARBOUR_TLS_CLIENT_CA, mTLS: a
    caller without a certificate from that CA fails the handshake (it never reaches a handler).
    None: plaintext."""
    if not (settings.tls_cert and settings.tls_key):
        return None
    client_ca = settings.tls_client_ca.read_bytes() if settings.tls_client_ca else None
    return grpc.ssl_server_credentials(
        [(settings.tls_key.read_bytes(), settings.tls_cert.read_bytes())],
        root_certificates=client_ca,
        require_client_auth=client_ca is not None,
    )


async def _set_health(health: HealthServicer, names: tuple[str, ...], *, serving: bool) -> None:
    """The status of the server as a whole ("") and of each of its services."""
    status = (
        health_pb2.HealthCheckResponse.SERVING
        if serving
        else health_pb2.HealthCheckResponse.NOT_SERVING
    )
    for name in (*names, ""):
        await health.set(name, status)


async def open_runtime(
    settings: Settings, clock: Clock = system_clock, *, service: str | None = None
) -> Runtime:
    if not settings.database_url:
        raise RuntimeError("HARBOUR_DATABASE_URL is not set (`harbour up` sets it for you)")
    database = await open_database(
        settings.database_url, role=settings.role_of(service), pool_size=settings.pool_size
    )
    watch_database(database)
    store = EventStore(
        database,
        clock=clock,
        notifier=FeedNotifier(database),
        snapshot_key=settings.snapshot_key_bytes(),
        upcasters=vocabulary_upcasters(),
    )
    return Runtime(settings, database, store, clock)


async def serve(service: str, settings: Settings) -> None:
    """Run one service until SIGINT/SIGTERM, then stop gracefully."""
    metrics = start_process_metrics(settings, service)
    runtime = await open_runtime(settings, service=service)
    runtime.tracer = tracer_provider(settings, service)
    running = await start_server(service, runtime)
    print(f"harbour {service} listening on {settings.host}:{running.port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("%s: stopping (grace %.0fs)", service, GRACE_SECONDS)
    await running.stop()
    await runtime.database.close()
    if runtime.tracer is not None:
        runtime.tracer.shutdown()  # sends the spans still queued
    if metrics is not None:
        metrics.close()
