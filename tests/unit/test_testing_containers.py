"""harbour.testing's container mode, without Docker: the plan (which containers, commands,
environments, ports and order; what the processes make of that environment through Settings),
service_environment, the execution of a plan through a recording backend, and the stack it
yields, whose channels send the stack's token unless a call names the credit checker. The
testcontainers backend itself needs a Docker daemon and is not run here."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer

import harbour.runtime.settings as settings_module
from harbour.api.v1 import accounts_pb2
from harbour.runtime import cli
from harbour.runtime.auth import Authenticator, startup_refusal
from harbour.runtime.authorization import ROLES, authorize
from harbour.runtime.ownership import GENERIC_ROLE, service_role
from harbour.runtime.settings import SERVICES, Settings, parse_auth_tokens
from harbour.testing import (
    ALL_ROLES,
    CHECKER_NAME,
    CONTAINER_PORT,
    HarbourStack,
    with_default_authorization,
)
from harbour.testing import credit as testing_credit
from harbour.testing.containers import (
    PROJECTOR,
    STACK_PRINCIPAL,
    ContainerPlan,
    Database,
    Process,
    Secrets,
    Step,
    container_plan,
    container_stack,
    execute,
    service_environment,
)

ROOT = Path(__file__).resolve().parents[2]
SECRETS = Secrets("pw-0123456789", "stack-token", "checker-token", "snapshot-key-0123456789")
APPROVE = accounts_pb2.DESCRIPTOR.services_by_name["AccountsService"].methods_by_name[
    "ApproveClientFact"
]
APPROVE_METHOD = f"/{APPROVE.containing_service.full_name}/{APPROVE.name}"
# The variables Settings documents (its module docstring), and libpq's password.
DOCUMENTED = set(re.findall(r"^(HARBOUR_[A-Z_]+)", settings_module.__doc__ or "", re.MULTILINE))


def steps(made: ContainerPlan) -> list[Step | Process]:
    return [made.migrate, *made.processes]


def plan(services: Sequence[str] = SERVICES, *, projector: bool = True) -> ContainerPlan:
    return container_plan(
        "harbour:test", services, "postgres:18-alpine", SECRETS, projector=projector
    )


# ----------------------------------------------------------------------------- the plan


def test_the_plan_runs_every_service_then_the_projector_from_the_image() -> None:
    made = plan()
    assert [p.name for p in made.processes] == [*SERVICES, PROJECTOR]
    for service in SERVICES:
        assert made.process(service).command == ("serve", service)
        assert made.process(service).serves_api
    assert made.process(PROJECTOR).command == ("project",)
    assert not made.process(PROJECTOR).serves_api
    assert [p.name for p in made.services] == list(SERVICES)
    assert made.migrate.command == ("migrate",)
    assert made.image == "harbour:test" and made.database.image == "postgres:18-alpine"


def test_a_stack_without_the_projector_plans_none() -> None:
    assert PROJECTOR not in [p.name for p in plan(projector=False).processes]
    assert [p.name for p in plan(["accounts"]).processes] == ["accounts", PROJECTOR]


def test_each_command_is_the_harbour_command_compose_runs() -> None:
    made, parser = plan(), cli.parser()
    compose = yaml.safe_load((ROOT / "deploy/compose.yaml").read_text())["services"]
    for step in steps(made):
        parsed = parser.parse_args(list(step.command))
        expected = {"migrate": cli.cmd_migrate, PROJECTOR: cli.cmd_project}
        assert cli.HANDLERS[parsed.command] is expected.get(step.name, cli.cmd_serve)
        assert compose[step.name]["command"] == list(step.command)


def test_every_environment_uses_only_the_variables_settings_reads() -> None:
    assert {"HARBOUR_DATABASE_URL", "HARBOUR_AUTH_TOKENS", "HARBOUR_PORT"} <= DOCUMENTED
    made = plan()
    for step in steps(made):
        assert set(step.environment) - {"PGPASSWORD"} <= DOCUMENTED, step.name


def test_services_authenticate_and_are_never_in_development_mode() -> None:
    made = plan()
    for service in made.services:
        settings = Settings.from_env(service.environment)
        assert startup_refusal(settings) is None, service.name
        assert not settings.dev_mode and "HARBOUR_DEV_MODE" not in service.environment
        assert settings.host == "0.0.0.0" and settings.port_of(service.name) == service.port
        assert settings.metrics_port_of(service.name) is None
        assert settings.snapshot_key == SECRETS.snapshot_key
        assert settings.database_url == "postgresql://harbour@postgres:5432/harbour"
        assert service.environment["PGPASSWORD"] == SECRETS.password


def test_the_projector_gets_the_database_and_a_health_port_but_no_tokens() -> None:
    made = plan()
    projector = made.process(PROJECTOR)
    settings = Settings.from_env(projector.environment)
    assert settings.projector_port == projector.port and settings.host == "0.0.0.0"
    assert not settings.auth_tokens and not settings.dev_mode
    for name in ("HARBOUR_DATABASE_URL", "PGPASSWORD", "HARBOUR_SNAPSHOT_KEY"):
        assert projector.environment[name] == made.process("accounts").environment[name]
    assert settings.metrics_port_of(PROJECTOR) is None


def test_every_role_a_process_logs_in_as_gets_the_password() -> None:
    made = plan()
    for process in made.processes:
        service = process.name if process.serves_api else None
        assert Settings.from_env(process.environment).role_of(service) in made.login_roles
    assert made.login_roles == (GENERIC_ROLE, *(service_role(s) for s in SERVICES))
    assert "harbour:pw-0123456789@postgres" in made.migrate.environment["HARBOUR_DATABASE_URL"]


def test_every_process_has_a_port_of_its_own() -> None:
    ports = [p.port for p in plan().processes]
    assert len(set(ports)) == len(ports) == len(SERVICES) + 1
    assert min(ports) == CONTAINER_PORT


def test_the_tokens_name_the_stack_with_every_role_and_a_second_principal_the_checker() -> None:
    tokens = parse_auth_tokens(plan().process("lending").environment["HARBOUR_AUTH_TOKENS"])
    stack, checker = tokens[SECRETS.token], tokens[SECRETS.checker_token]
    assert set(tokens) == {SECRETS.token, SECRETS.checker_token}
    assert stack.name == STACK_PRINCIPAL and stack.roles == set(ALL_ROLES) == ROLES
    assert checker.name == CHECKER_NAME == testing_credit.CHECKER_NAME != stack.name
    authorize(checker, APPROVE_METHOD)  # may approve a credit fact; raises if not
    assert checker.roles < ROLES  # and is not the all-powerful stack principal


def test_service_environment() -> None:
    env = service_environment("postgresql://u@db/x", "pw", "tok", "k" * 16, checker_token="chk")
    assert env == {
        "HARBOUR_DATABASE_URL": "postgresql://u@db/x",
        "PGPASSWORD": "pw",
        "HARBOUR_SNAPSHOT_KEY": "k" * 16,
        "HARBOUR_HOST": "0.0.0.0",
        "HARBOUR_METRICS_PORT": "0",
        "HARBOUR_PORT": str(CONTAINER_PORT),
        "HARBOUR_AUTH_TOKENS": (
            f"tok={STACK_PRINCIPAL}:{'+'.join(ALL_ROLES)},chk={CHECKER_NAME}:risk"
        ),
    }
    assert service_environment("u", "p", "t", "k", checker_token="c", port=6)["HARBOUR_PORT"] == "6"


def test_the_default_token_never_doubles_a_calls_own_authorization() -> None:
    assert with_default_authorization(None, "t") == (("authorization", "Bearer t"),)
    assert with_default_authorization([("x", "1")], "t") == (
        ("x", "1"),
        ("authorization", "Bearer t"),
    )
    own = (("Authorization", "Bearer other"),)
    assert with_default_authorization(own, "t") == own


# ----------------------------------------------------------------------------- execution


class Recording:
    """A Backend that starts nothing: it records what it is asked, in order, and what stops;
    ``addresses`` are where each process "listens"; ``fail_at`` refuses to start one."""

    def __init__(self, addresses: dict[str, str] | None = None, fail_at: str = "") -> None:
        self.events: list[str] = []
        self.environments: dict[str, dict[str, str]] = {}
        self.addresses, self.fail_at = addresses or {}, fail_at

    @contextlib.contextmanager
    def _running(self, name: str) -> Iterator[None]:
        self.events.append(f"start {name}")
        try:
            yield
        finally:
            self.events.append(f"stop {name}")

    @contextlib.contextmanager
    def network(self) -> Iterator[str]:
        with self._running("network"):
            yield "net"

    @contextlib.contextmanager
    def database(self, database: Database, network: Any) -> Iterator[str]:
        assert network == "net"
        with self._running("postgres"):
            yield f"postgresql://{database.user}:{database.password}@127.0.0.1:1/{database.name}"

    def run_to_completion(self, image: str, step: Step, network: Any) -> None:
        self.events.append(f"run {step.name}")

    def set_passwords(self, owner_url: str, roles: Sequence[str], password: str) -> None:
        assert owner_url.startswith(f"postgresql://harbour:{password}@")
        self.events.append("passwords " + " ".join(roles))

    @contextlib.contextmanager
    def process(self, image: str, process: Process, network: Any) -> Iterator[str]:
        if process.name == self.fail_at:
            raise RuntimeError(f"{process.name} did not start")
        self.environments[process.name] = dict(process.environment)
        with self._running(process.name):
            yield self.addresses.get(process.name, f"127.0.0.1:{process.port}")


def test_execution_follows_the_plan_and_stops_everything_in_reverse() -> None:
    backend, made = Recording(), plan()
    with contextlib.ExitStack() as running:
        started = execute(made, backend, running)
        assert backend.events == [
            "start network",
            "start postgres",
            "run migrate",
            "passwords " + " ".join(made.login_roles),
            *(f"start {p.name}" for p in made.processes),
        ]
        assert set(started.addresses) == {*SERVICES, PROJECTOR}
        assert started.database_url.startswith("postgresql://harbour:")
        backend.events.clear()
    assert backend.events == [
        *(f"stop {p.name}" for p in reversed(made.processes)),
        "stop postgres",
        "stop network",
    ]


def test_a_process_that_fails_to_start_stops_what_had_started() -> None:
    backend = Recording(fail_at="lending")
    with pytest.raises(RuntimeError, match="lending"), contextlib.ExitStack() as running:
        execute(plan(), backend, running)
    started = [e.removeprefix("start ") for e in backend.events if e.startswith("start ")]
    stopped = [e.removeprefix("stop ") for e in backend.events if e.startswith("stop ")]
    assert "lending" not in started and PROJECTOR not in started
    assert stopped == started[::-1]


# ----------------------------------------------------------------------------- the stack


class Seen(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    """The ``authorization`` values of each call a server receives."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    async def intercept_service(self, continuation: Any, details: Any) -> Any:
        metadata = details.invocation_metadata or ()
        self.calls.append([v for k, v in metadata if k == "authorization"])
        return await continuation(details)


