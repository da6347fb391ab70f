"""Arbitrary and hostile request messages for every RPC, against real service processes.

Each message is built by Hypothesis from the RPC's own descriptor: strings from the nasty
(NUL, RTL marks, 100 kB, numbers in every notation) to the plausible (a real client id, a
real asset), integers at their limits, nested messages, repeated fields. The server must
never answer UNKNOWN or INTERNAL, and a refused request must append nothing.
HARBOUR_FUZZ_EXAMPLES scales the number of messages per RPC (default 60).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import grpc
import psycopg
import pytest
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harbour.api.v1 import (
    accounts_pb2,
    audit_pb2,
    collateral_pb2,
    common_pb2,
    feed_pb2,
    lending_pb2,
    liquidation_pb2,
)
from harbour.runtime.settings import SERVICES, libpq_url
from tests.e2e.test_harbour_up import free_port_block, wait_serving
from tests.e2e.test_observability import Samples, scrape, value

EXAMPLES = int(os.environ.get("HARBOUR_FUZZ_EXAMPLES", "60"))
NEVER = {grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL}
PRINCIPAL = (
    (
        "x-harbour-principal",
        "fuzzer:operator+trading-platform+auditor+risk+price-feed+policy-admin",
    ),
)
# Every service's wire module and service name: the test covers every RPC of each.
WIRE = {
    "accounts": (accounts_pb2, "AccountsService"),
    "audit": (audit_pb2, "AuditService"),
    "collateral": (collateral_pb2, "CollateralService"),
    "lending": (lending_pb2, "LendingService"),
    "liquidation": (liquidation_pb2, "LiquidationService"),
    "feed": (feed_pb2, "FeedService"),
}

PLAUSIBLE = st.sampled_from(
    [
        "C1",
        "HKD",
        "BTC",
        "ETH",
        "USDT",
        "0700.HK",
        "1.00",
        "0.00000001",
        "A",
        "AAA",
        "MA-1",
        "12345678901234567890.123",
        "-1",
        "0",
        "1e9",
        "NaN",
        "Infinity",
        "0x10",
        "1_000",
        " 1",
        "\uff11\uff12\uff13",  # full-width digits
        "1.",
        ".5",
        "account-C1",
        "../../etc/passwd",
        "' OR 1=1 --",
        "\u202e",
        "\x00",
    ]
)
NASTY = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
    st.just("x" * 100_000),
    PLAUSIBLE,
)
INT_LIMITS = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
}


def message_strategy(cls: type[Message], depth: int = 0) -> st.SearchStrategy[Message]:
    fields: dict[str, st.SearchStrategy[Any]] = {}
    for field in cls.DESCRIPTOR.fields:
        value = field_strategy(field, depth)
        if value is None:
            continue
        if field.is_repeated:
            value = st.lists(value, max_size=3)
        fields[field.name] = st.one_of(st.none(), value)

    def build(values: dict[str, Any]) -> Message:
        message = cls()
        for name, value in values.items():
            if value is None:
                continue
            target = getattr(message, name)
            if isinstance(value, list):
                if value and isinstance(value[0], Message):
                    for item in value:
                        target.add().CopyFrom(item)
                else:
                    target.extend(value)
            elif isinstance(value, Message):
                target.CopyFrom(value)
            else:
                setattr(message, name, value)
        return message

    return st.fixed_dictionaries({}, optional=fields).map(build)


def field_strategy(field: FieldDescriptor, depth: int) -> st.SearchStrategy[Any] | None:
    if field.type == FieldDescriptor.TYPE_STRING:
        return NASTY
    if field.type in INT_LIMITS:
        low, high = INT_LIMITS[field.type]
        return st.one_of(st.integers(low, high), st.sampled_from([low, high, -1, 0, 1, 2]))
    if field.type == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if field.type == FieldDescriptor.TYPE_BYTES:
        return st.binary(max_size=64)
    if field.type == FieldDescriptor.TYPE_ENUM:
        return st.sampled_from([v.number for v in field.enum_type.values])
    if field.type == FieldDescriptor.TYPE_MESSAGE and depth < 3:
        if field.message_type.full_name == "google.protobuf.Timestamp":
            return st.builds(
                lambda s, n: _timestamp(s, n),
                st.integers(-62135596800, 253402300799),
                st.integers(0, 999_999_999),
            )
        from google.protobuf import message_factory

        nested = message_factory.GetMessageClass(field.message_type)
        return message_strategy(nested, depth + 1)
    return None


def _timestamp(seconds: int, nanos: int) -> Message:
    from google.protobuf.timestamp_pb2 import Timestamp

    return Timestamp(seconds=seconds, nanos=nanos)


@pytest.fixture(scope="module")
def services(pg_server: str, template_url: str) -> Iterator[tuple[str, int]]:
    from tests.conftest import drop_database, new_database

    url = new_database(pg_server)
    base = free_port_block(2 * len(SERVICES))  # gRPC, then /metrics (metrics_port_of)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARBOUR_")}
    env.update(HARBOUR_DATABASE_URL=url, HARBOUR_PORT_BASE=str(base), HARBOUR_LOG_LEVEL="ERROR")
    env.update(HARBOUR_METRICS_PORT_BASE=str(base + len(SERVICES)))
    env.update(HARBOUR_DEV_MODE="1")  # development mode, asked for: loopback, no credentials
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "harbour.runtime.cli", "serve", name],
            env=env,
            stdout=subprocess.DEVNULL,
        )
        for name in SERVICES
    ]
    try:
        for offset in range(len(SERVICES)):
            wait_serving(base + offset, deadline=time.monotonic() + 30)
        onboard_one_client(base + SERVICES.index("accounts"))
        yield url, base
    finally:
        for process in processes:  # every one told first: they stop together, not in turn
            process.terminate()
        for process in processes:
            process.wait(timeout=15)
        drop_database(pg_server, url)


def onboard_one_client(port: int) -> None:
    """One real event in the store before the fuzzing: a subscription from the start (as most
    fuzzed ones are) then gets an event at once and ends (max_events 1) instead of waiting out
    the caller's deadline. The client's id is one the fuzzer does not pick."""
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        onboard = channel.unary_unary(
            "/harbour.api.v1.AccountsService/OnboardClient",
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=accounts_pb2.OnboardClientResponse.FromString,
        )
        onboard(
            accounts_pb2.OnboardClientRequest(
                request_id="hostile-input-seed",
                client_id="SEEDED-CLIENT",
                securities_margin_account_id="SMA-SEEDED-CLIENT",
                credit_grade="A",
                credit_limit=common_pb2.Amount(asset="HKD", value="1000.00"),
                margin_agreement_version="MA-2026",
                risk_disclosure_version="VARD-1",
            ),
            metadata=PRINCIPAL,
            timeout=30,
        )


@pytest.fixture(scope="module")
def events_in(services: tuple[str, int]) -> Iterator[Any]:
    with psycopg.connect(libpq_url(services[0]), autocommit=True) as conn:

        def count() -> int:
            row = conn.execute("SELECT count(*) FROM events").fetchone()
            return int(row[0]) if row else 0

        yield count


def test_every_service_is_fuzzed() -> None:
    assert set(WIRE) == set(SERVICES)


# The followers each service process runs in the background, by the name its lag is reported.
FOLLOWERS = {"lending": {"risk_monitor", "limit_monitor"}, "liquidation": {"liquidations"}}


def test_each_service_process_serves_its_own_metrics_and_its_followers_lag(
    services: tuple[str, int],
) -> None:
    """`harbour serve` as `harbour up` starts it: its own /metrics (base + its place), its own
    calls timed, and the lag of the followers it runs, 0 once they have caught up."""
    _, base = services
    deadline = time.monotonic() + 60  # the followers' first rounds, on a loaded machine
    for offset, name in enumerate(SERVICES):
        port = base + len(SERVICES) + offset
        lags: dict[str, float] = {}
        while True:
            samples: Samples = scrape(port)
            lags = {
                dict(labels)["projection"]: sample
                for (metric, labels), sample in samples.items()
                if metric == "harbour_feed_lag_events"
            }
            settled = set(lags) == FOLLOWERS.get(name, set()) and not any(lags.values())
            if settled or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert lags == dict.fromkeys(FOLLOWERS.get(name, ()), 0.0), name
        timed = {
            dict(labels)["service"]
            for (metric, labels), _ in samples.items()
            if metric == "harbour_rpc_duration_seconds_count"
        }
        assert timed <= {name}, name  # only its own calls
        assert value(samples, "harbour_db_pool_connections", pool="append", state="max") >= 1
        if name == "accounts":  # the seeding call, answered before any test ran
            onboard = "/harbour.api.v1.AccountsService/OnboardClient"
            count = "harbour_rpc_duration_seconds_count"
            assert value(samples, count, service=name, method=onboard, code="OK") >= 1


def rpcs() -> list[tuple[str, int, Any]]:
    found = []
    for offset, name in enumerate(SERVICES):
        module, service = WIRE[name]
        for method in module.DESCRIPTOR.services_by_name[service].methods:
            found.append((f"/{service_full(module, service)}/{method.name}", offset, method))
    return found


def service_full(module: Any, service: str) -> str:
    return str(module.DESCRIPTOR.services_by_name[service].full_name)


@pytest.mark.parametrize(
    ("path", "offset", "method"), rpcs(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_hostile_messages_never_get_unknown_or_internal(
    services: tuple[str, int], events_in: Any, path: str, offset: int, method: Any
) -> None:
    _, base = services
    from google.protobuf import message_factory

    request_cls = message_factory.GetMessageClass(method.input_type)
    response_cls = message_factory.GetMessageClass(method.output_type)
    channel = grpc.insecure_channel(f"127.0.0.1:{base + offset}")
    if method.client_streaming:
        kind = channel.stream_unary
    elif method.server_streaming:
        kind = channel.unary_stream
    else:
        kind = channel.unary_unary
    call = kind(
        path,
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=response_cls.FromString,
    )

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(message_strategy(request_cls))
    def check(request: Message) -> None:
        if "max_events" in request.DESCRIPTOR.fields_by_name:
            request.max_events = 1  # type: ignore[attr-defined]  # never follow forever
        before = events_in()
        # A feed subscription past the last event rightly waits for more: its deadline is
        # the caller's to set. Unary calls must answer well within theirs.
        timeout = 0.3 if method.server_streaming else 10
        try:
            sent = iter([request, request]) if method.client_streaming else request
            reply = call(sent, metadata=PRINCIPAL, timeout=timeout)
            if method.server_streaming:
                list(reply)
        except grpc.RpcError as error:
            code = error.code()  # type: ignore[attr-defined]
            assert code not in NEVER, f"{path} answered {code}: {error.details()}"  # type: ignore[attr-defined]
            if code == grpc.StatusCode.DEADLINE_EXCEEDED:
                assert method.server_streaming, f"{path} hung on {request}"
            assert events_in() == before, f"{path} refused {code} but appended events"

    try:
        check()
    finally:
        channel.close()
