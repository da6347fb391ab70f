"""The one place that maps refusals to gRPC status codes (docs/domain.md, Errors).

Domain errors carry a category and a stable snake_case reason; event-store errors are mapped
by type. Each becomes a status with ``google.rpc`` details: ``ErrorInfo`` (reason, domain) and,
for malformed requests, ``BadRequest`` field violations. A database outage is UNAVAILABLE: the
command may or may not have been applied, and a retry with the same request_id is safe
(idempotency). A statement PostgreSQL cancelled (query_canceled, 57014: the statement timeout a
caller's deadline set, or the cancel of an abandoned call) is DEADLINE_EXCEEDED. A limit on
open streams, or a stream whose caller stopped reading, is RESOURCE_EXHAUSTED. Anything else is
INTERNAL with a message that leaks nothing: the interceptor logs the exception inside the call,
so the line carries the call's request id (harbour.runtime.logs), which the caller has from the
``x-request-id`` trailer.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import grpc
import psycopg
import sqlalchemy.exc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from harbour.eventstore.errors import ConcurrencyConflict, InvalidAppend, RequestIdReused
from harbour.eventstore.outage import is_database_outage
from harbour.ledger.errors import Category, DomainError, FieldViolation

log = logging.getLogger("harbour.errors")
ERROR_DOMAIN = "harbour.ledger"

STATUS_OF_CATEGORY: dict[Category, grpc.StatusCode] = {
    Category.INVALID_ARGUMENT: grpc.StatusCode.INVALID_ARGUMENT,
    Category.FAILED_PRECONDITION: grpc.StatusCode.FAILED_PRECONDITION,
    Category.NOT_FOUND: grpc.StatusCode.NOT_FOUND,
    Category.ALREADY_EXISTS: grpc.StatusCode.ALREADY_EXISTS,
    Category.ABORTED: grpc.StatusCode.ABORTED,
    Category.PERMISSION_DENIED: grpc.StatusCode.PERMISSION_DENIED,
}


@dataclass(frozen=True)
class Refusal:
    """What the caller is told: a code, a message it can act on, a stable reason."""

    code: grpc.StatusCode
    message: str
    reason: str
    violations: tuple[FieldViolation, ...] = ()
    metadata: Mapping[str, str] = field(default_factory=dict)  # ErrorInfo.metadata


class Unauthenticated(Exception):
    """No or unknown credentials."""


class ResourceExhausted(Exception):
    """A bounded resource is full (open streams), or a caller let its stream back up.
    ``metadata`` goes to ErrorInfo: e.g. the checkpoint a cut subscriber resumes from."""

    def __init__(self, message: str, reason: str, metadata: Mapping[str, str] | None = None):
        super().__init__(message)
        self.reason = reason
        self.metadata = dict(metadata or {})


def refusal_for(exc: BaseException) -> Refusal | None:
    """The refusal an exception stands for, or None for an unexpected failure."""
    if isinstance(exc, DomainError):
        return Refusal(STATUS_OF_CATEGORY[exc.category], exc.message, exc.reason, exc.violations)
    if isinstance(exc, InvalidAppend):
        return Refusal(
            grpc.StatusCode.INVALID_ARGUMENT,
            str(exc),
            "invalid_argument",
            (FieldViolation(exc.field, exc.description),),
        )
    if isinstance(exc, ConcurrencyConflict):
        return Refusal(grpc.StatusCode.ABORTED, str(exc), "concurrent_modification")
    if isinstance(exc, RequestIdReused):
        return Refusal(grpc.StatusCode.ALREADY_EXISTS, str(exc), "request_id_reused")
    if isinstance(exc, Unauthenticated):
        return Refusal(grpc.StatusCode.UNAUTHENTICATED, str(exc), "unauthenticated")
    if isinstance(exc, ResourceExhausted):
        return Refusal(
            grpc.StatusCode.RESOURCE_EXHAUSTED, str(exc), exc.reason, metadata=exc.metadata
        )
    if _statement_cancelled(exc):
        return STATEMENT_CANCELLED
    if is_database_outage(exc):
        log.warning("the ledger database is unavailable: %s", exc)
        return DATABASE_UNAVAILABLE
    return None


# The connection may have dropped after the commit and before the answer: the caller cannot
# know, and need not — a retry with the same request_id returns the first answer if there was
# one, and applies the command if there was not.
DATABASE_UNAVAILABLE = Refusal(
    grpc.StatusCode.UNAVAILABLE,
    "the ledger database is unavailable; the command may or may not have been applied: "
    "retry with the same request_id, which is safe",
    "database_unavailable",
)


STATEMENT_CANCELLED = Refusal(
    grpc.StatusCode.DEADLINE_EXCEEDED,
    "the database statement ran past the call's deadline (or the server's statement timeout) "
    "and was cancelled; a command was not applied: retry with the same request_id",
    "deadline_exceeded",
)


def _statement_cancelled(exc: BaseException) -> bool:
    """PostgreSQL's query_canceled (57014), from psycopg or wrapped by SQLAlchemy."""
    if isinstance(exc, sqlalchemy.exc.DBAPIError):
        exc = exc.orig if isinstance(exc.orig, BaseException) else exc
    return isinstance(exc, psycopg.errors.QueryCanceled)


INTERNAL = Refusal(
    grpc.StatusCode.INTERNAL,
    "internal error; the request was not applied and may be retried with the same request_id",
    "internal",
)


def to_status(refusal: Refusal) -> status_pb2.Status:
    """The google.rpc.Status carried in the ``grpc-status-details-bin`` trailer."""
    info = any_pb2.Any()
    info.Pack(
        error_details_pb2.ErrorInfo(
            reason=refusal.reason, domain=ERROR_DOMAIN, metadata=dict(refusal.metadata)
        )
    )
    details = [info]
    if refusal.violations:
        bad_request = any_pb2.Any()
        bad_request.Pack(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(
                        field=v.field, description=v.description
                    )
                    for v in refusal.violations
                ]
            )
        )
        details.append(bad_request)
    return status_pb2.Status(
        code=getattr(code_pb2, refusal.code.name),
        message=refusal.message,
        details=details,
    )
