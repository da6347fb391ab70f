"""The stack from the image, through testcontainers: what ``harbour_stack`` runs where a Docker
daemon answers. Production's shape: PostgreSQL, the image's ``migrate`` as the owner, the
roles' passwords, then one container per service logging in as its own role with
authentication on, and the projector (``harbour project``) keeping the read models caught up.

Two halves. :func:`container_plan` decides everything (which containers, their commands,
environments and ports, the order, the roles given a password, how long to wait for health)
as plain data; :func:`execute` carries a plan out through a :class:`Backend`, which
:class:`DockerBackend` implements with testcontainers. The plan, :func:`service_environment`,
the execution order (with a fake backend) and the channels' credentials are tested without
Docker (``tests/unit/test_testing_containers.py``); the testcontainers calls themselves run
only where a Docker daemon answers, which this repository's CI does not have.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import psycopg

from harbour.runtime.ownership import GENERIC_ROLE, service_role
from harbour.runtime.settings import SERVICES
from harbour.testing import (
    ALL_ROLES,
    CHECKER_NAME,
    CHECKER_ROLES,
    CONTAINER_PORT,
    DATABASE_NAME,
    READY_SECONDS,
    HarbourStack,
    _channels,
    wait_until_serving,
)

OWNER, POSTGRES_ALIAS, POSTGRES_PORT = "harbour", "postgres", 5432
PROJECTOR = "projector"
# The stack's own principal (every role): the maker of the credit facts onboarding proposes.
STACK_PRINCIPAL = "harbour-testing"


@dataclass(frozen=True)
class Secrets:
    """What a stack makes for itself: the roles' password, two bearer tokens, a snapshot key."""

    password: str
    token: str  # STACK_PRINCIPAL, every role: what the stack's channels send by default
    checker_token: str  # CHECKER_NAME with CHECKER_ROLES: HarbourStack.checker_metadata
    snapshot_key: str

    @classmethod
    def fresh(cls) -> Secrets:
        return cls(
            password=secrets.token_hex(12),
            token=secrets.token_hex(24),
            checker_token=secrets.token_hex(24),
            snapshot_key=secrets.token_hex(16),
        )


@dataclass(frozen=True)
class Database:
    """The PostgreSQL container: its owner, password, database and name on the network."""

    image: str
    user: str
    password: str
    name: str
    alias: str


@dataclass(frozen=True)
class Step:
    """A container run to completion before the next step starts (the migrations)."""

    name: str
    command: tuple[str, ...]
    environment: Mapping[str, str]


@dataclass(frozen=True)
class Process:
    """A container that runs until the stack stops: a service, or the projector."""

    name: str
    command: tuple[str, ...]
    environment: Mapping[str, str]
    port: int  # in the container: gRPC for a service, health only for the projector
    serves_api: bool  # a service: the stack's stubs call it, with the stack's token


@dataclass(frozen=True)
class ContainerPlan:
    """Everything container mode runs, in order: the database, ``migrate``, a password for each
    of ``login_roles``, then ``processes`` one after the other; ready once every process
    answers health SERVING within ``ready_within`` seconds; stopped in the reverse order."""

    image: str
    database: Database
    migrate: Step
    login_roles: tuple[str, ...]
    processes: tuple[Process, ...]
    ready_within: float
    secrets: Secrets

    @property
    def services(self) -> tuple[Process, ...]:
        return tuple(p for p in self.processes if p.serves_api)

    def process(self, name: str) -> Process:
        (found,) = [p for p in self.processes if p.name == name]
        return found


def auth_tokens(token: str, checker_token: str) -> str:
    """HARBOUR_AUTH_TOKENS: the stack's principal with every role, and the credit checker."""
    return (
        f"{token}={STACK_PRINCIPAL}:{'+'.join(ALL_ROLES)},"
        f"{checker_token}={CHECKER_NAME}:{'+'.join(CHECKER_ROLES)}"
    )


