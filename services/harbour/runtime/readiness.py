"""When `harbour up` may say "ready": every service it started answers health SERVING.

A process that has started is not a service that answers: a service binds its port only after
it has opened its database pool and built its handlers, and reports SERVING only while its
background loops run (harbour.runtime.supervisor). So `up` asks each one's health service,
over one channel per service, until all answer SERVING, and meanwhile says which are still
starting.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from harbour.runtime.settings import SERVICES, Settings

# A service that is not listening yet must not make its channel wait out gRPC's default
# reconnect backoff (up to two minutes) once it is: retry its connection at least every second.
CHANNEL_OPTIONS = (
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.min_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 1000),
)
CHECK_TIMEOUT_SECONDS = 1.0
POLL_EVERY_SECONDS = 0.5
REPORT_EVERY_SECONDS = 5.0
SERVING = health_pb2.HealthCheckResponse.SERVING


class Readiness:
    """Polled from `up`'s supervision loop; prints progress and, once, the ready line."""

    def __init__(
        self,
        addresses: Mapping[str, str],
        *,
        credentials: grpc.ChannelCredentials | None = None,
        clock: Callable[[], float] = time.monotonic,
        say: Callable[[str], None] = lambda line: print(line, flush=True),
    ) -> None:
        self._addresses = dict(addresses)
        self._credentials = credentials
        self._clock, self._say = clock, say
        self._started = clock()
        self._next_poll = self._started
        self._next_report = self._started + REPORT_EVERY_SECONDS
        self._channels: dict[str, grpc.Channel] = {}
        self.starting = list(addresses)  # the services not yet answering SERVING, in order

    @classmethod
    def of(cls, settings: Settings) -> Readiness:
        """The services `up` runs, at the addresses it printed."""
        host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
        credentials = None
        if settings.tls_cert is not None:  # the service's own certificate is the trust root
            chain = settings.tls_cert.read_bytes()
            # Under mTLS `up` presents the services' own pair as its client certificate
            # (`harbour certs dev` makes it fit for both; health needs no role).
            mtls = settings.tls_client_ca is not None and settings.tls_key is not None
            credentials = grpc.ssl_channel_credentials(
                chain,
                private_key=settings.tls_key.read_bytes() if mtls and settings.tls_key else None,
                certificate_chain=chain if mtls else None,
            )
        addresses = {name: f"{host}:{settings.port_of(name)}" for name in SERVICES}
        return cls(addresses, credentials=credentials)

    @property
    def ready(self) -> bool:
        return not self.starting

    def poll(self) -> bool:
        """Ask each service still starting (at most every POLL_EVERY_SECONDS); True once every
        one answered SERVING. Says "ready" the moment that happens, and every
        REPORT_EVERY_SECONDS until then which services are still starting."""
        now = self._clock()
        if self.ready or now < self._next_poll:
            return self.ready
        self._next_poll = now + POLL_EVERY_SECONDS
        self.starting = [name for name in self.starting if not self._serving(name)]
        elapsed = self._clock() - self._started
        if self.ready:
            self.close()
            self._say(
                f"harbour is ready: every service answers health SERVING ({elapsed:.1f}s); "
                "Ctrl-C stops it"
            )
        elif now >= self._next_report:
            self._next_report = now + REPORT_EVERY_SECONDS
            self._say(f"harbour: still starting after {elapsed:.0f}s: {', '.join(self.starting)}")
        return self.ready

    def _serving(self, name: str) -> bool:
        stub = health_pb2_grpc.HealthStub(self._channel(name))
        try:
            reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=CHECK_TIMEOUT_SECONDS)
        except grpc.RpcError:  # not listening yet, or still opening its database
            return False
        return bool(reply.status == SERVING)

    def _channel(self, name: str) -> grpc.Channel:
        if name not in self._channels:
            address = self._addresses[name]
            self._channels[name] = (
                grpc.insecure_channel(address, options=CHANNEL_OPTIONS)
                if self._credentials is None
                else grpc.secure_channel(address, self._credentials, options=CHANNEL_OPTIONS)
            )
        return self._channels[name]

    def close(self) -> None:
        for channel in self._channels.values():
            channel.close()
        self._channels.clear()
