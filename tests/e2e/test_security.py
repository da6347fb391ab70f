"""Secure by default, through real servers on loopback: no start without a way to authenticate,
development mode only on loopback and marked on every response, mTLS, signed tokens."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from grpc_health.v1 import health_pb2, health_pb2_grpc

from harbour.api.v1 import audit_pb2, audit_pb2_grpc
from harbour.eventstore.model import NewEvent
from harbour.runtime.auth import StartupRefused
from harbour.runtime.certs import DevelopmentPki, make_development_pki
from harbour.runtime.server import RunningServer, Runtime, start_server
from harbour.runtime.settings import parse_auth_tokens
from harbour.runtime.tokens import issue_token

AUDIENCE = "harbour-e2e"
DEV_MARK = ("x-harbour-mode", "development")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DevelopmentPki:
    return make_development_pki(tmp_path_factory.mktemp("pki"), now=datetime.now(UTC))


@pytest.fixture(scope="module")
def stranger(tmp_path_factory: pytest.TempPathFactory) -> DevelopmentPki:
    """Another CA's certificates: the same names and roles, not trusted by the servers."""
    return make_development_pki(tmp_path_factory.mktemp("stranger"), now=datetime.now(UTC))


def secured(runtime: Runtime, **auth: object) -> Runtime:
    """The e2e runtime with development mode off and ``auth`` configured instead."""
    settings = replace(runtime.settings, dev_mode=False, **auth)  # type: ignore[arg-type]
    return replace(runtime, settings=settings)


async def serve_audit(runtime: Runtime) -> RunningServer:
    return await start_server("audit", runtime, port=0, host="127.0.0.1")


