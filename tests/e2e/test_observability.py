"""Metrics, JSON logs and tracing, as an operator's tools see them: /metrics scraped over HTTP,
log lines parsed as JSON, spans taken from an exporter."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from harbour.api.v1 import accounts_pb2 as pb
from harbour.api.v1 import accounts_pb2_grpc
from harbour.api.v1.common_pb2 import Amount
from harbour.eventstore.model import NewEvent
from harbour.eventstore.notify import FeedNotifier
from harbour.eventstore.projections import ProjectionRunner
from harbour.eventstore.store import EventStore
from harbour.runtime.database import open_database
from harbour.runtime.logs import configure_logging
from harbour.runtime.metrics import MetricsEndpoint, serve_metrics
from harbour.runtime.server import Runtime, start_server, system_clock
from harbour.runtime.settings import SERVICES, Settings
from harbour.runtime.supervisor import Backoff, Heartbeat, Loop, Supervisor
from harbour.runtime.tracing import tracer_provider
from tests.conftest import drop_database, new_database
from tests.e2e.test_harbour_up import free_port_block

ONBOARD = "/harbour.api.v1.AccountsService/OnboardClient"
OPERATOR = (("x-harbour-principal", "ops:operator"),)
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture(scope="module")
def endpoint() -> Iterator[MetricsEndpoint]:
    serving = serve_metrics(0, "127.0.0.1")
    yield serving
    serving.close()


def scrape(port: int) -> Samples:
    """Every sample of a process's /metrics, fetched over HTTP as Prometheus does."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as page:
        text = page.read().decode("utf-8")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def onboarding(client: str) -> pb.OnboardClientRequest:
    return pb.OnboardClientRequest(
        request_id=f"obs-{client}-{time.monotonic_ns()}",
        client_id=client,
        securities_margin_account_id="SMA-1",
        credit_grade="A",
        credit_assessment_id="CA-1",
        credit_limit=Amount(asset="HKD", value="1000000.00"),
        margin_agreement_version="MA-2026",
        risk_disclosure_version="VARD-1",
    )


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """This process's log lines, as `harbour serve` writes them (HARBOUR_LOG_FORMAT=json)."""
    root = logging.getLogger()
    level = root.level
    lines = io.StringIO()
    handler = configure_logging(Settings(log_format="json"), stream=lines)
    yield lines
    root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture(scope="module")
def module_url(pg_server: str, template_url: str) -> Iterator[str]:
    """One database for the module: a fresh one per test would cost more than the tests."""
    url = new_database(pg_server)
    yield url
    drop_database(pg_server, url)


@pytest.fixture(scope="module")
async def runtime(module_url: str) -> AsyncIterator[Runtime]:
    database = await open_database(module_url, pool_size=20)
    store = EventStore(database, clock=system_clock, notifier=FeedNotifier(database))
    settings = replace(Settings.from_env({"HARBOUR_DEV_MODE": "1"}), database_url=module_url)
    yield Runtime(settings, database, store, system_clock)
    await database.close()


@pytest.fixture(scope="module")
async def accounts(runtime: Runtime) -> AsyncIterator[accounts_pb2_grpc.AccountsServiceStub]:
    running = await start_server("accounts", runtime, port=0, host="127.0.0.1")
    async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        yield accounts_pb2_grpc.AccountsServiceStub(channel)
    await running.stop(0)


