"""The one place configuration is read: environment variables prefixed ``HARBOUR_``.

HARBOUR_DATABASE_URL      PostgreSQL URL; unset means the embedded PostgreSQL
HARBOUR_DATA_DIR          embedded PostgreSQL data parent (default ~/.local/share/harbour)
HARBOUR_HOST              address the gRPC servers bind (default 127.0.0.1)
HARBOUR_PORT_BASE         first port; services take base+0, base+1, ... (default 50051)
HARBOUR_PORT              the port of `harbour serve <service>` when one process serves one
                          service (a container); overrides the base for that process
HARBOUR_DB_ROLE           role the processes log in as (default harbour_service, and then each
                          service logs in as its own harbour_<service>): the URL's user is
                          replaced by it, without the URL's password (a role's password comes
                          from libpq's password file, PGPASSFILE); a service session cannot
                          SET ROLE to any other role. "-" = the URL's user as given
HARBOUR_DB_POOL_SIZE      connections per process (default 20)
HARBOUR_TLS_CERT/_KEY     server certificate and key (PEM paths); unset means plaintext

Authentication (docs/runbook.md#security): a serving process refuses to start unless one way
is configured, or development mode is asked for.
HARBOUR_DEV_MODE          1: development mode: no credentials needed (a caller may name itself
                          with ``x-harbour-principal: name:role+role``), loopback only, loud;
                          `harbour up --dev` sets it. Default 0
HARBOUR_TLS_CLIENT_CA     PEM of the CA(s) whose client certificates are accepted (mTLS: a
                          client certificate is then required); the caller is the
                          certificate's subject CN, its roles the subject's OU values
HARBOUR_TOKEN_PUBLIC_KEY  Ed25519 public key (PEM path) that verifies signed bearer tokens
HARBOUR_TOKEN_AUDIENCE    the audience (``aud``) a signed token must name; set with the key
HARBOUR_AUTH_TOKENS       static bearer tokens, ``token=name:role+role,...``
HARBOUR_SNAPSHOT_EVERY    events between snapshots of a stream (default 100)
HARBOUR_SNAPSHOT_KEY      secret (16+ characters) signing snapshots, the same for every process
                          and replica; unset: a key generated once into
                          HARBOUR_DATA_DIR/snapshot.key (development, one machine)
HARBOUR_STATE_CACHE       stream states a process keeps in memory, least recently used
                          evicted (default 200,000; a margin account is ~0.7 KB): size it to
                          the book, or every price move makes the risk screen read cold
HARBOUR_FOLLOW_PACE_MS    least time between two rounds of a feed follower (the projector,
                          the risk and limit monitors), default 250: under load each round
                          takes the events of many commits in one page instead of one round
                          per commit (docs/scaling.md has what 50 and 250 measured)
HARBOUR_AUDIT_SIGNING_KEY path of the Ed25519 private key (PEM, `harbour audit keygen`) that
                          signs audit checkpoints; unset: the AuditService signs none
HARBOUR_CHECKPOINT_EVERY_S seconds between two signed checkpoints the audit service
                          publishes on its own (needs HARBOUR_AUDIT_SIGNING_KEY); 0 = off
                          (the default)
HARBOUR_CHECKPOINT_DIR    where they are written, one file each, named by global position and
                          instant (default HARBOUR_DATA_DIR/checkpoints): copy them off the
                          database's machine, that is what makes them an anchor
HARBOUR_LOG_LEVEL         logging level (default INFO)
HARBOUR_LOG_FORMAT        json (one JSON object per line, with the call's request id, principal
                          and correlation id) or text; default json for `serve` and `project`
                          (so every process `harbour up` starts), text for interactive commands
HARBOUR_METRICS_PORT      the Prometheus /metrics port of a process serving one service (a
                          container), as HARBOUR_PORT is its gRPC port; 0 = no metrics endpoint
HARBOUR_METRICS_PORT_BASE otherwise services serve /metrics on base+0, base+1, ... in the order
                          of their gRPC ports, the projector after them (default 9464); 0 = off
HARBOUR_OTEL_ENDPOINT     OTLP/gRPC collector to send traces to (needs the `otel` extra);
                          unset: no tracing

Bounded resources (every limit answers RESOURCE_EXHAUSTED or DEADLINE_EXCEEDED, never INTERNAL):
HARBOUR_MAX_STREAMS                 open server streams (Subscribe, ValueAccounts, ...) a
                                    process serves at once, all callers together (default 1000)
HARBOUR_MAX_STREAMS_PER_CALLER      open server streams of one principal (default 100)
HARBOUR_STREAM_STALL_MS             a stream whose caller takes no message for this long is
                                    ended with the checkpoint to resume from (default 10000)
HARBOUR_STATEMENT_TIMEOUT_MS        the longest a call's database statement runs; a caller's
                                    shorter deadline shortens it (default 30000)
HARBOUR_GRPC_MAX_CONCURRENT_STREAMS calls at once on one client connection (default 100)
HARBOUR_KEEPALIVE_TIME_MS           server pings an idle connection this often (default 60000)
HARBOUR_KEEPALIVE_TIMEOUT_MS        and drops it when a ping is unanswered this long (20000)
HARBOUR_KEEPALIVE_PERMIT_WITHOUT_CALLS  1 (default): keepalive pings also on connections with
                                    no call, from the server and (no more often than every
                                    10 s) from clients; 0: only while calls are open
HARBOUR_MAX_CONNECTION_AGE_MS       a connection is asked to go away after this long, so load
                                    spreads over new replicas (default 1800000, 30 min)
HARBOUR_MAX_CONNECTION_AGE_GRACE_MS then its open calls get this long to finish (default 30000)
HARBOUR_MAX_RECEIVE_MESSAGE_BYTES   largest request message (default 4194304, 4 MiB)
HARBOUR_MAX_SEND_MESSAGE_BYTES      largest response message (default 16777216, 16 MiB)
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harbour.application.caller import Principal
from harbour.runtime.ownership import GENERIC_ROLE, service_role

PREFIX = "HARBOUR_"
# Grows as services land; `harbour up` serves each of them. New ones go last, so that the
# ports of the existing ones (base + index) never move.
SERVICES = ("accounts", "audit", "collateral", "lending", "liquidation", "feed")
SNAPSHOT_KEY_FILE = "snapshot.key"
MIN_SNAPSHOT_KEY_BYTES = 16


class SettingsError(ValueError):
    """A configuration value is unusable; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None
    data_dir: Path = field(default_factory=lambda: Path.home() / ".local/share/harbour")
    host: str = "127.0.0.1"
    port_base: int = 50051
    port: int | None = None
    db_role: str | None = "harbour_service"
    pool_size: int = 20
    tls_cert: Path | None = None
    tls_key: Path | None = None
    auth_tokens: Mapping[str, Principal] = field(default_factory=dict)
    dev_mode: bool = False
    tls_client_ca: Path | None = None
    token_public_key: Path | None = None
    token_audience: str | None = None
    snapshot_every: int = 100
    snapshot_key: str | None = field(default=None, repr=False)
    state_cache: int = 200_000
    follow_pace_ms: int = 250
    audit_signing_key: Path | None = None
    checkpoint_every_s: int = 0  # 0: the audit service publishes no checkpoints
    checkpoint_dir: Path | None = None  # None: data_dir / "checkpoints"
    log_level: str = "INFO"
    log_format: str | None = None  # None: the command's default (harbour.runtime.logs)
    metrics_port: int | None = None  # 0: off
    metrics_port_base: int = 9464  # 0: off
    otel_endpoint: str | None = None
    max_streams: int = 1000
    max_streams_per_caller: int = 100
    stream_stall_ms: int = 10_000
    statement_timeout_ms: int = 30_000
    grpc_max_concurrent_streams: int = 100
    keepalive_time_ms: int = 60_000
    keepalive_timeout_ms: int = 20_000
    keepalive_permit_without_calls: bool = True
    max_connection_age_ms: int = 1_800_000
    max_connection_age_grace_ms: int = 30_000
    max_receive_message_bytes: int = 4 * 1024 * 1024
    max_send_message_bytes: int = 16 * 1024 * 1024

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        source = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = source.get(PREFIX + name)
            return value if value not in (None, "") else None

        defaults = cls()
        tls_cert, tls_key = get("TLS_CERT"), get("TLS_KEY")
        if (tls_cert is None) != (tls_key is None):
            raise SettingsError("HARBOUR_TLS_CERT and HARBOUR_TLS_KEY must be set together")
        return cls(
            database_url=get("DATABASE_URL"),
            data_dir=Path(get("DATA_DIR") or defaults.data_dir).expanduser(),
            host=get("HOST") or defaults.host,
            port_base=_int(get("PORT_BASE"), "PORT_BASE", defaults.port_base),
            port=_int(get("PORT"), "PORT", 0) or None,
            db_role=_role(get("DB_ROLE"), defaults.db_role),
            pool_size=_int(get("DB_POOL_SIZE"), "DB_POOL_SIZE", defaults.pool_size),
            tls_cert=Path(tls_cert) if tls_cert else None,
            tls_key=Path(tls_key) if tls_key else None,
            auth_tokens=parse_auth_tokens(get("AUTH_TOKENS")),
            **_authentication(get, has_tls=tls_cert is not None),
            snapshot_every=_int(get("SNAPSHOT_EVERY"), "SNAPSHOT_EVERY", defaults.snapshot_every),
            snapshot_key=_snapshot_key(get("SNAPSHOT_KEY")),
            state_cache=_int(get("STATE_CACHE"), "STATE_CACHE", defaults.state_cache),
            follow_pace_ms=_int(get("FOLLOW_PACE_MS"), "FOLLOW_PACE_MS", defaults.follow_pace_ms),
            audit_signing_key=Path(key) if (key := get("AUDIT_SIGNING_KEY")) else None,
            checkpoint_every_s=(
                0  # off, said explicitly
                if (every := get("CHECKPOINT_EVERY_S")) == "0"
                else _int(every, "CHECKPOINT_EVERY_S", defaults.checkpoint_every_s)
            ),
            checkpoint_dir=Path(folder).expanduser() if (folder := get("CHECKPOINT_DIR")) else None,
            log_level=(get("LOG_LEVEL") or defaults.log_level).upper(),
            log_format=_log_format(get("LOG_FORMAT")),
            metrics_port=(
                None if (fixed := get("METRICS_PORT")) is None else _port(fixed, "METRICS_PORT")
            ),
            metrics_port_base=_port(
                get("METRICS_PORT_BASE"), "METRICS_PORT_BASE", defaults.metrics_port_base
            ),
            otel_endpoint=get("OTEL_ENDPOINT"),
            **_limits(get, defaults),
        )

    @property
    def follow_pace(self) -> float:
        """HARBOUR_FOLLOW_PACE_MS in seconds, as the feed listener takes it."""
        return self.follow_pace_ms / 1000

    @property
    def checkpoints_folder(self) -> Path:
        """HARBOUR_CHECKPOINT_DIR, else the data directory's ``checkpoints``."""
        return self.checkpoint_dir or self.data_dir / "checkpoints"

    def role_of(self, service: str | None) -> str | None:
        """The PostgreSQL role a process acts as: a service its own (the database refuses event
        types it does not own) unless the operator named another role."""
        if service is not None and self.db_role == GENERIC_ROLE:
            return service_role(service)
        return self.db_role

    def snapshot_key_bytes(self) -> bytes:
        """The key snapshots are signed with: HARBOUR_SNAPSHOT_KEY, else the data directory's
        key file, generated on first use (every process of `harbour up` shares it)."""
        if self.snapshot_key is not None:
            return self.snapshot_key.encode("utf-8")
        return data_dir_snapshot_key(self.data_dir)

    def port_of(self, service: str) -> int:
        if self.port is not None:
            return self.port
        return self.port_base + SERVICES.index(service)

    def metrics_port_of(self, process: str) -> int | None:
        """Where ``process`` (a service, or "projector") serves /metrics; None: nowhere.
        HARBOUR_METRICS_PORT in a container, else the base + the process's place, as the
        gRPC ports are numbered."""
        if self.metrics_port is not None:
            return self.metrics_port or None
        if not self.metrics_port_base:
            return None
        place = len(SERVICES) if process == "projector" else SERVICES.index(process)
        return self.metrics_port_base + place

    @property
    def projector_port(self) -> int:
        """Where the projector serves gRPC health: ``HARBOUR_PORT`` in a container, else the
        port after the services' (base + their number)."""
        return self.port if self.port is not None else self.port_base + len(SERVICES)


