"""The stack from the image, through testcontainers: what ``harbour_stack`` runs where a Docker
daemon answers. Production's shape: PostgreSQL, the image's ``migrate`` as the owner, the
roles' passwords, then one container per service logging in as its own role, authentication on.

Not exercised by this repository's CI, which has no Docker daemon (the image is linted there,
not built); :func:`service_environment` is, as a pure function.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any

import grpc
import psycopg

from harbour.runtime.ownership import GENERIC_ROLE, service_role
from harbour.testing import (
    ALL_ROLES,
    CONTAINER_PORT,
    DATABASE_NAME,
    HarbourStack,
    _channels,
    wait_until_serving,
)

OWNER, POSTGRES_ALIAS = "harbour", "postgres"


def service_environment(
    internal_url: str, password: str, token: str, snapshot_key: str
) -> dict[str, str]:
    """What every service container gets: the database as reached inside the network, the
    roles' shared password, the stack's bearer token (every role) and one snapshot key."""
    return {
        "HARBOUR_DATABASE_URL": internal_url,
        "PGPASSWORD": password,
        "HARBOUR_HOST": "0.0.0.0",
        "HARBOUR_PORT": str(CONTAINER_PORT),
        "HARBOUR_AUTH_TOKENS": f"{token}=harbour-testing:{'+'.join(ALL_ROLES)}",
        "HARBOUR_SNAPSHOT_KEY": snapshot_key,
    }


@contextlib.asynccontextmanager
async def container_stack(
    image: str, services: Sequence[str], postgres_image: str
) -> AsyncIterator[HarbourStack]:
    password, token = secrets.token_hex(12), secrets.token_hex(24)
    with contextlib.ExitStack() as running:
        addresses, url = await asyncio.to_thread(
            _start, running, image, services, postgres_image, password, token
        )
        # Local credentials let the token travel to the mapped loopback port without TLS.
        credentials = grpc.composite_channel_credentials(
            grpc.local_channel_credentials(grpc.LocalConnectionType.LOCAL_TCP),
            grpc.access_token_call_credentials(token),
        )
        async with _channels(addresses, credentials) as channels:
            await wait_until_serving(channels)
            yield HarbourStack(url, addresses, channels, f"containers ({image})")


def _start(
    running: contextlib.ExitStack,
    image: str,
    services: Sequence[str],
    postgres_image: str,
    password: str,
    token: str,
) -> tuple[dict[str, str], str]:
    from testcontainers.core.network import Network
    from testcontainers.postgres import PostgresContainer

    network = running.enter_context(Network())
    postgres = PostgresContainer(
        postgres_image, username=OWNER, password=password, dbname=DATABASE_NAME, driver=None
    )
    postgres.with_network(network).with_network_aliases(POSTGRES_ALIAS)
    running.enter_context(postgres)
    internal = f"postgresql://{OWNER}:{password}@{POSTGRES_ALIAS}:5432/{DATABASE_NAME}"
    _run_to_completion(image, ["migrate"], {"HARBOUR_DATABASE_URL": internal}, network)
    _set_role_passwords(postgres.get_connection_url(), services, password)
    environment = service_environment(
        f"postgresql://{OWNER}@{POSTGRES_ALIAS}:5432/{DATABASE_NAME}",
        password,
        token,
        secrets.token_hex(16),
    )
    addresses = {
        service: running.enter_context(_service(image, service, environment, network))
        for service in services
    }
    return addresses, postgres.get_connection_url()


def _set_role_passwords(owner_url: str, services: Sequence[str], password: str) -> None:
    """The migrations create the roles without a password; the containers log in over TCP."""
    with psycopg.connect(owner_url, autocommit=True) as conn:
        for role in (GENERIC_ROLE, *(service_role(s) for s in services)):
            conn.execute(
                psycopg.sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                    psycopg.sql.Identifier(role), psycopg.sql.Literal(password)
                )
            )


def _run_to_completion(
    image: str, command: list[str], environment: Mapping[str, str], network: Any
) -> None:
    from testcontainers.core.container import DockerContainer

    container = DockerContainer(image).with_command(command).with_network(network)
    for name, value in environment.items():
        container.with_env(name, value)
    with container:
        result = container.get_wrapped_container().wait(timeout=300)
        if result.get("StatusCode") != 0:
            logs = container.get_logs()
            raise RuntimeError(f"{image} {' '.join(command)} failed: {logs}")


@contextlib.contextmanager
def _service(
    image: str, service: str, environment: Mapping[str, str], network: Any
) -> Iterator[str]:
    from testcontainers.core.container import DockerContainer

    container = DockerContainer(image).with_command(["serve", service]).with_network(network)
    container.with_exposed_ports(CONTAINER_PORT)
    for name, value in environment.items():
        container.with_env(name, value)
    with container:
        host = container.get_container_host_ip()
        yield f"{host}:{container.get_exposed_port(CONTAINER_PORT)}"
