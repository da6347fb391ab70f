"""The role x RPC matrix: every RPC of every generated service, called with each role's signed
token and with no credentials, is refused exactly where harbour.runtime.authorization says.

The RPCs come from the *_pb2 descriptors, not from the table: a new RPC without an entry fails
here. An allowed call may still fail for other reasons (an empty request is INVALID_ARGUMENT,
a stream is cut at the deadline, the feed refuses a trading platform the whole feed with a
scope reason of its own such as ``feed_client_ids_required``), but never UNAUTHENTICATED nor
the role refusal, PERMISSION_DENIED with reason ``permission_denied``.
"""

from __future__ import annotations

import asyncio
import importlib
import pkgutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from google.protobuf import message_factory
from google.protobuf.descriptor import MethodDescriptor
from google.rpc import error_details_pb2
from grpc_status import rpc_status

import harbour.api.v1
from harbour.runtime.authorization import ROLES, RPC_ROLES
from harbour.runtime.server import RunningServer, Runtime, start_server
from harbour.runtime.settings import SERVICES
from harbour.runtime.tokens import issue_token

AUDIENCE = "harbour-matrix"
ROLE_REFUSAL = "permission_denied"  # ErrorInfo.reason of a caller without the role
UNARY_SECONDS = 20.0
STREAM_SECONDS = 1.5  # an allowed stream may wait for events: its first answer is enough
AT_ONCE = 24  # calls in flight: the machine is shared


@dataclass(frozen=True)
class Rpc:
    path: str  # /package.Service/Method
    service: str  # package.Service
    descriptor: MethodDescriptor


def every_rpc() -> Iterator[Rpc]:
    package = harbour.api.v1
    for module in pkgutil.iter_modules(package.__path__):
        if not module.name.endswith("_pb2"):
            continue
        generated = importlib.import_module(f"{package.__name__}.{module.name}")
        for service in generated.DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                yield Rpc(f"/{service.full_name}/{method.name}", service.full_name, method)


@dataclass(frozen=True)
class Outcome:
    code: grpc.StatusCode
    reason: str = ""  # ErrorInfo.reason of a refusal


async def outcome(channel: grpc.aio.Channel, rpc: Rpc, role: str | None, token: str) -> Outcome:
    """How the call ends (OK for an allowed stream that answered)."""
    method = rpc.descriptor
    request = message_factory.GetMessageClass(method.input_type)
    response = message_factory.GetMessageClass(method.output_type)
    codec = {
        "request_serializer": request.SerializeToString,
        "response_deserializer": response.FromString,
    }
    metadata = (("authorization", f"Bearer {token}"),) if role else ()
    try:
        if method.client_streaming:
            make = channel.stream_stream if method.server_streaming else channel.stream_unary
            call = make(rpc.path, **codec)(_nothing(), metadata=metadata, timeout=STREAM_SECONDS)
        elif method.server_streaming:
            call = channel.unary_stream(rpc.path, **codec)(
                request(), metadata=metadata, timeout=STREAM_SECONDS
            )
        else:
            call = channel.unary_unary(rpc.path, **codec)(
                request(), metadata=metadata, timeout=UNARY_SECONDS
            )
        if method.server_streaming:
            async for _ in call:
                call.cancel()  # it answered: admitted
                return Outcome(grpc.StatusCode.OK)
            return Outcome(await call.code())
        await call
        return Outcome(grpc.StatusCode.OK)
    except grpc.aio.AioRpcError as ended:
        return Outcome(ended.code(), reason_of(ended))


def reason_of(error: grpc.aio.AioRpcError) -> str:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    info = error_details_pb2.ErrorInfo()
    if status is None or not any(detail.Unpack(info) for detail in status.details):
        return ""
    return str(info.reason)


async def _nothing() -> AsyncIterator[Any]:
    return
    yield  # an empty client stream


def tokens(key: Ed25519PrivateKey) -> dict[str, str]:
    now = datetime.now(UTC)
    return {
        role: issue_token(
            key,
            subject=f"matrix-{role}",
            roles=[role],
            audience=AUDIENCE,
            ttl=timedelta(minutes=10),
            now=now,
        )
        for role in ROLES
    }


async def serve_every_service(
    runtime: Runtime, tmp_path: Path, key: Ed25519PrivateKey
) -> list[RunningServer]:
    public = tmp_path / "matrix.pub"
    public.write_bytes(
        key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    settings = replace(
        runtime.settings, dev_mode=False, token_public_key=public, token_audience=AUDIENCE
    )
    signed = replace(runtime, settings=settings)
    return [await start_server(name, signed, port=0, host="127.0.0.1") for name in SERVICES]


async def test_every_rpc_refuses_exactly_the_callers_the_table_refuses(
    runtime: Runtime, tmp_path: Path
) -> None:
    rpcs = list(every_rpc())
    missing = [rpc.path for rpc in rpcs if rpc.path not in RPC_ROLES]
    assert not missing, f"RPCs without an entry in harbour.runtime.authorization: {missing}"

    key = Ed25519PrivateKey.generate()
    signed = tokens(key)
    servers = await serve_every_service(runtime, tmp_path, key)
    channels: dict[str, grpc.aio.Channel] = {}
    try:
        for running in servers:
            channel = grpc.aio.insecure_channel(f"127.0.0.1:{running.port}")
            channels.update({name: channel for name in running.service_names})
        unserved = sorted({rpc.service for rpc in rpcs} - set(channels))
        assert not unserved, f"services no process serves: {unserved}"
        gate = asyncio.Semaphore(AT_ONCE)

        async def check(rpc: Rpc, role: str | None) -> str | None:
            async with gate:
                code = await outcome(channels[rpc.service], rpc, role, signed.get(role or "", ""))
            return judged(rpc, role, code)

        callers: list[str | None] = [None, *sorted(ROLES)]
        found = await asyncio.gather(*(check(r, c) for r in rpcs for c in callers))
    finally:
        for channel in set(channels.values()):
            await channel.close()
        for running in servers:
            await running.stop(0)
    wrong = [line for line in found if line is not None]
    assert not wrong, f"{len(wrong)} of {len(found)} calls disagree with the table:\n" + "\n".join(
        wrong
    )
    assert len(found) == len(rpcs) * (1 + len(ROLES))


def judged(rpc: Rpc, role: str | None, ended: Outcome) -> str | None:
    """None when the call ended as the table says for ``role`` calling ``rpc``; else why not."""
    denied = ended.code == grpc.StatusCode.PERMISSION_DENIED and ended.reason == ROLE_REFUSAL
    unauthenticated = ended.code == grpc.StatusCode.UNAUTHENTICATED
    seen = f"{ended.code.name} {ended.reason}".strip()
    if role is None:
        return None if unauthenticated else f"{rpc.path} with no credentials: {seen}"
    if role in RPC_ROLES[rpc.path]:
        refused = denied or unauthenticated
        return f"{rpc.path} as {role}: allowed, but {seen}" if refused else None
    return None if denied else f"{rpc.path} as {role}: not allowed, but {seen}"