def _int(raw: str | None, name: str, default: int) -> int:
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{PREFIX}{name} must be an integer, got {raw!r}") from None
    if value <= 0:
        raise SettingsError(f"{PREFIX}{name} must be positive, got {value}")
    return value


def _port(raw: str | None, name: str, default: int = 0) -> int:
    """A port, where 0 means "off" (unlike _int, which takes only positive values)."""
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{PREFIX}{name} must be a port number, got {raw!r}") from None
    if not 0 <= value <= 65535:
        raise SettingsError(f"{PREFIX}{name} must be 0 (off) or a port, got {value}")
    return value


LOG_FORMATS = ("json", "text")


def _log_format(raw: str | None) -> str | None:
    if raw is not None and raw.lower() not in LOG_FORMATS:
        raise SettingsError(f"{PREFIX}LOG_FORMAT must be json or text, got {raw!r}")
    return None if raw is None else raw.lower()


def _snapshot_key(raw: str | None) -> str | None:
    if raw is not None and len(raw.encode("utf-8")) < MIN_SNAPSHOT_KEY_BYTES:
        raise SettingsError(
            f"{PREFIX}SNAPSHOT_KEY must be at least {MIN_SNAPSHOT_KEY_BYTES} characters"
        )
    return raw


def data_dir_snapshot_key(data_dir: Path) -> bytes:
    """``data_dir/snapshot.key``, created (owner-only) if missing. Processes starting together
    agree on one: each writes a candidate and links it into place; only one link succeeds."""
    path = data_dir / SNAPSHOT_KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        candidate = data_dir / f".{SNAPSHOT_KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        descriptor = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(secrets.token_hex(32))
        try:
            os.link(candidate, path)
        except FileExistsError:
            pass  # another process got there first: use its key
        finally:
            candidate.unlink()
    key = path.read_text(encoding="utf-8").strip()
    if len(key) < MIN_SNAPSHOT_KEY_BYTES:
        raise SettingsError(f"{path} holds no usable snapshot key; delete it to make a new one")
    return key.encode("utf-8")


