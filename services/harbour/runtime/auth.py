"""Who is calling: authentication is on unless development mode is asked for explicitly.

A caller proves who it is in one of three ways, tried in this order:

1. ``authorization: Bearer <token>`` — a static token from HARBOUR_AUTH_TOKENS, or a signed
   short-lived token (harbour.runtime.tokens) when HARBOUR_TOKEN_PUBLIC_KEY is set. A bearer
   token that is presented is always checked: a bad one is refused, never ignored.
2. its client certificate (mTLS, HARBOUR_TLS_CLIENT_CA): the subject's CN is the caller, the
   subject's OU values its roles (harbour.runtime.certs makes development ones).
3. in development mode only (HARBOUR_DEV_MODE=1, `harbour up --dev`): nothing — the caller may
   name itself with ``x-harbour-principal: name:role+role`` (default: a developer holding
   every role). Development mode binds loopback only, says so loudly at start, and every
   response carries the initial metadata ``x-harbour-mode: development``.

A serving process with none of these configured refuses to start (``startup_refusal``).
What each principal may then call is harbour.runtime.authorization's table.
"""

from __future__ import annotations

import functools
import inspect
import ipaddress
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import grpc
from cryptography import x509
from cryptography.x509.oid import NameOID

from harbour.application.caller import Principal
from harbour.runtime.authorization import ROLES
from harbour.runtime.errors import Unauthenticated
from harbour.runtime.settings import Settings
from harbour.runtime.tokens import TokenSetupError, TokenVerifier

log = logging.getLogger("harbour.auth")
ALL_ROLES = ROLES
DEVELOPER = Principal("developer", ALL_ROLES)
DEV_PRINCIPAL_HEADER = "x-harbour-principal"
MODE_HEADER = "x-harbour-mode"
DEVELOPMENT = "development"
HOW_TO_AUTHENTICATE = (
    "set HARBOUR_TLS_CERT, HARBOUR_TLS_KEY and HARBOUR_TLS_CLIENT_CA (mTLS; `harbour certs dev` "
    "makes development ones), or HARBOUR_TOKEN_PUBLIC_KEY and HARBOUR_TOKEN_AUDIENCE (signed "
    "tokens; `harbour token keygen`), or HARBOUR_AUTH_TOKENS (static tokens); or, for a "
    "development stack on this machine only, HARBOUR_DEV_MODE=1 (`harbour up --dev`)"
)


class StartupRefused(RuntimeError):
    """A serving process that must not start as configured; the message says what to set."""


class Authenticator:
    """Turns a call's metadata and client certificate into the principal making it."""

    def __init__(
        self,
        tokens: Mapping[str, Principal] | None = None,
        *,
        signed: TokenVerifier | None = None,
        client_certificates: bool = False,
        development: bool = False,
    ) -> None:
        self._tokens = dict(tokens or {})
        self._signed = signed
        self._client_certificates = client_certificates
        self._development = development

    @property
    def development_mode(self) -> bool:
        return self._development

    def authenticate(
        self, metadata: Mapping[str, str], certificate: bytes | None = None
    ) -> Principal:
        """``certificate``: the client's verified certificate (PEM), if it presented one."""
        bearer = _bearer(metadata)
        if bearer is not None:
            return self._from_bearer(bearer)
        if certificate is not None and self._client_certificates:
            return certificate_principal(certificate)
        if self._development:
            return declared_principal(metadata.get(DEV_PRINCIPAL_HEADER, ""))
        raise Unauthenticated(self._how_to())

    def _from_bearer(self, token: str) -> Principal:
        static = self._tokens.get(token)
        if static is not None:
            return static
        if self._signed is not None and token.count(".") == 2:
            return self._signed.principal(token)
        raise Unauthenticated("unknown bearer token in 'authorization'")

    def _how_to(self) -> str:
        """What a caller that presented nothing should present."""
        if self._signed is not None:
            audience = self._signed.audience
            return f"no credentials: send a bearer token for {audience!r} in 'authorization'"
        if self._tokens:
            return "no credentials: send a bearer token in 'authorization'"
        return "no credentials: connect with a client certificate"


def _bearer(metadata: Mapping[str, str]) -> str | None:
    header = metadata.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("'authorization' must be 'Bearer <token>'")
    return token.strip()


def declared_principal(declared: str) -> Principal:
    """Development mode's ``name:role+role`` (empty: the developer holding every role)."""
    if not declared:
        return DEVELOPER
    name, _, roles = declared.partition(":")
    return Principal(name or DEVELOPER.name, frozenset(r for r in roles.split("+") if r))


