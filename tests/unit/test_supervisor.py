"""The supervisor of background loops: a failing loop is restarted with a capped backoff,
health is NOT_SERVING while any loop is down and SERVING once every loop completes a round
again, and stopping cancels everything cleanly."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
import pytest
from grpc_health.v1 import health_pb2
from grpc_health.v1._async import HealthServicer

from harbour.runtime.supervisor import Backoff, Heartbeat, Loop, LoopState, Supervisor

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
NAMES = ("harbour.api.v1.LendingService", "")


class Health:
    """A real gRPC HealthServicer wired the way start_server wires it."""

    def __init__(self) -> None:
        self.servicer = HealthServicer()
        self.seen: list[bool] = []

    async def publish(self, serving: bool) -> None:
        self.seen.append(serving)
        for name in NAMES:
            await self.servicer.set(name, SERVING if serving else NOT_SERVING)

    async def status(self, name: str = "") -> Any:
        reply = await self.servicer.Check(health_pb2.HealthCheckRequest(service=name), None)
        return reply.status


class RecordedSleep:
    """The supervisor's backoff waits, recorded (and kept short), with health read during each."""

    def __init__(self, health: Health) -> None:
        self.health = health
        self.delays: list[float] = []
        self.health_while_down: list[Any] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        self.health_while_down.append(
            [await self.health.status(name) for name in NAMES],
        )
        await asyncio.sleep(0.01)


async def until(condition: Any, within: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.005)


def test_backoff_grows_exponentially_is_capped_and_jittered() -> None:
    backoff = Backoff(first=0.2, cap=10.0, factor=2.0, jitter=0.2)
    middle = [backoff.delay(n, lambda: 0.5) for n in range(1, 10)]
    assert middle == pytest.approx([0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 10.0, 10.0, 10.0])
    assert backoff.delay(1, lambda: 0.0) == pytest.approx(0.16)  # -20%
    assert backoff.delay(1, lambda: 1.0) == pytest.approx(0.24)  # +20%
    assert backoff.delay(30, lambda: 1.0) == 10.0  # jitter never passes the cap


async def test_a_loop_that_fails_twice_is_restarted_with_backoff_and_health_follows() -> None:
    health = Health()
    await health.publish(True)  # as start_server does once the server listens
    health.seen.clear()
    sleep = RecordedSleep(health)
    starts = 0
    rounds = asyncio.Event()
    other_rounds = 0

    async def flaky(heartbeat: Heartbeat) -> None:
        nonlocal starts
        starts += 1
        if starts == 1:
            heartbeat()  # a first round, then PostgreSQL goes away
            raise psycopg.OperationalError("consuming input failed: server closed the connection")
        if starts == 2:
            raise psycopg.OperationalError("connection refused")  # still away on restart
        while True:
            heartbeat()
            rounds.set()
            await asyncio.sleep(0.01)

    async def steady(heartbeat: Heartbeat) -> None:
        nonlocal other_rounds
        while True:
            other_rounds += 1
            heartbeat()
            await asyncio.sleep(0.01)

    supervisor = Supervisor(
        [Loop("risk-monitor", flaky), Loop("projector", steady)],
        on_health=health.publish,
        backoff=Backoff(first=0.2, cap=10.0),
        draw=lambda: 0.5,  # no jitter: the delays are exact
        sleep=sleep,
    )
    supervisor.start()
    try:
        await asyncio.wait_for(rounds.wait(), 5)
        await until(lambda: health.seen == [False, True])
        assert await health.status() == SERVING
        assert sleep.delays == pytest.approx([0.2, 0.4])  # exponential between two failures
        # While the loop was down (during each backoff), the whole server and the service
        # answered NOT_SERVING.
        assert sleep.health_while_down == [[NOT_SERVING, NOT_SERVING]] * 2
        monitor = supervisor.status("risk-monitor")
        assert monitor.state is LoopState.UP and monitor.up
        assert monitor.restarts == 2
        assert monitor.last_error == "OperationalError: connection refused"
        assert monitor.last_round_at is not None
        assert supervisor.status("projector").restarts == 0 and other_rounds > 1
        assert supervisor.serving
    finally:
        await supervisor.stop()
    # Stopped cleanly: no loop runs any more and nothing was reported as a failure.
    counted = other_rounds
    await asyncio.sleep(0.05)
    assert other_rounds == counted
    assert supervisor.status("projector").last_error is None


async def test_a_loop_starts_as_serving_and_a_loop_that_returns_is_restarted() -> None:
    health = Health()
    gate = asyncio.Event()
    calls = 0

    async def returns_once(heartbeat: Heartbeat) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            await gate.wait()
            return  # loops run until cancelled: returning is a failure too
        while True:
            heartbeat()
            await asyncio.sleep(0.01)

    supervisor = Supervisor(
        [Loop("scheduler", returns_once)],
        on_health=health.publish,
        backoff=Backoff(first=0.01, cap=0.05),
    )
    supervisor.start()
    try:
        await asyncio.sleep(0.02)
        assert supervisor.status("scheduler").state is LoopState.STARTING
        assert supervisor.serving and health.seen == []  # a fresh start is not an outage
        gate.set()
        await until(lambda: supervisor.status("scheduler").up)
        assert "returned" in (supervisor.status("scheduler").last_error or "")
        assert supervisor.status("scheduler").restarts == 1
        await until(lambda: health.seen == [False, True])
    finally:
        await supervisor.stop()


async def test_a_loop_failing_for_good_stays_down_with_a_capped_backoff_until_stopped() -> None:
    health = Health()
    delays: list[float] = []

    async def short_sleep(seconds: float) -> None:
        delays.append(seconds)
        await asyncio.sleep(0.001)

    async def broken(heartbeat: Heartbeat) -> None:
        raise RuntimeError("a bug")

    supervisor = Supervisor(
        [Loop("broken", broken)],
        on_health=health.publish,
        backoff=Backoff(first=0.2, cap=1.0),
        draw=lambda: 0.5,
        sleep=short_sleep,
    )
    supervisor.start()
    await until(lambda: len(delays) >= 6)
    assert not supervisor.serving and health.seen == [False]
    assert await health.status() == NOT_SERVING
    assert delays[:6] == pytest.approx([0.2, 0.4, 0.8, 1.0, 1.0, 1.0])
    await asyncio.wait_for(supervisor.stop(), 1)  # cancelling a loop in its backoff is clean
    assert supervisor.status("broken").state is LoopState.DOWN


def test_loop_names_are_unique() -> None:
    async def nothing(heartbeat: Heartbeat) -> None:
        return None

    with pytest.raises(ValueError, match="unique"):
        Supervisor([Loop("a", nothing), Loop("a", nothing)])