async def test_every_outcome_is_timed_by_method_and_code_and_logged_as_json(
    accounts: accounts_pb2_grpc.AccountsServiceStub,
    endpoint: MetricsEndpoint,
    json_lines: io.StringIO,
) -> None:
    before = scrape(endpoint.port)
    for client in ("OBS1", "OBS2"):
        call = accounts.OnboardClient(
            onboarding(client), metadata=(*OPERATOR, ("x-correlation-id", f"corr-{client}"))
        )
        await call
        ok_trailers = dict(await call.trailing_metadata() or ())
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await accounts.OnboardClient(onboarding("not a client id!"), metadata=OPERATOR)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    after = scrape(endpoint.port)

    count = "harbour_rpc_duration_seconds_count"
    ok = {"service": "accounts", "method": ONBOARD, "code": "OK"}
    invalid = {**ok, "code": "INVALID_ARGUMENT"}
    assert value(after, count, **ok) - value(before, count, **ok) == 2
    assert value(after, count, **invalid) - value(before, count, **invalid) == 1
    # The pools of the server's database are counted at scrape time.
    assert value(after, "harbour_db_pool_connections", pool="append", state="max") >= 1

    # The caller holds each call's request id; the call's log lines carry it, with who called.
    refused_trailers = dict(refused.value.trailing_metadata() or ())
    assert ok_trailers["x-request-id"] != refused_trailers["x-request-id"]
    lines = [json.loads(line) for line in json_lines.getvalue().splitlines()]
    outcomes = [line for line in lines if line["logger"] == "harbour.rpc"]
    (outcome,) = [o for o in outcomes if o.get("request_id") == ok_trailers["x-request-id"]]
    assert outcome["principal"] == "ops"
    assert outcome["correlation_id"] == "corr-OBS2"
    assert outcome["method"] == ONBOARD and outcome["code"] == "OK"
    assert outcome["level"] == "INFO" and outcome["logger"] == "harbour.rpc"
    assert isinstance(outcome["duration_ms"], float) and "timestamp" in outcome
    (refusal,) = [o for o in outcomes if o.get("request_id") == refused_trailers["x-request-id"]]
    assert refusal["code"] == "INVALID_ARGUMENT" and refusal["reason"]


class Probe:
    """A follower with no tables of its own: only its checkpoint moves."""

    name = "observability_probe"
    tables = ()

    async def apply(self, conn: Any, events: Any) -> None:
        return None


async def test_feed_lag_is_the_head_minus_a_projections_checkpoint(
    runtime: Runtime, endpoint: MetricsEndpoint
) -> None:
    store = runtime.store
    for n in range(1, 6):
        await store.append("probe-1", [NewEvent("Probed", {"n": n})], expected_version=n - 1)
    page = await store.read_feed()
    runner = ProjectionRunner(store, clock=lambda: datetime.now(UTC))
    lag = ("harbour_feed_lag_events", frozenset({("projection", Probe.name)}))

    await runner.catch_up(Probe(), until=page.events[1].checkpoint)  # two of five
    assert scrape(endpoint.port)[lag] == page.events[-1].position - page.events[1].position
    await runner.catch_up(Probe())
    assert scrape(endpoint.port)[lag] == 0


async def test_a_loop_that_fails_is_down_until_it_completes_a_round() -> None:
    rounds = 0

    async def flaky(heartbeat: Heartbeat) -> None:
        nonlocal rounds
        rounds += 1
        if rounds == 1:
            raise RuntimeError("the database went away")
        while True:
            heartbeat()
            await asyncio.sleep(0.01)

    seen: list[float | None] = []

    async def no_wait(_: float) -> None:
        seen.append(REGISTRY.get_sample_value("harbour_background_loop_up", {"loop": "flaky"}))

    restarts = "harbour_background_loop_restarts_total"
    restarted = REGISTRY.get_sample_value(restarts, {"loop": "flaky"}) or 0.0
    supervisor = Supervisor([Loop("flaky", flaky)], backoff=Backoff(first=0), sleep=no_wait)
    supervisor.start()
    try:
        for _ in range(200):
            if supervisor.status("flaky").up:
                break
            await asyncio.sleep(0.01)
    finally:
        await supervisor.stop()
    assert seen == [0.0]  # down while it waited to restart
    assert REGISTRY.get_sample_value("harbour_background_loop_up", {"loop": "flaky"}) == 1.0
    assert REGISTRY.get_sample_value(restarts, {"loop": "flaky"}) == restarted + 1


def test_up_numbers_metrics_ports_like_grpc_ports_and_a_container_names_its_own() -> None:
    under_up = Settings.from_env({"HARBOUR_METRICS_PORT_BASE": "9500"})
    ports = [under_up.metrics_port_of(s) for s in SERVICES]
    assert ports == [9500 + i for i in range(len(SERVICES))]
    assert under_up.metrics_port_of("projector") == 9500 + len(SERVICES)
    assert Settings.from_env({}).metrics_port_of("accounts") == 9464
    container = Settings.from_env({"HARBOUR_METRICS_PORT": "9100"})
    assert container.metrics_port_of("lending") == container.metrics_port_of("projector") == 9100
    assert Settings.from_env({"HARBOUR_METRICS_PORT": "0"}).metrics_port_of("audit") is None
    assert Settings.from_env({"HARBOUR_METRICS_PORT_BASE": "0"}).metrics_port_of("audit") is None