# The bounded-resource settings: field name -> variable (without the prefix).
LIMITS = {
    "max_streams": "MAX_STREAMS",
    "max_streams_per_caller": "MAX_STREAMS_PER_CALLER",
    "stream_stall_ms": "STREAM_STALL_MS",
    "statement_timeout_ms": "STATEMENT_TIMEOUT_MS",
    "grpc_max_concurrent_streams": "GRPC_MAX_CONCURRENT_STREAMS",
    "keepalive_time_ms": "KEEPALIVE_TIME_MS",
    "keepalive_timeout_ms": "KEEPALIVE_TIMEOUT_MS",
    "max_connection_age_ms": "MAX_CONNECTION_AGE_MS",
    "max_connection_age_grace_ms": "MAX_CONNECTION_AGE_GRACE_MS",
    "max_receive_message_bytes": "MAX_RECEIVE_MESSAGE_BYTES",
    "max_send_message_bytes": "MAX_SEND_MESSAGE_BYTES",
}


def _limits(get: Callable[[str], str | None], defaults: Settings) -> dict[str, Any]:
    limits: dict[str, Any] = {
        name: _int(get(variable), variable, getattr(defaults, name))
        for name, variable in LIMITS.items()
    }
    limits["keepalive_permit_without_calls"] = _flag(
        get("KEEPALIVE_PERMIT_WITHOUT_CALLS"),
        "KEEPALIVE_PERMIT_WITHOUT_CALLS",
        defaults.keepalive_permit_without_calls,
    )
    return limits


