"""Background loops under supervision: a loop that fails is restarted, never lost.

A service's background work (the risk monitor, the interest scheduler, the projector) is a
set of loops: coroutines that run until cancelled, call their ``heartbeat`` after every
round, and raise on failure — a PostgreSQL restart, a dropped LISTEN connection, a bug. The
supervisor runs each as a task; when one raises it logs the failure, marks the loop DOWN,
tells health (NOT_SERVING while any loop is down: a load balancer or operator sees that the
book is not being watched), waits a capped exponential backoff with jitter and starts the
loop again. Loops keep their place in stored checkpoints, so a restarted loop catches up on
what happened while it was down. A loop is UP again once it completes a round; then the
backoff starts over.

Before its first failure a loop counts as STARTING, not DOWN: a service that has just
started serves while its loops take their first round (which may be a long catch-up).

Metrics say the same (harbour.metrics): ``harbour_background_loop_up`` per loop (0 only while
DOWN, as health), its restarts and its completed rounds.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from harbour.metrics import LOOP_RESTARTS, LOOP_ROUNDS, LOOP_UP

log = logging.getLogger("harbour.supervisor")

Heartbeat = Callable[[], None]  # a loop calls it after every completed round
LoopBody = Callable[[Heartbeat], Coroutine[Any, Any, None]]
HealthSink = Callable[[bool], Awaitable[None]]  # True: every loop runs; False: one is down


@dataclass(frozen=True)
class Loop:
    """One named background loop and how to start it."""

    name: str
    run: LoopBody


@dataclass(frozen=True)
class Backoff:
    """Capped exponential backoff with jitter: ``first`` * ``factor`` ** (n - 1), at most ``cap``,
    each delay spread by ± ``jitter`` so replicas that failed together retry apart."""

    first: float = 0.2
    cap: float = 10.0
    factor: float = 2.0
    jitter: float = 0.2

    def delay(self, failures: int, draw: Callable[[], float] = random.random) -> float:
        """Seconds to wait after the ``failures``-th failure in a row (1-based)."""
        base = min(self.cap, self.first * self.factor ** max(0, failures - 1))
        spread = 1.0 + self.jitter * (2.0 * draw() - 1.0)
        return min(self.cap, base * spread)


class LoopState(Enum):
    STARTING = "starting"  # not yet through its first round, and never failed
    UP = "up"  # completed a round since it last (re)started
    DOWN = "down"  # failed; waiting to restart, or restarted but not yet through a round


@dataclass(frozen=True)
class LoopStatus:
    name: str
    state: LoopState
    restarts: int = 0
    last_error: str | None = None
    last_round_at: datetime | None = None

    @property
    def up(self) -> bool:
        return self.state is LoopState.UP


def utc_now() -> datetime:
    return datetime.now(UTC)


class LoopEnded(Exception):
    """A loop returned although loops run until cancelled: treated as a failure."""


class Supervisor:
    def __init__(
        self,
        loops: Sequence[Loop],
        *,
        on_health: HealthSink | None = None,
        backoff: Backoff = Backoff(),
        clock: Callable[[], datetime] = utc_now,
        draw: Callable[[], float] = random.random,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        names = [loop.name for loop in loops]
        if len(set(names)) != len(names):
            raise ValueError(f"loop names must be unique: {names}")
        self._loops = tuple(loops)
        self._on_health = on_health
        self._backoff = backoff
        self._clock = clock
        self._draw = draw
        self._sleep = sleep
        self._status = {name: LoopStatus(name, LoopState.STARTING) for name in names}
        for name in names:
            LOOP_UP.labels(name).set(1)  # starting counts as running, as for health
        self._failures = dict.fromkeys(names, 0)  # in a row, since the last completed round
        self._tasks: list[asyncio.Task[None]] = []
        self._publishing: set[asyncio.Task[None]] = set()
        self._publish_lock = asyncio.Lock()
        self._published: bool | None = None  # what health was last told

    # -- what tests, health and metrics read

    def statuses(self) -> tuple[LoopStatus, ...]:
        return tuple(self._status[loop.name] for loop in self._loops)

    def status(self, name: str) -> LoopStatus:
        return self._status[name]

    @property
    def serving(self) -> bool:
        """No loop is down (a loop still on its first round counts as running)."""
        return all(s.state is not LoopState.DOWN for s in self._status.values())

    # -- lifecycle

    def start(self) -> None:
        """Start every loop (inside a running event loop); returns at once."""
        if self._tasks:
            raise RuntimeError("the supervisor is already running")
        self._tasks = [
            asyncio.create_task(self._supervise(loop), name=f"loop-{loop.name}")
            for loop in self._loops
        ]

    async def stop(self) -> None:
        """Cancel every loop and wait until each has stopped (the server's stop)."""
        tasks = [*self._tasks, *self._publishing]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks = []

    # -- supervision

    async def _supervise(self, loop: Loop) -> None:
        heartbeat = self._heartbeat_of(loop.name)
        while True:
            try:
                await loop.run(heartbeat)
                raise LoopEnded(f"the {loop.name} loop returned")
            except Exception as failure:  # CancelledError is not one: stop() passes through
                delay = await self._went_down(loop.name, failure)
            await self._sleep(delay)
            self._status[loop.name] = replace(
                self._status[loop.name], restarts=self._status[loop.name].restarts + 1
            )
            LOOP_RESTARTS.labels(loop.name).inc()
            log.info("%s: restarting (restart %d)", loop.name, self._status[loop.name].restarts)

    async def _went_down(self, name: str, failure: Exception) -> float:
        self._failures[name] += 1
        failures = self._failures[name]
        delay = self._backoff.delay(failures, self._draw)
        described = f"{type(failure).__name__}: {failure}".strip()
        self._status[name] = replace(self._status[name], state=LoopState.DOWN, last_error=described)
        LOOP_UP.labels(name).set(0)
        # The whole traceback once; a loop failing again while the database is away says so
        # in one line per attempt.
        log.error(
            "%s failed (%d in a row): %s; restarting in %.1fs",
            name,
            failures,
            described,
            delay,
            exc_info=failure if failures == 1 else None,
        )
        await self._publish()
        return delay

    def _heartbeat_of(self, name: str) -> Heartbeat:
        rounds = LOOP_ROUNDS.labels(name)

        def heartbeat() -> None:
            status = self._status[name]
            was = status.state
            self._status[name] = replace(status, state=LoopState.UP, last_round_at=self._clock())
            rounds.inc()
            if was is not LoopState.UP:
                self._failures[name] = 0
                LOOP_UP.labels(name).set(1)
                if was is LoopState.DOWN:
                    log.info("%s: running again after %d restart(s)", name, status.restarts)
                    self._publish_soon()

        return heartbeat

    def _publish_soon(self) -> None:
        # The heartbeat is synchronous (called from inside a loop's round); health is not.
        task = asyncio.get_running_loop().create_task(self._publish())
        self._publishing.add(task)
        task.add_done_callback(self._publishing.discard)

    async def _publish(self) -> None:
        """Tell health what the loops' state is now (reads it under the lock, so publications
        that race end on the latest state)."""
        if self._on_health is None:
            return
        async with self._publish_lock:
            serving = self.serving
            if serving != self._published:
                try:
                    await self._on_health(serving)
                except Exception:  # health must never stop supervision; the next change retries
                    log.exception("health not updated (serving=%s)", serving)
                else:
                    self._published = serving
