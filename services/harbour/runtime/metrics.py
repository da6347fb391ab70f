"""The Prometheus endpoint of a Harbour process, and the metrics read when it is scraped.

Every service process and the projector serve ``/metrics`` over HTTP (prometheus_client's own
server, in a thread of its own: a scrape never waits for the event loop) on
``Settings.metrics_port_of`` — HARBOUR_METRICS_PORT in a container, else
HARBOUR_METRICS_PORT_BASE + the process's place; 0 turns it off. A port that is taken is
logged and the process runs on without it: the ledger's work never depends on being watched.

The metrics themselves are declared in ``harbour.metrics`` and counted where the work happens.
This module adds the connection pools, read at scrape time (:class:`PoolCollector`), so no
code on the append path pays for them.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from wsgiref.simple_server import WSGIServer

from prometheus_client import REGISTRY, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.pool import Pool

from harbour.eventstore.database import Database
from harbour.runtime.settings import Settings

log = logging.getLogger("harbour.metrics")


@dataclass
class MetricsEndpoint:
    """A running /metrics server; ``close`` stops it."""

    server: WSGIServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        return int(self.server.server_port)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def serve_metrics(port: int, host: str) -> MetricsEndpoint:
    """Serve the process's metrics on ``host:port`` (0: any free port) until closed."""
    server, thread = start_http_server(port, addr=host)
    return MetricsEndpoint(server, thread)


def start_process_metrics(settings: Settings, process: str) -> MetricsEndpoint | None:
    """The endpoint of ``process`` (a service, or "projector") as the settings place it; None
    when they turn it off or its port is taken (logged)."""
    port = settings.metrics_port_of(process)
    if port is None:
        log.info("%s: no metrics endpoint (HARBOUR_METRICS_PORT or _BASE is 0)", process)
        return None
    try:
        endpoint = serve_metrics(port, settings.host)
    except OSError as exc:
        log.error(
            "%s: metrics not served: could not bind %s:%d: %s", process, settings.host, port, exc
        )
        return None
    log.info("%s: metrics on http://%s:%d/metrics", process, settings.host, endpoint.port)
    return endpoint


class PoolCollector(Collector):
    """``harbour_db_pool_connections{pool, state}``: in use, idle and the most allowed, of the
    append pool (psycopg, autocommit: appends, command lookups, feed reads) and the engine's
    (SQLAlchemy: projections and queries), summed over the databases the process opened;
    ``harbour_db_pool_waiting_requests``: calls queued for an append-pool connection."""

    def __init__(self) -> None:
        # Weak: a database closed and dropped (a test's) leaves the sum by itself.
        self._appends: weakref.WeakSet[AsyncConnectionPool[Any]] = weakref.WeakSet()
        self._engines: weakref.WeakSet[Pool] = weakref.WeakSet()

    def watch(self, database: Database) -> None:
        self._appends.add(database.pool)
        self._engines.add(database.engine.sync_engine.pool)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        connections = GaugeMetricFamily(
            "harbour_db_pool_connections",
            "Database connections of the process's pools: in use, idle, and the most allowed",
            labels=["pool", "state"],
        )
        waiting = GaugeMetricFamily(
            "harbour_db_pool_waiting_requests",
            "Calls waiting for a connection of the append pool",
            labels=["pool"],
        )
        counts = {"append": [0, 0, 0, 0], "engine": [0, 0, 0, 0]}  # in use, idle, max, waiting
        for pool in list(self._appends):
            stats = pool.get_stats()
            size, idle = stats.get("pool_size", 0), stats.get("pool_available", 0)
            _add(
                counts["append"], size - idle, idle, pool.max_size, stats.get("requests_waiting", 0)
            )
        for engine_pool in list(self._engines):
            _add(counts["engine"], *_engine_counts(engine_pool), 0)
        for name, (in_use, idle, most, _) in counts.items():
            connections.add_metric([name, "in_use"], in_use)
            connections.add_metric([name, "idle"], idle)
            connections.add_metric([name, "max"], most)
        waiting.add_metric(["append"], counts["append"][3])
        yield connections
        yield waiting


def _add(into: list[int], *values: int) -> None:
    for index, value in enumerate(values):
        into[index] += value


def _engine_counts(pool: Pool) -> tuple[int, int, int]:
    """(in use, idle, most) of a SQLAlchemy queue pool; another kind of pool counts nothing."""
    checked_out = getattr(pool, "checkedout", None)
    checked_in = getattr(pool, "checkedin", None)
    size = getattr(pool, "size", None)
    if checked_out is None or checked_in is None or size is None:
        return 0, 0, 0
    # QueuePool keeps its overflow limit private; the engine is built with max_overflow set.
    overflow = max(0, int(getattr(pool, "_max_overflow", 0)))
    return int(checked_out()), int(checked_in()), int(size()) + overflow


POOLS = PoolCollector()
REGISTRY.register(POOLS)


def watch_database(database: Database) -> None:
    """Count ``database``'s pools in ``harbour_db_pool_connections`` (the composition root
    calls it once it has opened the database)."""
    POOLS.watch(database)
