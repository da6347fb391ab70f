"""Who is calling and on whose behalf: set by the runtime's interceptor, read by servicers.

Handlers turn it into event metadata (actor, service, correlation id), so every event
records the principal that caused it. Each call also has a request id of its own (bound before
the caller is authenticated, so a refusal has one too): every log line of the call carries it
and the caller gets it back as ``x-request-id``. It names the call, not the command: a command's
``request_id`` (its idempotency key) is the caller's and goes into the events.
"""

from __future__ import annotations

import contextvars
import uuid
from dataclasses import dataclass
from typing import Any

from harbour.ledger.errors import PermissionDenied


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: who (recorded as the event actor) and what they may do."""

    name: str
    roles: frozenset[str]


@dataclass(frozen=True)
class CallContext:
    principal: Principal
    service: str
    method: str
    correlation_id: str

    def event_metadata(self, causation_id: str | None = None) -> dict[str, Any]:
        metadata = {
            "actor": self.principal.name,
            "service": self.service,
            "correlation_id": self.correlation_id,
        }
        if causation_id:
            metadata["causation_id"] = causation_id
        return metadata


_current: contextvars.ContextVar[CallContext] = contextvars.ContextVar("harbour_call")
_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "harbour_request_id", default=None
)


def current() -> CallContext:
    return _current.get()


def bind(call: CallContext) -> contextvars.Token[CallContext]:
    return _current.set(call)


def unbind(token: contextvars.Token[CallContext]) -> None:
    _current.reset(token)


def current_or_none() -> CallContext | None:
    """The call being served, or None outside a call (a background loop, the CLI)."""
    return _current.get(None)


def new_request_id() -> str:
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    return _request_id.get()


def bind_request_id(request_id: str) -> contextvars.Token[str | None]:
    return _request_id.set(request_id)


def unbind_request_id(token: contextvars.Token[str | None]) -> None:
    _request_id.reset(token)


def new_correlation_id() -> str:
    return uuid.uuid4().hex


def require_role(*roles: str) -> Principal:
    """Refuse the call unless the caller holds one of ``roles``."""
    principal = current().principal
    if principal.roles.isdisjoint(roles):
        raise PermissionDenied(
            f"{principal.name} may not call {current().method}: needs one of the roles "
            f"{', '.join(sorted(roles))}"
        )
    return principal
