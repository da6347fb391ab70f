"""`harbour certs dev` and `harbour token keygen|issue`, run through the command line as an
operator runs them: the files they write must be what the servers accept (a certificate chain
that verifies, a token the verifier takes), and bad arguments must be one line and exit 2.
No database: these commands never open one. The first run is a real process (the entry
point), the rest run in this process (tests.integration.cli_in_process)."""

from __future__ import annotations

import ipaddress
import os
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from harbour.application.caller import Principal
from harbour.runtime.authorization import ROLES
from harbour.runtime.errors import Unauthenticated
from harbour.runtime.tokens import TokenVerifier
from tests.integration.cli_in_process import Ran, run_main


def harbour_process(*args: str) -> subprocess.CompletedProcess[str]:
    """The `harbour` entry point in a process of its own, with no HARBOUR_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARBOUR_")}
    return subprocess.run(
        [sys.executable, "-m", "harbour.runtime.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def harbour(*args: str) -> Ran:
    return run_main(args, {})


def certificates(path: Path) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(path.read_bytes())


def private(path: Path) -> bool:
    return stat.S_IMODE(path.stat().st_mode) == 0o600


def test_certs_dev_writes_a_ca_whose_server_and_client_chains_verify(tmp_path: Path) -> None:
    out = tmp_path / "pki"
    made = harbour_process("certs", "dev", "--out", str(out), "--name", "ledger.internal")
    assert made.returncode == 0, made.stderr
    assert f"HARBOUR_TLS_CLIENT_CA={out / 'ca.pem'}" in made.stdout

    (ca,) = certificates(out / "ca.pem")
    store = Store([ca])
    now = datetime.now(UTC)
    policy = PolicyBuilder().store(store).time(now)
    # The server certificate (its file carries the CA after the leaf) verifies for every name
    # a caller dials: loopback and each --name; not for another name.
    server, *rest = certificates(out / "server.pem")
    assert rest == [ca]
    for name in (
        x509.DNSName("localhost"),
        x509.DNSName("ledger.internal"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    ):
        chain = policy.build_server_verifier(name).verify(server, [])
        assert chain[-1] == ca
    with pytest.raises(VerificationError):
        policy.build_server_verifier(x509.DNSName("elsewhere.example")).verify(server, [])

    # A client pair per role and an all-roles admin: each verifies as a client of the CA and
    # names its caller (CN) and roles (OU), as harbour.runtime.auth reads them. (The Web PKI
    # profile wants a subjectAltName on a client too; a gRPC server, like OpenSSL, does not,
    # and the caller is named by its subject: the profile is otherwise kept as it is.)
    clients = policy.extension_policies(
        ca_policy=ExtensionPolicy.webpki_defaults_ca(),
        ee_policy=ExtensionPolicy.webpki_defaults_ee().may_be_present(
            x509.SubjectAlternativeName, Criticality.AGNOSTIC, None
        ),
    ).build_client_verifier()
    for name, roles in [*((role, {role}) for role in ROLES), ("admin", set(ROLES))]:
        (client,) = certificates(out / f"{name}.pem")
        verified = clients.verify(client, [])
        assert verified.chain[-1] == ca
        subject = client.subject
        assert subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == name
        units = subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
        assert {u.value for u in units} == roles
        assert private(out / f"{name}.key")
    assert private(out / "ca.key") and private(out / "server.key")

    # Another CA's certificates do not verify against this one.
    other = harbour("certs", "dev", "--out", str(tmp_path / "other"))
    assert other.returncode == 0, other.stderr
    (stranger,) = certificates(tmp_path / "other" / "admin.pem")
    with pytest.raises(VerificationError):
        clients.verify(stranger, [])

    # --if-missing keeps the CA a directory already holds (compose runs it on every start).
    kept = harbour("certs", "dev", "--out", str(out), "--if-missing")
    assert kept.returncode == 0 and "kept" in kept.stdout
    assert certificates(out / "ca.pem") == [ca]


def test_token_keygen_then_issue_gives_a_token_the_verifier_accepts(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    made = harbour("token", "keygen", "--out", str(keys))
    assert made.returncode == 0, made.stderr
    key, public = keys / "token-signing.key", keys / "token-signing.key.pub"
    assert private(key) and public.is_file()

    issued = harbour(
        "token", "issue", "--key", str(key), "--sub", "ana", "--roles", "auditor+risk",
        "--audience", "harbour-prod", "--ttl", "10m",
    )  # fmt: skip
    assert issued.returncode == 0, issued.stderr
    (token,) = issued.stdout.split()
    verifier = TokenVerifier.from_files(public, "harbour-prod")
    assert verifier.principal(token) == Principal("ana", frozenset({"auditor", "risk"}))
    claims = jwt.decode(token, options={"verify_signature": False})
    lifetime = timedelta(seconds=claims["exp"] - claims["iat"])
    assert lifetime == timedelta(minutes=10)

    # Not for another deployment, nor under another key.
    with pytest.raises(Unauthenticated, match="audience"):
        TokenVerifier.from_files(public, "harbour-staging").principal(token)
    assert harbour("token", "keygen", "--out", str(tmp_path / "other")).returncode == 0
    other = TokenVerifier.from_files(tmp_path / "other" / "token-signing.key.pub", "harbour-prod")
    with pytest.raises(Unauthenticated, match="signature"):
        other.principal(token)


def test_bad_arguments_are_one_line_and_exit_2(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    assert harbour("token", "keygen", "--out", str(keys)).returncode == 0
    key = str(keys / "token-signing.key")
    a_file = tmp_path / "a-file"
    a_file.write_text("not a directory\n")
    issue = ("token", "issue", "--sub", "ana", "--roles", "risk", "--audience", "aud")
    cases: list[tuple[tuple[str, ...], str]] = [
        (("token", "keygen"), "token keygen needs --out DIR"),
        (("token", "keygen", "--out", str(keys)), "refusing to replace a signing key"),
        (("token", "issue", "--key", key), "token issue needs --sub --roles --audience"),
        ((*issue, "--key", key, "--ttl", "3d"), "a token lives at most 24h"),
        ((*issue, "--key", key, "--ttl", "soon"), "a lifetime looks like 90s, 15m, 1h or 1d"),
        ((*issue, "--key", str(tmp_path / "missing.key")), "cannot read the signing key"),
        ((*issue, "--key", key + ".pub"), "cannot read the signing key"),
        (("certs", "dev", "--out", str(a_file)), "is a file: certs dev writes a directory"),
        (("certs", "dev", "--out", str(a_file / "pki")), "cannot write the certificates"),
    ]
    for args, says in cases:
        result = harbour(*args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("harbour: "), (args, result.stderr)
        assert says in lines[0], (args, lines[0])
        assert result.stdout == "", args
    assert not (a_file / "pki").exists()

    # What argparse refuses: its usage, then the one line saying what is wrong; exit 2.
    for args, says in [
        (("certs", "dev"), "the following arguments are required: --out"),
        (("certs", "prod", "--out", str(tmp_path)), "invalid choice: 'prod'"),
        (("token", "rotate"), "invalid choice: 'rotate'"),
    ]:
        result = harbour(*args)
        assert result.returncode == 2, (args, result.stderr)
        *usage, error = result.stderr.strip().splitlines()
        assert usage[0].startswith("usage: harbour ") and says in error, result.stderr
        assert "Traceback" not in result.stderr