@functools.lru_cache(maxsize=1024)
def certificate_principal(pem: bytes) -> Principal:
    """The caller a verified client certificate names: subject CN, roles from its OU values.
    (Cached: a connection presents the same certificate on every call.)"""
    try:
        subject = x509.load_pem_x509_certificate(pem).subject
    except ValueError:
        raise Unauthenticated("the client certificate cannot be read") from None
    names = [str(a.value) for a in subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    roles = [str(a.value) for a in subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)]
    if not names or not names[0]:
        raise Unauthenticated("the client certificate's subject has no CN to name the caller")
    if not roles:
        raise Unauthenticated(
            f"the client certificate of {names[0]} holds no role: its subject needs an OU per role"
        )
    return Principal(names[0], frozenset(roles))


def peer_certificate(context: grpc.aio.ServicerContext[Any, Any]) -> bytes | None:
    """The client certificate the TLS handshake verified, if the caller presented one."""
    presented = list(context.auth_context().get("x509_pem_cert", ()))
    return presented[0] if presented else None


def is_loopback(host: str) -> bool:
    if host.strip("[]") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def startup_refusal(settings: Settings, host: str | None = None) -> str | None:
    """Why a serving process must not start as configured (one line), or None."""
    bind = settings.host if host is None else host
    if settings.dev_mode and not is_loopback(bind):
        return (
            f"development mode (HARBOUR_DEV_MODE=1) serves loopback only, but HARBOUR_HOST is "
            f"{bind!r}: set HARBOUR_HOST=127.0.0.1, or turn development mode off and "
            "configure authentication"
        )
    has_way = (
        bool(settings.auth_tokens)
        or settings.token_public_key is not None
        or settings.tls_client_ca is not None
    )
    if not settings.dev_mode and not has_way:
        return f"no way for callers to authenticate is configured: {HOW_TO_AUTHENTICATE}"
    return None


def authenticator_for(settings: Settings, host: str | None = None) -> Authenticator:
    """The authenticator a serving process runs with; refuses a configuration that must not
    serve (StartupRefused) and warns about one that serves insecurely."""
    refusal = startup_refusal(settings, host)
    if refusal is not None:
        raise StartupRefused(refusal)
    signed = None
    if settings.token_public_key is not None and settings.token_audience is not None:
        try:
            signed = TokenVerifier.from_files(settings.token_public_key, settings.token_audience)
        except TokenSetupError as bad:
            raise StartupRefused(str(bad)) from None
    _warn(settings)
    return Authenticator(
        settings.auth_tokens,
        signed=signed,
        client_certificates=settings.tls_client_ca is not None,
        development=settings.dev_mode,
    )


def _warn(settings: Settings) -> None:
    if settings.dev_mode:
        log.warning(
            "DEVELOPMENT MODE (HARBOUR_DEV_MODE=1): callers need no credentials and may name "
            "themselves and their roles with x-harbour-principal; serving loopback only. "
            "Never run it with real data."
        )
    bearer = bool(settings.auth_tokens) or settings.token_public_key is not None
    if bearer and settings.tls_cert is None:
        log.warning(
            "bearer tokens are accepted over plaintext: anyone on the network path can read "
            "and replay them; set HARBOUR_TLS_CERT and HARBOUR_TLS_KEY"
        )


class DevelopmentModeAnnouncer(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    """Development mode's mark on every response: initial metadata ``x-harbour-mode:
    development``, sent before anything else (so refusals carry it too). Goes first in the
    server's interceptors, outside every other."""

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any]]
        ],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any]:
        handler = await continuation(details)
        if handler is None:
            return handler
        kinds = (
            ("unary_unary", grpc.unary_unary_rpc_method_handler),
            ("unary_stream", grpc.unary_stream_rpc_method_handler),
            ("stream_unary", grpc.stream_unary_rpc_method_handler),
            ("stream_stream", grpc.stream_stream_rpc_method_handler),
        )
        for kind, make in kinds:
            behaviour = getattr(handler, kind)
            if behaviour is not None:
                return make(
                    _announcing(behaviour),
                    request_deserializer=handler.request_deserializer,
                    response_serializer=handler.response_serializer,
                )
        return handler


_MARK = ((MODE_HEADER, DEVELOPMENT),)


def _announcing(behaviour: Any) -> Any:
    """``behaviour`` with the development mark sent first; an async generator stays one (the
    server tells the two shapes of a streaming handler apart by that)."""
    if inspect.isasyncgenfunction(behaviour):

        async def streamed(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            await context.send_initial_metadata(_MARK)
            async for response in behaviour(request, context):
                yield response

        return streamed

    async def answered(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        await context.send_initial_metadata(_MARK)
        result = behaviour(request, context)
        return await result if inspect.isawaitable(result) else result

    return answered