async def _one(request: bytes, context: Any) -> bytes:
    return request


async def _many(request: bytes, context: Any) -> AsyncIterator[bytes]:
    yield request


async def _gather(requests: AsyncIterator[bytes], context: Any) -> bytes:
    return b"".join([r async for r in requests])


async def _echo(requests: AsyncIterator[bytes], context: Any) -> AsyncIterator[bytes]:
    async for request in requests:
        yield request


# A call of each kind (bytes in, bytes out), to see the stack's token on every kind.
ECHO = grpc.method_handlers_generic_handler(
    "test.Echo",
    {
        "UnaryUnary": grpc.unary_unary_rpc_method_handler(_one),
        "UnaryStream": grpc.unary_stream_rpc_method_handler(_many),
        "StreamUnary": grpc.stream_unary_rpc_method_handler(_gather),
        "StreamStream": grpc.stream_stream_rpc_method_handler(_echo),
    },
)


async def call_each_kind(channel: grpc.aio.Channel, metadata: Any) -> None:
    async def requests() -> AsyncIterator[bytes]:
        yield b"x"

    assert await channel.unary_unary("/test.Echo/UnaryUnary")(b"x", metadata=metadata) == b"x"
    assert [
        r async for r in channel.unary_stream("/test.Echo/UnaryStream")(b"x", metadata=metadata)
    ] == [b"x"]
    assert (
        await channel.stream_unary("/test.Echo/StreamUnary")(requests(), metadata=metadata) == b"x"
    )
    assert [
        r
        async for r in channel.stream_stream("/test.Echo/StreamStream")(
            requests(), metadata=metadata
        )
    ] == [b"x"]


