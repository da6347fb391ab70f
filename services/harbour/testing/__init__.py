"""Harbour Ledger for other teams' integration tests: the whole stack, and ready clients.

    from harbour.testing import harbour_stack

    async with harbour_stack() as stack:
        await stack.accounts.OnboardClient(...)
        stack.database_url   # the ledger's database, to look at (never to write)

Where it comes from, in this order:

1. **The image, through testcontainers**, when an image is named (``image=`` or the
   ``HARBOUR_TESTING_IMAGE`` variable) and a Docker daemon answers: a PostgreSQL container, the
   image's ``migrate``, then one container per service, as in production, with authentication
   on (a bearer token made for this stack, sent by the clients on every call), and one running
   the projector (``harbour project``). A second token names the credit checker:
   :attr:`HarbourStack.checker_metadata` (see :mod:`harbour.testing.containers`).
2. **In process** otherwise: an embedded PostgreSQL (or ``database_url=``, a server you give,
   where the harness creates nothing but the schema), the migrations, every service on its own
   loopback port and the projector. These servers run in development mode
   (``HARBOUR_DEV_MODE=1``), which binds loopback only: a caller is the developer with every
   role unless it names itself with ``x-harbour-principal: name:role+role``, which is how
   :attr:`HarbourStack.checker_metadata` names the credit checker.

Needs the ``testing`` extra: ``pip install 'harbour-ledger[testing]'``. The pytest plugin
(:mod:`harbour.testing.plugin`) wraps this in a session fixture named ``harbour_stack``.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import secrets
import socket
import tempfile
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from harbour.runtime.settings import SERVICES, Settings, url_with_database

__all__ = ["HarbourStack", "harbour_stack"]

log = logging.getLogger("harbour.testing")
IMAGE_VARIABLE = "HARBOUR_TESTING_IMAGE"
POSTGRES_IMAGE = "postgres:18-alpine"
DATABASE_NAME = "harbour"
CONTAINER_PORT = 50051
READY_SECONDS = 60.0
# Every role a caller can hold (harbour.runtime.authorization): the stack's own token holds all.
ALL_ROLES = ("trading-platform", "risk", "price-feed", "policy-admin", "auditor", "operator")
# The second principal that approves the credit facts a test proposes (harbour.testing.credit):
# a credit officer, named by the development header in process, by its own token in containers.
CHECKER_NAME, CHECKER_ROLES = "credit-checker", ("risk",)
CHECKER_HEADER: tuple[tuple[str, str], ...] = (
    ("x-harbour-principal", f"{CHECKER_NAME}:{'+'.join(CHECKER_ROLES)}"),
)


@dataclass
class HarbourStack:
    """A running stack: one channel and one stub per service, and the database URL.

    ``checker_metadata``: the call metadata that makes a call the credit checker's, a principal
    other than the one the channels call as (``approve_client_facts(stack.accounts, client,
    metadata=stack.checker_metadata)``): the development header in process, the checker's
    bearer token in containers."""

    database_url: str
    addresses: Mapping[str, str]  # service -> host:port
    channels: Mapping[str, grpc.aio.Channel]
    source: str  # where it runs: "in-process (embedded PostgreSQL)", "containers (image)", ...
    checker_metadata: tuple[tuple[str, str], ...] = CHECKER_HEADER
    _stubs: dict[str, Any] = field(default_factory=dict, repr=False)

    def stub(self, service: str) -> Any:
        """The generated stub of ``service`` (e.g. "accounts") on its channel."""
        if service not in self._stubs:
            self._stubs[service] = stub_class(service)(self.channels[service])
        return self._stubs[service]

    @property
    def accounts(self) -> Any:
        return self.stub("accounts")

    @property
    def audit(self) -> Any:
        return self.stub("audit")

    @property
    def collateral(self) -> Any:
        return self.stub("collateral")

    @property
    def feed(self) -> Any:
        """FeedService: the typed, filtered feed (a trading platform names its clients)."""
        return self.stub("feed")

    @property
    def lending(self) -> Any:
        return self.stub("lending")

    @property
    def liquidation(self) -> Any:
        return self.stub("liquidation")


def stub_class(service: str) -> Any:
    """``harbour.api.v1.<service>_pb2_grpc.<Service>ServiceStub``: the one stub per module."""
    module = importlib.import_module(f"harbour.api.v1.{service}_pb2_grpc")
    (name,) = [n for n in vars(module) if n.endswith("ServiceStub")]
    return getattr(module, name)


@contextlib.asynccontextmanager
async def harbour_stack(
    *,
    image: str | None = None,
    database_url: str | None = None,
    services: Sequence[str] = SERVICES,
    projector: bool = True,
    postgres_image: str = POSTGRES_IMAGE,
) -> AsyncIterator[HarbourStack]:
    """Start the stack (see the module docstring), yield it ready, stop it on exit.

    ``image``: run the services from this image in containers when Docker answers (default:
    ``HARBOUR_TESTING_IMAGE``); ``database_url``: in process, use this PostgreSQL server's
    database instead of an embedded one (it must allow the migrations: run as the owner);
    ``services``: which to serve; ``projector``: keep the read models caught up.
    """
    image = image or os.environ.get(IMAGE_VARIABLE)
    if image is not None and await asyncio.to_thread(docker_answers):
        from harbour.testing.containers import container_stack

        async with container_stack(image, services, postgres_image, projector=projector) as stack:
            yield stack
        return
    if image:
        log.warning("no Docker daemon answers: %s is not run, the stack runs in process", image)
    async with in_process_stack(database_url, services, projector=projector) as stack:
        yield stack


def docker_answers() -> bool:
    """A Docker daemon answers a ping within two seconds (no daemon, no socket: False)."""
    try:
        import docker  # type: ignore[import-untyped]

        docker.from_env(timeout=2).ping()
    except Exception:  # every failure means the same here: no Docker to use
        return False
    return True


@contextlib.asynccontextmanager
async def in_process_stack(
    database_url: str | None, services: Sequence[str], *, projector: bool
) -> AsyncIterator[HarbourStack]:
    from harbour.runtime.database import migrate

    with tempfile.TemporaryDirectory(prefix="harbour-stack-") as scratch:
        async with _database(database_url, Path(scratch)) as (url, source):
            await asyncio.to_thread(migrate, url)
            settings = development_settings(url, Path(scratch))
            async with (
                _servers(settings, services, projector=projector) as addresses,
                _channels(addresses) as channels,
            ):
                await wait_until_serving(channels)
                yield HarbourStack(url, addresses, channels, f"in-process ({source})")


def development_settings(database_url: str, data_dir: Path) -> Settings:
    """The in-process servers' settings: development mode on loopback, small pools, no metrics
    endpoint (its fixed ports could clash with the caller's), a snapshot key of its own."""
    return Settings.from_env(
        {
            "HARBOUR_DATABASE_URL": database_url,
            "HARBOUR_DATA_DIR": str(data_dir),
            "HARBOUR_DEV_MODE": "1",
            "HARBOUR_HOST": "127.0.0.1",
            "HARBOUR_DB_POOL_SIZE": "5",
            "HARBOUR_METRICS_PORT_BASE": "0",
            "HARBOUR_SNAPSHOT_KEY": secrets.token_hex(16),
        }
    )


@contextlib.asynccontextmanager
async def _database(url: str | None, scratch: Path) -> AsyncIterator[tuple[str, str]]:
    if url is not None:
        yield url, "the given PostgreSQL"
        return
    from harbour.runtime.embedded import ensure_database, start_embedded

    server = await asyncio.to_thread(start_embedded, scratch / "pgdata", delete_on_exit=True)
    try:
        await asyncio.to_thread(ensure_database, server.url, DATABASE_NAME)
        yield url_with_database(server.url, DATABASE_NAME), "embedded PostgreSQL"
    finally:
        await asyncio.to_thread(server.stop)


@contextlib.asynccontextmanager
async def _servers(
    settings: Settings, services: Sequence[str], *, projector: bool
) -> AsyncIterator[dict[str, str]]:
    """Each service in this process on a free loopback port, with its own database role, as
    `harbour serve` runs it; and the projector."""
    from harbour.runtime.server import open_runtime, start_server

    async with contextlib.AsyncExitStack() as stack:
        addresses: dict[str, str] = {}
        for service in services:
            runtime = await open_runtime(settings, service=service)
            stack.push_async_callback(runtime.database.close)
            running = await start_server(service, runtime, port=0, host="127.0.0.1")
            stack.push_async_callback(running.stop, 0)
            addresses[service] = f"127.0.0.1:{running.port}"
        if projector:
            await stack.enter_async_context(_projector(settings))
        yield addresses


@contextlib.asynccontextmanager
async def _projector(settings: Settings) -> AsyncIterator[None]:
    from harbour.runtime.projector import run_projector

    stop = asyncio.Event()
    # Its health server takes HARBOUR_PORT when set: a free port, not one after the services'.
    task = asyncio.create_task(run_projector(replace(settings, port=free_port()), stop))
    try:
        yield
    finally:
        stop.set()
        await task


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def _channels(
    addresses: Mapping[str, str], *, token: str | None = None
) -> AsyncIterator[dict[str, grpc.aio.Channel]]:
    """Plaintext channels; with ``token``, every call carries it as its bearer token unless the
    call brings its own ``authorization`` (so one call can be another principal's)."""
    interceptors = [] if token is None else default_authorization(token)
    channels = {
        service: grpc.aio.insecure_channel(address, interceptors=interceptors)
        for service, address in addresses.items()
    }
    try:
        yield channels
    finally:
        for channel in channels.values():
            await channel.close(None)


async def wait_until_serving(
    channels: Mapping[str, grpc.aio.Channel], within: float = READY_SECONDS
) -> None:
    """Every service answers health SERVING (its background loops run), or TimeoutError."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    for service, channel in channels.items():
        health = health_pb2_grpc.HealthStub(channel)
        while True:
            try:
                reply = await health.Check(health_pb2.HealthCheckRequest(), timeout=2)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    break
            except grpc.aio.AioRpcError:
                pass
            if loop.time() > deadline:
                raise TimeoutError(f"harbour.testing: {service} did not answer SERVING")
            await asyncio.sleep(0.1)


AUTHORIZATION = "authorization"


def with_default_authorization(
    metadata: Iterable[tuple[str, str | bytes]] | None, token: str
) -> tuple[tuple[str, str | bytes], ...]:
    """``metadata`` with ``authorization: Bearer <token>`` added, unless it has its own: a
    server reads one value per key, so there must never be two."""
    pairs = tuple(metadata or ())
    if any(key.lower() == AUTHORIZATION for key, _ in pairs):
        return pairs
    return (*pairs, (AUTHORIZATION, f"Bearer {token}"))


class _DefaultAuthorization:
    """Sends a stack's bearer token on every call that names no principal of its own (as
    call credentials could not: they would add a second ``authorization``)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def _details(self, details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
        metadata = with_default_authorization(details.metadata, self._token)
        return grpc.aio.ClientCallDetails(
            details.method,
            details.timeout,
            grpc.aio.Metadata(*metadata),
            details.credentials,
            details.wait_for_ready,
        )


# One class per kind of call: a channel files an interceptor under the first kind it is an
# instance of (grpc.aio's Channel), so one class for all four would see only unary calls.
class _UnaryUnary(_DefaultAuthorization, grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[type-arg]
    async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(self._details(details), request)


class _UnaryStream(_DefaultAuthorization, grpc.aio.UnaryStreamClientInterceptor):  # type: ignore[type-arg]
    async def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(self._details(details), request)


class _StreamUnary(_DefaultAuthorization, grpc.aio.StreamUnaryClientInterceptor):  # type: ignore[type-arg]
    async def intercept_stream_unary(self, continuation: Any, details: Any, requests: Any) -> Any:
        return await continuation(self._details(details), requests)


class _StreamStream(_DefaultAuthorization, grpc.aio.StreamStreamClientInterceptor):  # type: ignore[type-arg]
    async def intercept_stream_stream(self, continuation: Any, details: Any, requests: Any) -> Any:
        return await continuation(self._details(details), requests)


def default_authorization(token: str) -> list[Any]:
    """The interceptors that send ``token`` on every kind of call (see _DefaultAuthorization)."""
    return [kind(token) for kind in (_UnaryUnary, _UnaryStream, _StreamUnary, _StreamStream)]
