"""Server interceptors: authentication and request context, then errors → status codes.

grpc.aio interceptors see only the method name before the handler runs, so both concerns
live in one wrapper around the handler's behaviour: it authenticates from the metadata,
binds the call context, runs the handler, logs the outcome, and turns any exception into a
status through ``harbour.runtime.errors`` — never UNKNOWN.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import grpc
from grpc_status import rpc_status

from harbour import caller as call_context
from harbour.caller import Principal
from harbour.runtime.errors import INTERNAL, Refusal, Unauthenticated, refusal_for, to_status

log = logging.getLogger("harbour.rpc")
OPEN_METHODS = ("/grpc.health.v1.Health/", "/grpc.reflection.")
ALL_ROLES = frozenset(
    {"trading-platform", "risk", "price-feed", "policy-admin", "auditor", "operator"}
)


class Authenticator:
    """Bearer tokens from settings; without any, a development mode that trusts a header.

    Development mode exists so `harbour up` and the tests need no secrets: the caller may name
    itself with ``x-harbour-principal: name:role+role`` (default: a dev principal holding every
    role). Production configures HARBOUR_AUTH_TOKENS and the header is ignored.
    """

    def __init__(self, tokens: Mapping[str, Principal]) -> None:
        self._tokens = dict(tokens)

    @property
    def development_mode(self) -> bool:
        return not self._tokens

    def authenticate(self, metadata: Mapping[str, str]) -> Principal:
        if self._tokens:
            scheme, _, token = metadata.get("authorization", "").partition(" ")
            principal = self._tokens.get(token) if scheme.lower() == "bearer" else None
            if principal is None:
                raise Unauthenticated("missing or unknown bearer token in 'authorization'")
            return principal
        declared = metadata.get("x-harbour-principal")
        if not declared:
            return Principal("developer", ALL_ROLES)
        name, _, roles = declared.partition(":")
        return Principal(name or "developer", frozenset(r for r in roles.split("+") if r))


class HarbourInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    def __init__(self, service: str, authenticator: Authenticator) -> None:
        self._service = service
        self._authenticator = authenticator

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any]]
        ],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any]:
        handler = await continuation(details)
        method: str = details.method
        if handler is None or method.startswith(OPEN_METHODS):
            return handler
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                self._wrap_unary(method, handler.unary_unary),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                self._wrap_stream(method, handler.unary_stream),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.stream_unary:
            return grpc.stream_unary_rpc_method_handler(
                self._wrap_unary(method, handler.stream_unary),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler

    def _bind(self, method: str, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        metadata = {k: v for k, v in (context.invocation_metadata() or ()) if isinstance(v, str)}
        principal = self._authenticator.authenticate(metadata)
        correlation = metadata.get("x-correlation-id") or call_context.new_correlation_id()
        return call_context.bind(
            call_context.CallContext(principal, self._service, method, correlation)
        )

    def _wrap_unary(self, method: str, behaviour: Any) -> Any:
        async def wrapped(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            started = time.perf_counter()
            token = None
            try:
                token = self._bind(method, context)
                response = await behaviour(request, context)
            except Exception as exc:
                await _abort(context, method, exc, started)
                raise  # unreachable: abort raises
            finally:
                if token is not None:
                    call_context.unbind(token)
            _log(method, grpc.StatusCode.OK, started)
            return response

        return wrapped

    def _wrap_stream(self, method: str, behaviour: Any) -> Any:
        async def wrapped(
            request: Any, context: grpc.aio.ServicerContext[Any, Any]
        ) -> AsyncIterator[Any]:
            started = time.perf_counter()
            token = None
            try:
                token = self._bind(method, context)
                async for item in behaviour(request, context):
                    yield item
            except Exception as exc:
                await _abort(context, method, exc, started)
            finally:
                if token is not None:
                    call_context.unbind(token)
            _log(method, grpc.StatusCode.OK, started)

        return wrapped


async def _abort(
    context: grpc.aio.ServicerContext[Any, Any], method: str, exc: Exception, started: float
) -> None:
    if isinstance(exc, grpc.aio.AbortError):
        raise exc  # the servicer already chose a status
    refusal: Refusal | None = refusal_for(exc)
    if refusal is None:
        log.exception("unexpected failure in %s", method)
        refusal = INTERNAL
    _log(method, refusal.code, started, refusal.reason)
    status = rpc_status.to_status(to_status(refusal))
    await context.abort(status.code, status.details, trailing_metadata=status.trailing_metadata)


def _log(method: str, code: grpc.StatusCode, started: float, reason: str = "") -> None:
    elapsed_ms = (time.perf_counter() - started) * 1000
    log.info("%s %s %.1fms %s", method, code.name, elapsed_ms, reason)
