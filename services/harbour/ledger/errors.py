"""The closed vocabulary of domain refusals.

Every refusal the domain can give is a subclass of :class:`DomainError` with a stable
snake_case ``reason`` (callers branch on it, so it never changes once released) and a
``category`` saying what kind of refusal it is. The runtime maps categories to gRPC status
codes in exactly one table (``harbour.runtime.errors``); nothing else knows about gRPC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Category(Enum):
    """What kind of refusal: decides the transport status code, nothing else."""

    INVALID_ARGUMENT = "invalid_argument"  # the request itself is malformed
    FAILED_PRECONDITION = "failed_precondition"  # well-formed, but the state forbids it
    NOT_FOUND = "not_found"
    ALREADY_EXISTS = "already_exists"
    ABORTED = "aborted"  # lost a race; retrying the same request may succeed
    PERMISSION_DENIED = "permission_denied"


@dataclass(frozen=True)
class FieldViolation:
    """One bad field of a request, named as the caller named it."""

    field: str
    description: str


@dataclass(frozen=True)
class DomainError(Exception):
    """Base of every domain refusal; never raised directly."""

    message: str
    violations: tuple[FieldViolation, ...] = field(default=())

    reason = "domain_error"
    category = Category.FAILED_PRECONDITION

    def __str__(self) -> str:
        return self.message


class InvalidArgument(DomainError):
    """The request is malformed: a bad id, amount, asset or field."""

    reason = "invalid_argument"
    category = Category.INVALID_ARGUMENT

    @classmethod
    def for_field(cls, field_name: str, description: str) -> InvalidArgument:
        return cls(f"{field_name}: {description}", (FieldViolation(field_name, description),))


class NotFound(DomainError):
    reason = "not_found"
    category = Category.NOT_FOUND


class PermissionDenied(DomainError):
    reason = "permission_denied"
    category = Category.PERMISSION_DENIED