def _authentication(get: Callable[[str], str | None], *, has_tls: bool) -> dict[str, Any]:
    """The ways a caller may prove who it is (harbour.runtime.auth), checked for pairs that
    only work together."""
    client_ca = get("TLS_CLIENT_CA")
    public_key, audience = get("TOKEN_PUBLIC_KEY"), get("TOKEN_AUDIENCE")
    if client_ca is not None and not has_tls:
        raise SettingsError(
            f"{PREFIX}TLS_CLIENT_CA needs {PREFIX}TLS_CERT and {PREFIX}TLS_KEY: "
            "client certificates are only asked for over TLS"
        )
    if (public_key is None) != (audience is None):
        raise SettingsError(
            f"{PREFIX}TOKEN_PUBLIC_KEY and {PREFIX}TOKEN_AUDIENCE must be set together"
        )
    return {
        "dev_mode": _flag(get("DEV_MODE"), "DEV_MODE", False),
        "tls_client_ca": Path(client_ca) if client_ca else None,
        "token_public_key": Path(public_key) if public_key else None,
        "token_audience": audience,
    }


def _flag(raw: str | None, name: str, default: bool) -> bool:
    if raw is None:
        return default
    if raw not in ("0", "1"):
        raise SettingsError(f"{PREFIX}{name} must be 0 or 1, got {raw!r}")
    return raw == "1"


def _role(raw: str | None, default: str | None) -> str | None:
    # "-" means: act as the login user itself (e.g. a managed database with its own roles).
    if raw == "-":
        return None
    return raw or default


def parse_auth_tokens(raw: str | None) -> dict[str, Principal]:
    """``token=name:role+role,token2=name2:role`` → principals by bearer token."""
    if not raw:
        return {}
    tokens: dict[str, Principal] = {}
    for entry in raw.split(","):
        token, _, who = entry.strip().partition("=")
        name, _, roles = who.partition(":")
        if not token or not name or not roles:
            raise SettingsError(
                f"{PREFIX}AUTH_TOKENS entry {entry!r} must look like token=name:role+role"
            )
        tokens[token] = Principal(name, frozenset(roles.split("+")))
    return tokens


def sync_url(url: str) -> str:
    """A SQLAlchemy URL for the psycopg 3 driver, whatever scheme the operator gave."""
    for scheme in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme) :]
    raise SettingsError(f"{PREFIX}DATABASE_URL must be a postgresql:// URL, got {url!r}")


def libpq_url(url: str) -> str:
    """The same URL for libpq (psycopg.connect, psql)."""
    return "postgresql://" + sync_url(url)[len("postgresql+psycopg://") :]


def url_with_database(url: str, database: str) -> str:
    """The same server, another database (keeps host, socket directory and credentials)."""
    from sqlalchemy.engine import make_url

    rendered = make_url(sync_url(url)).set(database=database)
    return libpq_url(rendered.render_as_string(hide_password=False))
