"""The image's HEALTHCHECK (python -m harbour.runtime.healthcheck) against real servers: a
Harbour service on loopback, a TLS server whose certificate names no loopback address, and a
port where nothing listens."""

from __future__ import annotations

import asyncio
import datetime
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer

from harbour.runtime.healthcheck import main
from harbour.runtime.server import Runtime
from tests.e2e.conftest import serve_on_loopback


def self_signed(directory: Path, dns_name: str) -> tuple[bytes, bytes]:
    """A certificate for ``dns_name`` (its own CA) and its key, written as tls.crt and tls.key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns_name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(dns_name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    certificate_pem = certificate.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (directory / "tls.crt").write_bytes(certificate_pem)
    (directory / "tls.key").write_bytes(key_pem)
    return key_pem, certificate_pem


@pytest.fixture
async def tls_health_server(tmp_path: Path) -> AsyncIterator[tuple[int, dict[str, str]]]:
    key, certificate = self_signed(tmp_path, "harbour-accounts.harbour.svc")
    env = {
        "HARBOUR_TLS_CERT": str(tmp_path / "tls.crt"),
        "HARBOUR_TLS_KEY": str(tmp_path / "tls.key"),
    }
    server = grpc.aio.server()
    health = HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    credentials = grpc.ssl_server_credentials([(key, certificate)])
    port = server.add_secure_port("127.0.0.1:0", credentials)
    await server.start()
    await health.set("", health_pb2.HealthCheckResponse.SERVING)
    yield port, env
    await server.stop(0)


async def test_a_serving_harbour_service_is_healthy(runtime: Runtime) -> None:
    running = await serve_on_loopback("accounts", runtime)
    try:
        address = f"127.0.0.1:{running.port}"
        assert await asyncio.to_thread(main, ["--address", address], {}) == 0
        named = ["--address", address, "--service", "harbour.api.v1.AccountsService"]
        assert await asyncio.to_thread(main, named, {}) == 0
    finally:
        await running.stop(0)


async def test_tls_is_checked_with_the_servers_own_certificate(
    tls_health_server: tuple[int, dict[str, str]],
) -> None:
    port, env = tls_health_server
    address = ["--address", f"127.0.0.1:{port}"]
    assert await asyncio.to_thread(main, address, env) == 0
    # The same server over plaintext does not answer: the check must speak TLS.
    assert await asyncio.to_thread(main, address, {}) == 1


def test_nothing_listening_is_unhealthy(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert main([], {"HARBOUR_PORT": str(port)}) == 1
    assert f"127.0.0.1:{port}: no answer" in capsys.readouterr().out