def test_the_projector_process_serves_metrics_and_logs_json(module_url: str) -> None:
    """`harbour project` as `harbour up` starts it (no HARBOUR_METRICS_PORT: base + its place)."""
    grpc_base = free_port_block(len(SERVICES) + 1)
    metrics_base = free_port_block(len(SERVICES) + 1)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARBOUR_")}
    env.update(
        HARBOUR_DATABASE_URL=module_url,
        HARBOUR_PORT_BASE=str(grpc_base),
        HARBOUR_METRICS_PORT_BASE=str(metrics_base),
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "harbour.runtime.cli", "project"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    port = metrics_base + len(SERVICES)
    try:
        # A deadline, not a wait: a shared machine may take 10 s to import the stack.
        samples = wait_for_lag(port, deadline=time.monotonic() + 45)
        assert samples[("harbour_background_loop_up", frozenset({("loop", "projector")}))] == 1
    finally:
        process.terminate()
        _, errors = process.communicate(timeout=15)
    lines = [json.loads(line) for line in errors.splitlines() if line.strip()]
    assert lines, "the projector logged nothing"
    assert all({"timestamp", "level", "logger", "message"} <= line.keys() for line in lines)
    assert any(f":{port}/metrics" in line["message"] for line in lines)


def wait_for_lag(port: int, deadline: float) -> Samples:
    """The projector's samples once it has reported the lag of its read models."""
    while time.monotonic() < deadline:
        try:
            samples = scrape(port)
        except OSError:
            samples = {}
        if any(name == "harbour_feed_lag_events" for name, _ in samples):
            return samples
        time.sleep(0.1)
    raise AssertionError(f"no feed lag on :{port}/metrics")


@pytest.fixture
async def traced(
    runtime: Runtime,
) -> AsyncIterator[tuple[accounts_pb2_grpc.AccountsServiceStub, InMemorySpanExporter, Any]]:
    exporter = InMemorySpanExporter()
    provider = tracer_provider(runtime.settings, "accounts", exporter=exporter)
    assert provider is not None
    running = await start_server(
        "accounts", replace(runtime, tracer=provider), port=0, host="127.0.0.1"
    )
    async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        yield accounts_pb2_grpc.AccountsServiceStub(channel), exporter, provider
    await running.stop(0)
    provider.shutdown()


async def test_with_tracing_each_call_is_a_span(
    traced: tuple[accounts_pb2_grpc.AccountsServiceStub, InMemorySpanExporter, Any],
) -> None:
    accounts, exporter, provider = traced
    await accounts.OnboardClient(onboarding("TRACED"), metadata=OPERATOR)
    with pytest.raises(grpc.aio.AioRpcError):
        await accounts.OnboardClient(onboarding("not a client id!"), metadata=OPERATOR)
    # A server span ends when the server's side of the call is done, which may be just after
    # the caller has its answer (a refusal especially); the batch processor exports from its
    # own thread. So: wait a bounded while for both.
    for _ in range(100):
        provider.force_flush()
        spans = exporter.get_finished_spans()
        if len(spans) >= 2:
            break
        await asyncio.sleep(0.05)
    assert [span.name for span in spans] == [ONBOARD, ONBOARD]
    codes = [(span.attributes or {}).get("rpc.grpc.status_code") for span in spans]
    assert codes == [grpc.StatusCode.OK.value[0], grpc.StatusCode.INVALID_ARGUMENT.value[0]]


def test_tracing_is_off_without_an_endpoint_and_says_why_without_the_exporter(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    assert tracer_provider(Settings(), "lending") is None
    monkeypatch.setitem(sys.modules, "opentelemetry.exporter.otlp.proto.grpc.trace_exporter", None)
    with caplog.at_level(logging.WARNING, logger="harbour.tracing"):
        assert tracer_provider(Settings(otel_endpoint="http://collector:4317"), "lending") is None
    assert "harbour-ledger[otel]" in caplog.text
