"""A development PKI for mTLS: a CA, a server certificate, one client certificate per role.

``harbour certs dev --out DIR`` writes (keys mode 0600, ECDSA P-256):

  ca.pem, ca.key            the development CA (HARBOUR_TLS_CLIENT_CA=ca.pem; callers trust it)
  server.pem, server.key    for localhost, 127.0.0.1, ::1 and any --name; server.pem holds the
                            CA after the leaf, so it is also a trust root for `harbour up`'s
                            readiness check, which presents it as its own client certificate
  <role>.pem, <role>.key    a client per role (CN = the role, OU = the role)
  admin.pem, admin.key      a client holding every role (an operator's all-powerful pair)

A client certificate names its caller in the subject's CN and its roles in the subject's OU
values, one role each (harbour.runtime.auth reads them). Development only: a real deployment
gets its certificates from its own CA with the same CN/OU convention.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
)
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from harbour.runtime.authorization import ROLES

CA_LIFETIME = timedelta(days=365)
LEAF_LIFETIME = timedelta(days=90)
# Issued a little in the past, so a machine whose clock lags a minute still accepts them.
BACKDATE = timedelta(minutes=5)
ADMIN = "admin"
LOOPBACK_NAMES = ("localhost",)
LOOPBACK_ADDRESSES = ("127.0.0.1", "::1")


@dataclass(frozen=True)
class Issued:
    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class DevelopmentPki:
    directory: Path
    clients: tuple[str, ...]  # the client pairs written: each role, then admin

    @property
    def ca(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def server_cert(self) -> Path:
        return self.directory / "server.pem"

    @property
    def server_key(self) -> Path:
        return self.directory / "server.key"

    def client_cert(self, name: str) -> Path:
        return self.directory / f"{name}.pem"

    def client_key(self, name: str) -> Path:
        return self.directory / f"{name}.key"


def make_development_pki(
    out: Path, *, now: datetime, server_names: Iterable[str] = (), roles: Iterable[str] = ROLES
) -> DevelopmentPki:
    """A fresh CA and its certificates in ``out`` (created if missing; existing files are
    replaced). ``server_names``: DNS names the server certificate is also valid for."""
    out.mkdir(parents=True, exist_ok=True)
    ca = _certificate_authority(now)
    _write(out, "ca", ca, chain=())
    server = _leaf(
        ca,
        _name("harbour-server"),
        now,
        usages=[ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH],
        names=_server_names(server_names),
    )
    _write(out, "server", server, chain=(ca,))
    role_list = sorted(set(roles))
    for role in role_list:
        _write(out, role, _client(ca, role, [role], now), chain=())
    _write(out, ADMIN, _client(ca, ADMIN, role_list, now), chain=())
    return DevelopmentPki(out, (*role_list, ADMIN))


def _client(ca: Issued, name: str, roles: list[str], now: datetime) -> Issued:
    return _leaf(ca, _name(name, roles), now, usages=[ExtendedKeyUsageOID.CLIENT_AUTH], names=[])


def _name(common_name: str, units: Iterable[str] = ()) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Harbour Ledger development")]
    attributes += [x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, u) for u in units]
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


def _server_names(extra: Iterable[str]) -> list[x509.GeneralName]:
    dns = [*LOOPBACK_NAMES, *(n for n in extra if n not in LOOPBACK_NAMES)]
    names: list[x509.GeneralName] = [x509.DNSName(n) for n in dict.fromkeys(dns)]
    names += [x509.IPAddress(ipaddress.ip_address(a)) for a in LOOPBACK_ADDRESSES]
    return names


def _certificate_authority(now: datetime) -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name("Harbour Ledger development CA")
    certificate = (
        _builder(name, name, key.public_key(), now, CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    return Issued(certificate, key)


def _leaf(
    ca: Issued,
    subject: x509.Name,
    now: datetime,
    *,
    usages: list[x509.ObjectIdentifier],
    names: list[x509.GeneralName],
) -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        _builder(subject, ca.certificate.subject, key.public_key(), now, LEAF_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), False
        )
    )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return Issued(builder.sign(ca.key, hashes.SHA256()), key)


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    now: datetime,
    lifetime: timedelta,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + lifetime)
    )


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _write(out: Path, stem: str, issued: Issued, *, chain: tuple[Issued, ...]) -> None:
    pem = b"".join(c.certificate.public_bytes(Encoding.PEM) for c in (issued, *chain))
    (out / f"{stem}.pem").write_bytes(pem)
    key = issued.key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    path = out / f"{stem}.key"
    path.unlink(missing_ok=True)
    # Created with its mode: a private key is never readable by others, even briefly.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as written:
        written.write(key)
