"""Is the process in this container serving? The image's HEALTHCHECK and Kubernetes' probes.

    python -m harbour.runtime.healthcheck [--address HOST:PORT] [--service NAME]

Asks the gRPC health service (``grpc.health.v1.Health/Check``, open to every caller) of the
process at ``--address`` (default: loopback at HARBOUR_PORT, else HARBOUR_PORT_BASE) and exits
0 when it answers SERVING, 1 otherwise, with one line saying which. No extra binary in the
image: the same Python and grpcio the services run.

With HARBOUR_TLS_CERT set the service speaks TLS only, so the check does too: it trusts
HARBOUR_TLS_CLIENT_CA as the CA that signed the server's certificate (one CA signs both sides,
as `harbour certs dev` and deploy/kubernetes do; without it, the certificate itself), presents the
server's own certificate and key as its client certificate (accepted where mutual TLS is asked
for, if that CA signed it), and names the certificate's first DNS name as the server it expects,
since it connects to a loopback address the certificate need not carry.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

TIMEOUT_SECONDS = 3.0
DEFAULT_PORT = 50051


def default_address(env: Mapping[str, str]) -> str:
    port = env.get("HARBOUR_PORT") or env.get("HARBOUR_PORT_BASE") or str(DEFAULT_PORT)
    return f"127.0.0.1:{port}"


def channel_for(address: str, env: Mapping[str, str]) -> grpc.Channel:
    cert_path = env.get("HARBOUR_TLS_CERT")
    if not cert_path:
        return grpc.insecure_channel(address)
    certificate = Path(cert_path).read_bytes()
    key_path = env.get("HARBOUR_TLS_KEY")
    trust_path = env.get("HARBOUR_TLS_CLIENT_CA")
    credentials = grpc.ssl_channel_credentials(
        root_certificates=Path(trust_path).read_bytes() if trust_path else certificate,
        private_key=Path(key_path).read_bytes() if key_path else None,
        certificate_chain=certificate if key_path else None,
    )
    options = []
    name = certificate_dns_name(certificate)
    if name is not None:
        options.append(("grpc.ssl_target_name_override", name))
    return grpc.secure_channel(address, credentials, options=options)


def certificate_dns_name(pem: bytes) -> str | None:
    """The first DNS name of a certificate's subjectAltName, if it has one."""
    from cryptography import x509

    try:
        names = x509.load_pem_x509_certificate(pem).extensions.get_extension_for_class(
            x509.SubjectAlternativeName
        )
    except (ValueError, x509.ExtensionNotFound):
        return None
    dns = names.value.get_values_for_type(x509.DNSName)
    return dns[0] if dns else None


def check(address: str, service: str, env: Mapping[str, str]) -> tuple[bool, str]:
    """(serving, what to print)."""
    try:
        with channel_for(address, env) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=service), timeout=TIMEOUT_SECONDS
            )
    except grpc.RpcError as failed:
        code = failed.code() if isinstance(failed, grpc.Call) else None
        return False, f"{address}: no answer ({code.name if code else failed})"
    except OSError as unreadable:  # a certificate file that is not there
        return False, f"{address}: cannot check over TLS ({unreadable})"
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    return reply.status == health_pb2.HealthCheckResponse.SERVING, f"{address}: {status}"


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    environment = os.environ if env is None else env
    parser = argparse.ArgumentParser(prog="python -m harbour.runtime.healthcheck")
    parser.add_argument("--address", default=default_address(environment))
    parser.add_argument("--service", default="", help="one gRPC service name; default: all")
    args = parser.parse_args(argv)
    serving, line = check(args.address, args.service, environment)
    print(line, flush=True)
    return 0 if serving else 1


if __name__ == "__main__":
    sys.exit(main())
