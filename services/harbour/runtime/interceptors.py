"""Server interceptors: authentication and request context, then errors → status codes.

grpc.aio interceptors see only the method name before the handler runs, so both concerns
live in one wrapper around the handler's behaviour: it authenticates from the metadata,
binds the call context, runs the handler, logs the outcome, and turns any exception into a
status through ``harbour.runtime.errors`` — never UNKNOWN.

Every outcome (OK, a refusal, a cancelled call) is one log line with the fields method, code,
duration_ms and reason, and one observation of ``harbour_rpc_duration_seconds`` by service,
method and code. Each call gets a request id of its own, carried by every log line of the call
(harbour.runtime.logs) and returned to the caller in the ``x-request-id`` trailer.

It also bounds what a call may hold (``harbour.runtime.limits``): the caller's deadline
(capped by HARBOUR_STATEMENT_TIMEOUT_MS) becomes the statement timeout of the call's database
transactions; a server stream takes one of the process's stream slots and one of its caller's,
or is refused RESOURCE_EXHAUSTED; and a server stream's messages are written one at a time, so
a caller that stops reading for HARBOUR_STREAM_STALL_MS is cut (RESOURCE_EXHAUSTED, with the
checkpoint to resume from) instead of holding its slot, and memory, for ever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from grpc_status import rpc_status

from harbour.application import caller as call_context
from harbour.eventstore.database import bind_statement_deadline, unbind_statement_deadline
from harbour.metrics import RPC_DURATION
from harbour.runtime.auth import Authenticator, peer_certificate
from harbour.runtime.authorization import authorize
from harbour.runtime.errors import INTERNAL, Refusal, refusal_for, to_status
from harbour.runtime.limits import OpenStreams, resume_point, slow_reader

log = logging.getLogger("harbour.rpc")
REQUEST_ID_HEADER = "x-request-id"  # response trailer: the id the call's log lines carry
OPEN_METHODS = ("/grpc.health.v1.Health/", "/grpc.reflection.")


class HarbourInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    def __init__(
        self,
        service: str,
        authenticator: Authenticator,
        *,
        streams: OpenStreams | None = None,
        stall_seconds: float = 10.0,
        statement_seconds: float = 30.0,
    ) -> None:
        self._service = service
        self._authenticator = authenticator
        self._streams = streams or OpenStreams(total=1000, per_caller=100)
        self._stall = stall_seconds
        self._statement = statement_seconds
        # method -> (the handler registered for it, that handler wrapped)
        self._wrapped: dict[str, tuple[Any, grpc.RpcMethodHandler[Any, Any]]] = {}

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
        # Wrapped once per method, not per call: a call then costs a dict lookup here instead
        # of a new closure and handler (the registered handler is the same object every call).
        known = self._wrapped.get(method)
        if known is not None and known[0] is handler:
            return known[1]
        wrapped = self._wrap_handler(method, handler)
        self._wrapped[method] = (handler, wrapped)
        return wrapped

    def wrapped_methods(self) -> tuple[str, ...]:
        """The methods wrapped so far (at most one entry per registered method)."""
        return tuple(sorted(self._wrapped))

    def _wrap_handler(
        self, method: str, handler: grpc.RpcMethodHandler[Any, Any]
    ) -> grpc.RpcMethodHandler[Any, Any]:
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
        principal = self._authenticator.authenticate(metadata, peer_certificate(context))
        authorize(principal, method)  # before binding: a refused call binds nothing
        correlation = metadata.get("x-correlation-id") or call_context.new_correlation_id()
        return call_context.bind(
            call_context.CallContext(principal, self._service, method, correlation)
        )

    def _bind_deadline(self, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        """The call's statements end by the caller's deadline, each within the server's cap."""
        return bind_statement_deadline(context.time_remaining(), self._statement)

    def _wrap_unary(self, method: str, behaviour: Any) -> Any:
        async def wrapped(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            started = time.perf_counter()
            token = None
            request_id = _bind_request_id(context)
            deadline = self._bind_deadline(context)
            try:
                token = self._bind(method, context)
                response = await behaviour(request, context)
            except asyncio.CancelledError:
                _outcome(self._service, method, grpc.StatusCode.CANCELLED, started)
                raise
            except Exception as exc:
                await _abort(context, self._service, method, exc, started)
                raise  # unreachable: abort raises
            else:  # before finally: the outcome line still carries the call's context
                _outcome(self._service, method, grpc.StatusCode.OK, started)
            finally:
                if token is not None:
                    call_context.unbind(token)
                unbind_statement_deadline(deadline)
                call_context.unbind_request_id(request_id)
            return response

        return wrapped

    def _wrap_stream(self, method: str, behaviour: Any) -> Any:
        # A coroutine that writes (not an async generator that yields): only a write that can
        # time out tells a caller that stopped reading from one that is merely quiet.
        async def wrapped(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> None:
            started = time.perf_counter()
            token = None
            request_id = _bind_request_id(context)
            deadline = self._bind_deadline(context)
            try:
                token = self._bind(method, context)
                with self._streams.admit(call_context.current().principal.name):
                    await self._write_all(behaviour(request, context), context)
            except asyncio.CancelledError:
                _outcome(self._service, method, grpc.StatusCode.CANCELLED, started)
                raise
            except Exception as exc:
                await _abort(context, self._service, method, exc, started)
            else:
                _outcome(self._service, method, grpc.StatusCode.OK, started)
            finally:
                if token is not None:
                    call_context.unbind(token)
                unbind_statement_deadline(deadline)
                call_context.unbind_request_id(request_id)

        return wrapped

    async def _write_all(self, responses: Any, context: grpc.aio.ServicerContext[Any, Any]) -> None:
        """Each response written before the next is produced (the producer holds at most its
        own page); a write the caller does not take within the stall limit ends the stream."""
        delivered: dict[str, str] = {}
        async with contextlib.aclosing(responses):
            async for response in responses:
                try:
                    async with asyncio.timeout(self._stall):
                        await context.write(response)
                except TimeoutError:
                    raise slow_reader(self._stall, delivered) from None
                delivered = resume_point(response) or delivered


async def _abort(
    context: grpc.aio.ServicerContext[Any, Any],
    service: str,
    method: str,
    exc: Exception,
    started: float,
) -> None:
    if isinstance(exc, grpc.aio.AbortError):
        # The servicer already chose a status (and its metadata): counted, then passed on.
        _outcome(service, method, context.code() or grpc.StatusCode.UNKNOWN, started)
        raise exc
    refusal: Refusal | None = refusal_for(exc)
    if refusal is None:
        # Logged inside the call, so the line carries its request id (harbour.runtime.logs),
        # which the caller also has (x-request-id): the INTERNAL answer itself says nothing.
        log.exception("unexpected failure in %s", method)
        refusal = INTERNAL
    _outcome(service, method, refusal.code, started, refusal.reason)
    status = rpc_status.to_status(to_status(refusal))
    await context.abort(
        status.code,
        status.details,
        trailing_metadata=(*status.trailing_metadata, *_request_id_metadata()),
    )


def _bind_request_id(context: grpc.aio.ServicerContext[Any, Any]) -> Any:
    """A new id for this call, bound for its log lines and sent back as ``x-request-id`` in
    the trailers (set now; an abort sends it again with its own trailers)."""
    request_id = call_context.new_request_id()
    context.set_trailing_metadata((*(context.trailing_metadata() or ()), *_metadata(request_id)))
    return call_context.bind_request_id(request_id)


def _request_id_metadata() -> tuple[tuple[str, str], ...]:
    request_id = call_context.current_request_id()
    return _metadata(request_id) if request_id else ()


def _metadata(request_id: str) -> tuple[tuple[str, str], ...]:
    return ((REQUEST_ID_HEADER, request_id),)


def _outcome(
    service: str, method: str, code: grpc.StatusCode, started: float, reason: str = ""
) -> None:
    """Every call's one outcome: a latency observation by service, method and code, and a log
    line whose fields (method, code, duration_ms, reason) a log search can filter on."""
    elapsed = time.perf_counter() - started
    RPC_DURATION.labels(service, method, code.name).observe(elapsed)
    fields = {"method": method, "code": code.name, "duration_ms": round(elapsed * 1000, 1)}
    log.info(
        "%s %s %.1fms %s",
        method,
        code.name,
        elapsed * 1000,
        reason,
        extra={**fields, "reason": reason, "service": service},
    )