def database_environment(internal_url: str, password: str, snapshot_key: str) -> dict[str, str]:
    """What every long-running container gets, the projector included: the database as reached
    inside the network (the URL's user is replaced by each process's role), the roles' shared
    password, one snapshot key, no metrics endpoint (unpublished: nobody could scrape it)."""
    return {
        "HARBOUR_DATABASE_URL": internal_url,
        "PGPASSWORD": password,
        "HARBOUR_SNAPSHOT_KEY": snapshot_key,
        "HARBOUR_HOST": "0.0.0.0",
        "HARBOUR_METRICS_PORT": "0",
    }


def service_environment(
    internal_url: str,
    password: str,
    token: str,
    snapshot_key: str,
    *,
    checker_token: str,
    port: int = CONTAINER_PORT,
) -> dict[str, str]:
    """What a service container gets: :func:`database_environment`, its gRPC port, and
    authentication by two static bearer tokens (the stack's, every role; the credit
    checker's). Never development mode: it would refuse to bind 0.0.0.0."""
    return {
        **database_environment(internal_url, password, snapshot_key),
        "HARBOUR_PORT": str(port),
        "HARBOUR_AUTH_TOKENS": auth_tokens(token, checker_token),
    }


def projector_environment(
    internal_url: str, password: str, snapshot_key: str, *, port: int
) -> dict[str, str]:
    """The projector's: :func:`database_environment` and the port of its plaintext health
    server (HARBOUR_PORT); no tokens, it serves no call but health (as in deploy/compose.yaml)."""
    return {**database_environment(internal_url, password, snapshot_key), "HARBOUR_PORT": str(port)}


def container_port(process: str) -> int:
    """Each process its own port, numbered as ``harbour up`` numbers them (the services in
    SERVICES order from CONTAINER_PORT, the projector after them), as deploy/compose.yaml."""
    if process == PROJECTOR:
        return CONTAINER_PORT + len(SERVICES)
    return CONTAINER_PORT + SERVICES.index(process)


def container_plan(
    image: str,
    services: Sequence[str],
    postgres_image: str,
    stack_secrets: Secrets,
    *,
    projector: bool = True,
    ready_within: float = READY_SECONDS,
) -> ContainerPlan:
    """What container mode runs for ``services`` from ``image`` (see :class:`ContainerPlan`)."""
    password = stack_secrets.password
    owner_url = f"postgresql://{OWNER}:{password}@{POSTGRES_ALIAS}:{POSTGRES_PORT}/{DATABASE_NAME}"
    # Without the password: each process logs in as its role with PGPASSWORD.
    role_url = f"postgresql://{OWNER}@{POSTGRES_ALIAS}:{POSTGRES_PORT}/{DATABASE_NAME}"
    processes = [
        Process(
            service,
            ("serve", service),
            service_environment(
                role_url,
                password,
                stack_secrets.token,
                stack_secrets.snapshot_key,
                checker_token=stack_secrets.checker_token,
                port=container_port(service),
            ),
            container_port(service),
            serves_api=True,
        )
        for service in services
    ]
    if projector:
        port = container_port(PROJECTOR)
        environment = projector_environment(
            role_url, password, stack_secrets.snapshot_key, port=port
        )
        processes.append(Process(PROJECTOR, ("project",), environment, port, serves_api=False))
    return ContainerPlan(
        image=image,
        database=Database(postgres_image, OWNER, password, DATABASE_NAME, POSTGRES_ALIAS),
        migrate=Step("migrate", ("migrate",), {"HARBOUR_DATABASE_URL": owner_url}),
        # The projector logs in as the generic role, each service as its own.
        login_roles=(GENERIC_ROLE, *(service_role(s) for s in services)),
        processes=tuple(processes),
        ready_within=ready_within,
        secrets=stack_secrets,
    )


# ----------------------------------------------------------------------------- execution


class Backend(Protocol):
    """What :func:`execute` needs from a container engine. A context manager's exit stops
    what its entry started."""

    def network(self) -> contextlib.AbstractContextManager[Any]: ...

    def database(self, database: Database, network: Any) -> contextlib.AbstractContextManager[str]:
        """Run PostgreSQL; yield the owner's URL as reached from this machine."""
        ...

    def run_to_completion(self, image: str, step: Step, network: Any) -> None: ...

    def set_passwords(self, owner_url: str, roles: Sequence[str], password: str) -> None: ...

    def process(
        self, image: str, process: Process, network: Any
    ) -> contextlib.AbstractContextManager[str]:
        """Run ``process``; yield its port's address as reached from this machine."""
        ...