def test_harbour_serve_without_authentication_refuses_to_start_in_one_line() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARBOUR_")}
    env["HARBOUR_DATABASE_URL"] = "postgresql://nobody@127.0.0.1:1/none"  # never reached
    result = subprocess.run(
        [sys.executable, "-m", "harbour.runtime.cli", "serve", "audit"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert "no way for callers to authenticate" in lines[0]
    assert "HARBOUR_TLS_CLIENT_CA" in lines[0] and "HARBOUR_DEV_MODE=1" in lines[0]


async def test_no_server_starts_without_authentication_or_in_dev_mode_off_loopback(
    runtime: Runtime,
) -> None:
    with pytest.raises(StartupRefused, match="HARBOUR_TOKEN_PUBLIC_KEY"):
        await serve_audit(secured(runtime))
    assert runtime.settings.dev_mode
    with pytest.raises(StartupRefused, match="loopback only"):
        await start_server("audit", runtime, port=0, host="0.0.0.0")


async def test_development_mode_marks_every_response_and_warns_at_start(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("WARNING", logger="harbour.auth"):
        running = await serve_audit(runtime)
    assert any("DEVELOPMENT MODE" in r.getMessage() for r in caplog.records)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            audit = audit_pb2_grpc.AuditServiceStub(channel)
            served = audit.VerifyAll(audit_pb2.VerifyAllRequest())
            await served
            assert DEV_MARK in tuple(await served.initial_metadata())
            refused = audit.VerifyAll(
                audit_pb2.VerifyAllRequest(),
                metadata=(("x-harbour-principal", "bot:trading-platform"),),
            )
            with pytest.raises(grpc.aio.AioRpcError) as denied:
                await refused
            assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
            assert DEV_MARK in tuple(denied.value.initial_metadata())
            health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
            await health
            assert DEV_MARK in tuple(await health.initial_metadata())

            # A server-streaming call is marked before its first message, and refused too.
            await runtime.store.append(
                "probe-1", [NewEvent("Probed", {"n": 1})], expected_version=0
            )
            stream = audit.Subscribe(audit_pb2.SubscribeRequest(max_events=1))
            assert DEV_MARK in tuple(await stream.initial_metadata())
            assert [r.event.stream_id async for r in stream] == ["probe-1"]
            assert await stream.code() == grpc.StatusCode.OK
            refused_stream = audit.Subscribe(
                audit_pb2.SubscribeRequest(max_events=1),
                metadata=(("x-harbour-principal", "bot:trading-platform"),),
            )
            with pytest.raises(grpc.aio.AioRpcError) as denied_stream:
                async for _ in refused_stream:
                    pass
            assert denied_stream.value.code() == grpc.StatusCode.PERMISSION_DENIED
            assert DEV_MARK in tuple(denied_stream.value.initial_metadata())
    finally:
        await running.stop(0)


async def test_bearer_tokens_over_plaintext_are_warned_about_and_over_tls_not(
    runtime: Runtime,
    pki: DevelopmentPki,
    signer: Ed25519PrivateKey,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    public = tmp_path / "token.pub"
    public.write_bytes(
        signer.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    static = {"auth_tokens": parse_auth_tokens("t-audit=ana:auditor")}
    signed = {"token_public_key": public, "token_audience": AUDIENCE}
    tls = {"tls_cert": pki.server_cert, "tls_key": pki.server_key}
    for tokens in (static, signed):
        for transport, warned in (({}, True), (tls, False)):
            caplog.clear()
            with caplog.at_level("WARNING", logger="harbour.auth"):
                running = await serve_audit(secured(runtime, **tokens, **transport))
            await running.stop(0)
            warnings = [r for r in caplog.records if "accepted over plaintext" in r.getMessage()]
            assert len(warnings) == warned, (tokens, transport)
            for warning in warnings:
                assert warning.levelname == "WARNING" and warning.name == "harbour.auth"
                assert "HARBOUR_TLS_CERT" in warning.getMessage()


@pytest.fixture
async def mtls(runtime: Runtime, pki: DevelopmentPki) -> AsyncIterator[str]:
    running = await serve_audit(
        secured(
            runtime,
            tls_cert=pki.server_cert,
            tls_key=pki.server_key,
            tls_client_ca=pki.ca,
        )
    )
    yield f"localhost:{running.port}"
    await running.stop(0)


def client_credentials(
    trusted: DevelopmentPki, presented: DevelopmentPki | None = None, name: str = "admin"
) -> grpc.ChannelCredentials:
    if presented is None:
        return grpc.ssl_channel_credentials(trusted.ca.read_bytes())
    return grpc.ssl_channel_credentials(
        trusted.ca.read_bytes(),
        private_key=presented.client_key(name).read_bytes(),
        certificate_chain=presented.client_cert(name).read_bytes(),
    )


async def verify_all(address: str, credentials: grpc.ChannelCredentials) -> None:
    async with grpc.aio.secure_channel(address, credentials) as channel:
        audit = audit_pb2_grpc.AuditServiceStub(channel)
        await audit.VerifyAll(audit_pb2.VerifyAllRequest(), timeout=10)


async def test_mtls_serves_a_client_certificate_by_its_roles(
    mtls: str, pki: DevelopmentPki
) -> None:
    await verify_all(mtls, client_credentials(pki, pki, "auditor"))
    await verify_all(mtls, client_credentials(pki, pki, "admin"))
    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await verify_all(mtls, client_credentials(pki, pki, "trading-platform"))
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "trading-platform may not call" in (denied.value.details() or "")


async def test_mtls_refuses_a_caller_without_a_certificate_or_with_another_cas(
    mtls: str, pki: DevelopmentPki, stranger: DevelopmentPki
) -> None:
    for credentials in (client_credentials(pki), client_credentials(pki, stranger, "admin")):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await verify_all(mtls, credentials)
        # The handshake fails: the call never reaches a handler.
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


@pytest.fixture(scope="module")
def signer() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
async def token_audit(
    runtime: Runtime, signer: Ed25519PrivateKey, tmp_path: Path
) -> AsyncIterator[audit_pb2_grpc.AuditServiceStub]:
    public = tmp_path / "token.pub"
    public.write_bytes(
        signer.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    running = await serve_audit(secured(runtime, token_public_key=public, token_audience=AUDIENCE))
    async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        yield audit_pb2_grpc.AuditServiceStub(channel)
    await running.stop(0)


def bearer(key: Ed25519PrivateKey, **changes: object) -> tuple[tuple[str, str], ...]:
    claims: dict[str, object] = {
        "subject": "ana",
        "roles": ["auditor"],
        "audience": AUDIENCE,
        "ttl": timedelta(minutes=5),
        "now": datetime.now(UTC),
    }
    claims.update(changes)
    return (("authorization", f"Bearer {issue_token(key, **claims)}"),)  # type: ignore[arg-type]


async def test_a_good_signed_token_is_served_and_no_other_is(
    token_audit: audit_pb2_grpc.AuditServiceStub, signer: Ed25519PrivateKey
) -> None:
    reply = await token_audit.VerifyAll(audit_pb2.VerifyAllRequest(), metadata=bearer(signer))
    assert reply.intact
    refused = {
        "has expired": bearer(signer, now=datetime.now(UTC) - timedelta(hours=1)),
        "audience must be 'harbour-e2e'": bearer(signer, audience="staging"),
        "signature does not verify": bearer(Ed25519PrivateKey.generate()),
        "no credentials": (("x-harbour-principal", "mallory:auditor"),),
    }
    for reason, metadata in refused.items():
        with pytest.raises(grpc.aio.AioRpcError) as unauthenticated:
            await token_audit.VerifyAll(audit_pb2.VerifyAllRequest(), metadata=metadata)
        assert unauthenticated.value.code() == grpc.StatusCode.UNAUTHENTICATED, reason
        assert reason in (unauthenticated.value.details() or ""), reason
        assert DEV_MARK not in tuple(unauthenticated.value.initial_metadata() or ())