@contextlib.asynccontextmanager
async def health_servers(names: Sequence[str]) -> AsyncIterator[dict[str, tuple[str, Seen]]]:
    """One gRPC server answering health SERVING (and test.Echo) per name, on loopback: the
    containers."""
    servers: dict[str, tuple[str, Seen]] = {}
    running = []
    try:
        for name in names:
            seen = Seen()
            server = grpc.aio.server(interceptors=[seen])
            health = HealthServicer()
            await health.set("", health_pb2.HealthCheckResponse.SERVING)
            health_pb2_grpc.add_HealthServicer_to_server(health, server)
            server.add_generic_rpc_handlers([ECHO])
            port = server.add_insecure_port("127.0.0.1:0")
            await server.start()
            running.append(server)
            servers[name] = (f"127.0.0.1:{port}", seen)
        yield servers
    finally:
        for server in running:
            await server.stop(None)


async def test_the_stack_waits_for_every_process_and_calls_as_the_stack_or_the_checker() -> None:
    services = ("accounts", "lending")
    async with health_servers([*services, PROJECTOR]) as servers:
        backend = Recording({name: address for name, (address, _) in servers.items()})
        async with container_stack("harbour:test", services, "pg", backend=backend) as stack:
            assert dict(stack.addresses) == {s: servers[s][0] for s in services}
            assert stack.source == "containers (harbour:test)"
            # Every process was probed, the projector too, before the stack was handed out.
            assert all(seen.calls for _, seen in servers.values())
            assert servers[PROJECTOR][1].calls[-1] == []  # plaintext health, no token there
            probed = len(servers["accounts"][1].calls)
            await call_each_kind(stack.channels["accounts"], None)
            await call_each_kind(stack.channels["accounts"], stack.checker_metadata)
            assert backend.events[-1] == f"start {PROJECTOR}"  # nothing stopped yet
        assert backend.events[-1] == "stop network"
    authenticator = Authenticator(Settings.from_env(backend.environments["accounts"]).auth_tokens)
    principals = []
    for values in servers["accounts"][1].calls[probed - 1 :]:
        assert len(values) == 1  # one authorization, never the stack's beside the checker's
        principals.append(authenticator.authenticate({"authorization": values[0]}).name)
    assert principals == [STACK_PRINCIPAL] * 5 + [CHECKER_NAME] * 4


def test_in_process_the_checker_is_named_by_the_development_header() -> None:
    stack = HarbourStack("postgresql://x", {}, {}, "in-process (test)")
    assert stack.checker_metadata == testing_credit.CHECKER
    assert stack.checker_metadata == (("x-harbour-principal", f"{CHECKER_NAME}:risk"),)
