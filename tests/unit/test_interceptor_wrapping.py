"""The Harbour interceptor wraps a method's handler once, not on every call, and still wraps
again when the server answers a method with a different handler."""

from __future__ import annotations

from typing import Any

import grpc

from harbour.application.caller import Principal
from harbour.runtime.auth import Authenticator
from harbour.runtime.interceptors import HarbourInterceptor

METHOD = "/harbour.api.v1.LendingService/DrawLoan"


class Details:
    def __init__(self, method: str) -> None:
        self.method = method
        self.invocation_metadata = ()


async def _answer(request: bytes, context: Any) -> bytes:
    return request


def _interceptor() -> HarbourInterceptor:
    platform = Principal("platform", frozenset({"trading-platform"}))
    return HarbourInterceptor("lending", Authenticator({"s3cret": platform}))


async def _intercepted(interceptor: HarbourInterceptor, handler: Any, method: str) -> Any:
    async def continuation(_: Any) -> Any:
        return handler

    return await interceptor.intercept_service(continuation, Details(method))


async def test_a_method_is_wrapped_once_and_reused_on_every_later_call() -> None:
    interceptor = _interceptor()
    registered = grpc.unary_unary_rpc_method_handler(_answer)
    first = await _intercepted(interceptor, registered, METHOD)
    again = await _intercepted(interceptor, registered, METHOD)
    assert first is not registered  # wrapped: the call goes through authentication
    assert first.unary_unary is not _answer
    assert again is first


async def test_a_different_handler_for_the_method_is_wrapped_anew() -> None:
    interceptor = _interceptor()
    first = await _intercepted(interceptor, grpc.unary_unary_rpc_method_handler(_answer), METHOD)
    replaced = grpc.unary_unary_rpc_method_handler(_answer)
    second = await _intercepted(interceptor, replaced, METHOD)
    assert second is not first
    assert second is not replaced
    assert await _intercepted(interceptor, replaced, METHOD) is second


async def test_open_methods_and_unknown_ones_pass_through_unwrapped_and_uncached() -> None:
    interceptor = _interceptor()
    health = grpc.unary_unary_rpc_method_handler(_answer)
    assert await _intercepted(interceptor, health, "/grpc.health.v1.Health/Check") is health
    assert await _intercepted(interceptor, None, "/no.Such/Method") is None
    assert interceptor.wrapped_methods() == ()