@dataclass(frozen=True)
class Started:
    database_url: str  # the owner's, reached from this machine
    addresses: Mapping[str, str]  # process name -> host:port


def execute(plan: ContainerPlan, backend: Backend, running: contextlib.ExitStack) -> Started:
    """Carry ``plan`` out in its order; ``running`` stops everything started, in reverse."""
    network = running.enter_context(backend.network())
    owner_url = running.enter_context(backend.database(plan.database, network))
    backend.run_to_completion(plan.image, plan.migrate, network)
    backend.set_passwords(owner_url, plan.login_roles, plan.database.password)
    addresses = {
        process.name: running.enter_context(backend.process(plan.image, process, network))
        for process in plan.processes
    }
    return Started(owner_url, addresses)


@contextlib.asynccontextmanager
async def container_stack(
    image: str,
    services: Sequence[str],
    postgres_image: str,
    *,
    projector: bool = True,
    backend: Backend | None = None,
) -> AsyncIterator[HarbourStack]:
    plan = container_plan(image, services, postgres_image, Secrets.fresh(), projector=projector)
    with contextlib.ExitStack() as running:
        started = await asyncio.to_thread(execute, plan, backend or DockerBackend(), running)
        api = {p.name: started.addresses[p.name] for p in plan.services}
        health_only = {
            p.name: started.addresses[p.name] for p in plan.processes if not p.serves_api
        }
        async with (
            _channels(api, token=plan.secrets.token) as channels,
            _channels(health_only) as probes,
        ):
            await wait_until_serving({**channels, **probes}, within=plan.ready_within)
            yield HarbourStack(
                started.database_url,
                api,
                channels,
                f"containers ({image})",
                checker_metadata=(("authorization", f"Bearer {plan.secrets.checker_token}"),),
            )


class DockerBackend:
    """:class:`Backend` through testcontainers (needs a Docker daemon)."""

    def network(self) -> contextlib.AbstractContextManager[Any]:
        from testcontainers.core.network import Network

        return Network()

    @contextlib.contextmanager
    def database(self, database: Database, network: Any) -> Iterator[str]:
        from testcontainers.postgres import PostgresContainer

        postgres = PostgresContainer(
            database.image,
            username=database.user,
            password=database.password,
            dbname=database.name,
            driver=None,
        )
        postgres.with_network(network).with_network_aliases(database.alias)
        with postgres:
            yield postgres.get_connection_url()

    def run_to_completion(self, image: str, step: Step, network: Any) -> None:
        from testcontainers.core.container import DockerContainer

        container = DockerContainer(image).with_command(list(step.command)).with_network(network)
        for name, value in step.environment.items():
            container.with_env(name, value)
        with container:
            result = container.get_wrapped_container().wait(timeout=300)
            if result.get("StatusCode") != 0:
                logs = container.get_logs()
                raise RuntimeError(f"{image} {' '.join(step.command)} failed: {logs}")

    def set_passwords(self, owner_url: str, roles: Sequence[str], password: str) -> None:
        """The migrations create the roles without a password; the containers log in over
        TCP."""
        with psycopg.connect(owner_url, autocommit=True) as conn:
            for role in roles:
                conn.execute(
                    psycopg.sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                        psycopg.sql.Identifier(role), psycopg.sql.Literal(password)
                    )
                )

    @contextlib.contextmanager
    def process(self, image: str, process: Process, network: Any) -> Iterator[str]:
        from testcontainers.core.container import DockerContainer

        container = DockerContainer(image).with_command(list(process.command))
        container.with_network(network).with_exposed_ports(process.port)
        for name, value in process.environment.items():
            container.with_env(name, value)
        with container:
            host = container.get_container_host_ip()
            yield f"{host}:{container.get_exposed_port(process.port)}"
