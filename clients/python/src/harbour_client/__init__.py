"""Harbour Ledger's gRPC stubs (``harbour_client.api.v1``) and a helper to open a channel.

Every service listens on its own port (accounts, audit, collateral, lending, liquidation, ...);
open one channel per service address and build that service's stub on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, overload

import grpc
import grpc.aio

__all__ = ["connect"]

Options = Sequence[tuple[str, Any]]


@overload
def connect(
    target: str,
    *,
    root_certificates: bytes | None = ...,
    certificate_chain: bytes | None = ...,
    private_key: bytes | None = ...,
    token: str | None = ...,
    insecure: bool = ...,
    options: Options = ...,
    aio: Literal[False] = ...,
) -> grpc.Channel: ...


@overload
def connect(
    target: str,
    *,
    root_certificates: bytes | None = ...,
    certificate_chain: bytes | None = ...,
    private_key: bytes | None = ...,
    token: str | None = ...,
    insecure: bool = ...,
    options: Options = ...,
    aio: Literal[True],
) -> grpc.aio.Channel: ...


def connect(
    target: str,
    *,
    root_certificates: bytes | None = None,
    certificate_chain: bytes | None = None,
    private_key: bytes | None = None,
    token: str | None = None,
    insecure: bool = False,
    options: Options = (),
    aio: bool = False,
) -> grpc.Channel | grpc.aio.Channel:
    """A channel to one Harbour service at ``target`` (``host:port``).

    TLS by default: ``root_certificates`` is the CA that signed the service's certificate (None:
    the system's roots); ``certificate_chain`` and ``private_key`` (PEM) are this caller's
    client certificate where the service asks for mutual TLS. ``token`` is a bearer token sent
    with every call. ``insecure=True`` opens a plaintext channel, for a development stack on
    loopback only (a development-mode service accepts nothing else).
    """
    if insecure:
        if token is not None or certificate_chain is not None:
            raise ValueError("a token or client certificate is never sent over plaintext")
        if aio:
            return grpc.aio.insecure_channel(target, options=list(options))
        return grpc.insecure_channel(target, options=list(options))
    if (certificate_chain is None) != (private_key is None):
        raise ValueError("certificate_chain and private_key go together")
    credentials = grpc.ssl_channel_credentials(root_certificates, private_key, certificate_chain)
    if token is not None:
        credentials = grpc.composite_channel_credentials(
            credentials, grpc.access_token_call_credentials(token)
        )
    if aio:
        return grpc.aio.secure_channel(target, credentials, options=list(options))
    return grpc.secure_channel(target, credentials, options=list(options))
