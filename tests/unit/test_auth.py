"""Authentication's rules without a server: settings, start-up refusals, tokens, certificates."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from harbour.application.caller import Principal
from harbour.application.wire import WHOLE_FEED_READERS
from harbour.feed.scope import FULL_READERS
from harbour.ledger.errors import PermissionDenied
from harbour.runtime.auth import (
    ALL_ROLES,
    Authenticator,
    StartupRefused,
    authenticator_for,
    certificate_principal,
    is_loopback,
    startup_refusal,
)
from harbour.runtime.authorization import RPC_ROLES, authorize
from harbour.runtime.certs import DevelopmentPki, make_development_pki
from harbour.runtime.errors import Unauthenticated
from harbour.runtime.settings import Settings, SettingsError
from harbour.runtime.tokens import (
    TokenSetupError,
    TokenVerifier,
    issue_token,
    parse_ttl,
)

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
AUDIENCE = "harbour-test"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DevelopmentPki:
    return make_development_pki(tmp_path_factory.mktemp("pki"), now=datetime.now(UTC))


@pytest.fixture(scope="module")
def signer() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def token(key: Ed25519PrivateKey, **changes: object) -> str:
    claims: dict[str, object] = {
        "subject": "desk",
        "roles": ["risk"],
        "audience": AUDIENCE,
        "ttl": timedelta(minutes=15),
        "now": datetime.now(UTC),
    }
    claims.update(changes)
    return issue_token(key, **claims)  # type: ignore[arg-type]


def test_the_new_variables_are_read_and_checked_in_pairs(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "HARBOUR_DEV_MODE": "1",
            "HARBOUR_TLS_CERT": "/c.pem",
            "HARBOUR_TLS_KEY": "/k.pem",
            "HARBOUR_TLS_CLIENT_CA": "/ca.pem",
            "HARBOUR_TOKEN_PUBLIC_KEY": "/t.pub",
            "HARBOUR_TOKEN_AUDIENCE": AUDIENCE,
        }
    )
    assert settings.dev_mode and settings.tls_client_ca == Path("/ca.pem")
    assert (settings.token_public_key, settings.token_audience) == (Path("/t.pub"), AUDIENCE)
    assert not Settings.from_env({}).dev_mode
    for env, message in (
        ({"HARBOUR_DEV_MODE": "yes"}, "HARBOUR_DEV_MODE must be 0 or 1"),
        ({"HARBOUR_TLS_CLIENT_CA": "/ca.pem"}, "needs HARBOUR_TLS_CERT"),
        ({"HARBOUR_TOKEN_PUBLIC_KEY": "/t.pub"}, "must be set together"),
    ):
        with pytest.raises(SettingsError, match=message):
            Settings.from_env(env)


def test_a_process_without_a_way_to_authenticate_refuses_to_start_and_says_what_to_set() -> None:
    reason = startup_refusal(Settings())
    assert reason is not None
    for variable in (
        "HARBOUR_TLS_CLIENT_CA",
        "HARBOUR_TOKEN_PUBLIC_KEY",
        "HARBOUR_AUTH_TOKENS",
        "HARBOUR_DEV_MODE=1",
    ):
        assert variable in reason
    with pytest.raises(StartupRefused, match="no way for callers to authenticate"):
        authenticator_for(Settings())
    assert startup_refusal(Settings(auth_tokens={"t": Principal("p", frozenset({"risk"}))})) is None


def test_development_mode_serves_loopback_only() -> None:
    dev = Settings(dev_mode=True)
    assert startup_refusal(dev, "127.0.0.1") is None
    assert startup_refusal(dev, "::1") is None
    assert startup_refusal(dev, "localhost") is None
    refusal = startup_refusal(replace(dev, host="0.0.0.0"))
    assert refusal is not None and "loopback only" in refusal and "'0.0.0.0'" in refusal
    assert "\n" not in refusal
    assert startup_refusal(dev, "10.0.0.7") is not None
    assert not is_loopback("harbour.internal")


def test_development_mode_trusts_the_declared_principal_and_nothing_else_does() -> None:
    dev = Authenticator(development=True)
    assert dev.authenticate({}).roles == ALL_ROLES
    assert dev.authenticate({"x-harbour-principal": "ana:auditor"}) == Principal(
        "ana", frozenset({"auditor"})
    )
    strict = Authenticator({"s3cret": Principal("platform", frozenset({"trading-platform"}))})
    assert strict.authenticate({"authorization": "Bearer s3cret"}).name == "platform"
    with pytest.raises(Unauthenticated, match="no credentials"):
        strict.authenticate({"x-harbour-principal": "mallory:operator"})
    with pytest.raises(Unauthenticated, match="unknown bearer token"):
        dev.authenticate({"authorization": "Bearer guessed"})  # a bad token is never ignored
    with pytest.raises(Unauthenticated, match="no credentials"):
        Authenticator().authenticate({})


def test_a_signed_token_names_its_subject_and_roles(signer: Ed25519PrivateKey) -> None:
    verifier = TokenVerifier(signer.public_key(), AUDIENCE)
    assert verifier.principal(token(signer, roles=["risk", "operator"])) == Principal(
        "desk", frozenset({"risk", "operator"})
    )


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"now": NOW - timedelta(hours=2)}, "has expired: ask its issuer for a new one"),
        ({"audience": "another-deployment"}, "its audience must be 'harbour-test'"),
        ({"key": "another"}, "signature does not verify"),
    ],
)
def test_a_token_that_must_not_pass_is_refused_with_a_reason(
    signer: Ed25519PrivateKey, changes: dict[str, object], reason: str
) -> None:
    key = Ed25519PrivateKey.generate() if changes.pop("key", None) else signer
    verifier = TokenVerifier(signer.public_key(), AUDIENCE)
    with pytest.raises(Unauthenticated, match=reason):
        verifier.principal(token(key, **changes))


def test_a_token_without_roles_or_tampered_with_is_refused(signer: Ed25519PrivateKey) -> None:
    import jwt

    verifier = TokenVerifier(signer.public_key(), AUDIENCE)
    exp = int((datetime.now(UTC) + timedelta(minutes=5)).timestamp())
    roleless = jwt.encode({"sub": "x", "aud": AUDIENCE, "exp": exp}, signer, algorithm="EdDSA")
    with pytest.raises(Unauthenticated, match="no 'roles' claim"):
        verifier.principal(roleless)
    empty = jwt.encode(
        {"sub": "x", "roles": [], "aud": AUDIENCE, "exp": exp}, signer, algorithm="EdDSA"
    )
    with pytest.raises(Unauthenticated, match="holds no role"):
        verifier.principal(empty)
    header, _payload, signature = token(signer).split(".")
    forged = jwt.encode(
        {"sub": "desk", "roles": ["operator"], "aud": AUDIENCE, "exp": exp},
        Ed25519PrivateKey.generate(),
        algorithm="EdDSA",
    ).split(".")[1]
    with pytest.raises(Unauthenticated, match="signature does not verify"):
        verifier.principal(f"{header}.{forged}.{signature}")  # roles raised, signature kept
    with pytest.raises(Unauthenticated, match="must be signed with EdDSA"):
        verifier.principal(
            jwt.encode(
                {"sub": "x", "roles": ["risk"], "aud": AUDIENCE, "exp": exp},
                "a-shared-secret-of-32-bytes-long!",
                algorithm="HS256",
            )
        )


def test_token_lifetimes_are_short() -> None:
    assert parse_ttl("15m") == timedelta(minutes=15)
    assert parse_ttl("90s") == timedelta(seconds=90)
    with pytest.raises(TokenSetupError, match="at most"):
        parse_ttl("30d")
    with pytest.raises(TokenSetupError, match="looks like"):
        parse_ttl("soon")


def test_a_client_certificate_names_the_caller_by_cn_and_its_roles_by_ou(
    pki: DevelopmentPki,
) -> None:
    risk = certificate_principal(pki.client_cert("risk").read_bytes())
    assert risk == Principal("risk", frozenset({"risk"}))
    admin = certificate_principal(pki.client_cert("admin").read_bytes())
    assert admin.name == "admin" and admin.roles == ALL_ROLES
    # The server's certificate holds no role: presented as a client it authenticates nobody.
    with pytest.raises(Unauthenticated, match="holds no role"):
        certificate_principal(pki.server_cert.read_bytes())
    for name in pki.clients:
        assert pki.client_key(name).stat().st_mode & 0o077 == 0, "a key readable by others"


DEPRECATED_SUBSCRIBES = [
    f"/harbour.api.v1.{service}/Subscribe"
    for service in ("AccountsService", "AuditService", "CollateralService", "LendingService")
]


def test_the_deprecated_subscribes_are_for_the_roles_the_feed_leaves_unscoped_only() -> None:
    """They stream every client's events: no role FeedService scopes may call them, and the
    servicers' second line (harbour.application.wire) names the same roles."""
    assert set(WHOLE_FEED_READERS) == set(FULL_READERS) == {"auditor", "operator", "risk"}
    for path in DEPRECATED_SUBSCRIBES:
        assert RPC_ROLES[path] <= set(FULL_READERS), path
        assert "trading-platform" not in RPC_ROLES[path], path
        refused = Principal("desk", frozenset({"trading-platform"}))
        with pytest.raises(PermissionDenied, match="deprecated") as denied:
            authorize(refused, path)
        assert "/harbour.api.v1.FeedService/Subscribe" in str(denied.value)
        authorize(Principal("ana", frozenset({"auditor"})), path)
    # A refusal of any other RPC names no replacement.
    with pytest.raises(PermissionDenied) as other:
        authorize(refused, "/harbour.api.v1.AccountsService/OnboardClient")
    assert "FeedService" not in str(other.value)
