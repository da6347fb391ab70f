"""The one error table and the one settings reader."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2

from harbour.application.caller import Principal
from harbour.eventstore.errors import ConcurrencyConflict, InvalidAppend, RequestIdReused
from harbour.ledger.errors import (
    Category,
    CreditLimitNotApproved,
    DomainError,
    FacilityAboveApprovedCreditLimit,
    InvalidArgument,
    NotFound,
)
from harbour.runtime.auth import ALL_ROLES, Authenticator
from harbour.runtime.errors import refusal_for, to_status
from harbour.runtime.settings import Settings, SettingsError, parse_auth_tokens


class Overdrawn(DomainError):
    reason = "insufficient_balance"
    category = Category.FAILED_PRECONDITION


@pytest.mark.parametrize(
    ("error", "code", "reason"),
    [
        (
            InvalidArgument.for_field("amount", "too many decimals"),
            "INVALID_ARGUMENT",
            "invalid_argument",
        ),
        (
            Overdrawn("balance 5.00 HKD, asked 9.00 HKD"),
            "FAILED_PRECONDITION",
            "insufficient_balance",
        ),
        (NotFound("no account C9"), "NOT_FOUND", "not_found"),
        (
            CreditLimitNotApproved("no credit limit of C9 is approved"),
            "FAILED_PRECONDITION",
            "credit_limit_not_approved",
        ),
        (
            FacilityAboveApprovedCreditLimit("a facility of 2.00 HKD is above 1.00 HKD"),
            "FAILED_PRECONDITION",
            "facility_above_approved_credit_limit",
        ),
        (
            InvalidAppend("stream_id", "must be a non-empty string"),
            "INVALID_ARGUMENT",
            "invalid_argument",
        ),
        (ConcurrencyConflict("account-C1", 3, 4), "ABORTED", "concurrent_modification"),
        (RequestIdReused("r-1"), "ALREADY_EXISTS", "request_id_reused"),
    ],
)
def test_every_refusal_has_a_code_and_a_stable_reason(
    error: Exception, code: str, reason: str
) -> None:
    refusal = refusal_for(error)
    assert refusal is not None
    assert (refusal.code, refusal.reason) == (getattr(grpc.StatusCode, code), reason)
    status = to_status(refusal)
    info = error_details_pb2.ErrorInfo()
    assert status.details[0].Unpack(info) and info.reason == reason


def test_field_violations_travel_as_bad_request() -> None:
    status = to_status(refusal_for(InvalidArgument.for_field("amount", "not a number")))  # type: ignore[arg-type]
    bad_request = error_details_pb2.BadRequest()
    assert status.details[1].Unpack(bad_request)
    assert [(v.field, v.description) for v in bad_request.field_violations] == [
        ("amount", "not a number")
    ]


def test_unexpected_exceptions_are_not_refusals() -> None:
    assert refusal_for(RuntimeError("boom")) is None
    assert refusal_for(KeyError("secret")) is None


def test_settings_from_environment() -> None:
    settings = Settings.from_env(
        {
            "HARBOUR_DATABASE_URL": "postgresql://u:p@db/harbour",
            "HARBOUR_PORT_BASE": "6000",
            "HARBOUR_DB_ROLE": "-",
            "HARBOUR_AUTH_TOKENS": "t1=desk:risk+operator",
            "HARBOUR_DATA_DIR": "/var/lib/harbour",
            "HARBOUR_STATE_CACHE": "500000",
        }
    )
    assert settings.database_url == "postgresql://u:p@db/harbour"
    assert (settings.port_of("accounts"), settings.port_of("audit")) == (6000, 6001)
    assert settings.db_role is None
    assert settings.data_dir == Path("/var/lib/harbour")
    assert (settings.state_cache, Settings().state_cache) == (500_000, 200_000)
    assert settings.auth_tokens == {"t1": Principal("desk", frozenset({"risk", "operator"}))}
    assert Settings.from_env({}).database_url is None


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"HARBOUR_PORT_BASE": "x"}, "HARBOUR_PORT_BASE must be an integer"),
        ({"HARBOUR_DB_POOL_SIZE": "0"}, "HARBOUR_DB_POOL_SIZE must be positive"),
        ({"HARBOUR_STATE_CACHE": "many"}, "HARBOUR_STATE_CACHE must be an integer"),
        ({"HARBOUR_TLS_CERT": "/c.pem"}, "must be set together"),
        ({"HARBOUR_AUTH_TOKENS": "nonsense"}, "must look like token=name:role"),
    ],
)
def test_bad_settings_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)


def test_bearer_tokens_when_configured_and_dev_principals_otherwise() -> None:
    strict = Authenticator(parse_auth_tokens("s3cret=platform:trading-platform"))
    assert strict.authenticate({"authorization": "Bearer s3cret"}).name == "platform"
    with pytest.raises(Exception, match="bearer token"):
        strict.authenticate({"x-harbour-principal": "mallory:operator"})
    dev = Authenticator(development=True)
    assert dev.authenticate({}).roles == ALL_ROLES
    assert dev.authenticate({"x-harbour-principal": "ana:auditor"}) == Principal(
        "ana", frozenset({"auditor"})
    )
