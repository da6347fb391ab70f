"""Bounded resources of a server process: open streams, slow readers, connections, deadlines.

Every limit here answers a caller with a status it can act on — RESOURCE_EXHAUSTED (too many
open streams; a stream it stopped reading) or DEADLINE_EXCEEDED (a statement past its
deadline) — never INTERNAL, and never lets one caller take what every caller needs: the
database's connections, the process's memory, the event loop.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from harbour.runtime.errors import ResourceExhausted
from harbour.runtime.settings import Settings

# Clients may ping an idle connection no more often than this (when permitted at all).
MIN_CLIENT_PING_MS = 10_000


class OpenStreams:
    """Server streams open in one process, in total and per principal, each under a cap."""

    def __init__(self, *, total: int, per_caller: int) -> None:
        self.total_cap, self.per_caller_cap = total, per_caller
        self._open: Counter[str] = Counter()

    @classmethod
    def from_settings(cls, settings: Settings) -> OpenStreams:
        return cls(total=settings.max_streams, per_caller=settings.max_streams_per_caller)

    @property
    def total(self) -> int:
        return self._open.total()

    def of(self, caller: str) -> int:
        return self._open[caller]

    @contextmanager
    def admit(self, caller: str) -> Iterator[None]:
        """Hold one stream slot of ``caller`` for the block, or refuse RESOURCE_EXHAUSTED."""
        if self._open[caller] >= self.per_caller_cap:
            raise ResourceExhausted(
                f"{caller} already has {self.per_caller_cap} open streams, the most one caller "
                "may hold (HARBOUR_MAX_STREAMS_PER_CALLER): close one, or retry later",
                "too_many_streams_for_caller",
            )
        if self.total >= self.total_cap:
            raise ResourceExhausted(
                f"this server already serves {self.total_cap} open streams, its limit "
                "(HARBOUR_MAX_STREAMS): retry later, or on another replica",
                "too_many_streams",
            )
        self._open[caller] += 1
        try:
            yield
        finally:
            self._open[caller] -= 1
            if not self._open[caller]:
                del self._open[caller]


def slow_reader(stall_seconds: float, checkpoint: dict[str, str]) -> ResourceExhausted:
    """The refusal that ends a stream its caller stopped reading: where to resume from."""
    where = (
        f"; resume with after={{txid: {checkpoint['after_txid']}, "
        f"position: {checkpoint['after_position']}}}"
        if checkpoint
        else "; nothing was delivered: call again from where you started"
    )
    return ResourceExhausted(
        f"the stream was ended because its caller took no message for {stall_seconds:g}s "
        f"(HARBOUR_STREAM_STALL_MS): every message before this status was delivered{where}",
        "slow_consumer",
        checkpoint,
    )


def resume_point(message: Any) -> dict[str, str]:
    """The feed checkpoint a response carries (every Subscribe response does), as ErrorInfo
    metadata; empty for a response without one."""
    checkpoint = getattr(message, "checkpoint", None)
    if checkpoint is None or not hasattr(checkpoint, "txid"):
        return {}
    return {"after_txid": str(checkpoint.txid), "after_position": str(checkpoint.position)}


def server_options(settings: Settings) -> list[tuple[str, Any]]:
    """grpc.aio server options from the settings: what one connection may hold and for how
    long, keepalive in both directions, and the largest messages."""
    permit = 1 if settings.keepalive_permit_without_calls else 0
    return [
        ("grpc.so_reuseport", 0),
        ("grpc.max_concurrent_streams", settings.grpc_max_concurrent_streams),
        ("grpc.keepalive_time_ms", settings.keepalive_time_ms),
        ("grpc.keepalive_timeout_ms", settings.keepalive_timeout_ms),
        ("grpc.keepalive_permit_without_calls", permit),
        # What the server tolerates from clients' pings: no more often than this, with or
        # without calls (as permitted), else the connection is closed (too_many_pings).
        ("grpc.http2.min_recv_ping_interval_without_data_ms", MIN_CLIENT_PING_MS),
        ("grpc.http2.min_ping_interval_without_data_ms", MIN_CLIENT_PING_MS),
        ("grpc.http2.max_ping_strikes", 2),
        ("grpc.max_connection_age_ms", settings.max_connection_age_ms),
        ("grpc.max_connection_age_grace_ms", settings.max_connection_age_grace_ms),
        ("grpc.max_receive_message_length", settings.max_receive_message_bytes),
        ("grpc.max_send_message_length", settings.max_send_message_bytes),
    ]
