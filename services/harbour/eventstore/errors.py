"""Errors the event store raises. It knows no domain, so these are about streams and requests."""

from __future__ import annotations


class EventStoreError(Exception):
    """Base of every event-store refusal."""


class InvalidAppend(EventStoreError):
    """The append itself is malformed (bad stream id, version, type or non-JSON data).

    ``field`` names the offending argument so the transport can report a field violation.
    """

    def __init__(self, field: str, description: str) -> None:
        super().__init__(f"{field}: {description}")
        self.field = field
        self.description = description


class ConcurrencyConflict(EventStoreError):
    """``expected_version`` did not match: another writer got there first. Reload and retry."""

    def __init__(self, stream_id: str, expected_version: int, actual_version: int | None) -> None:
        actual = "unknown" if actual_version is None else str(actual_version)
        super().__init__(
            f"stream {stream_id!r} is at version {actual}, not the expected {expected_version}; "
            "reload the stream and retry"
        )
        self.stream_id = stream_id
        self.expected_version = expected_version
        self.actual_version = actual_version


class RequestIdReused(EventStoreError):
    """A ``request_id`` already applied to a different command (different fingerprint)."""

    def __init__(self, request_id: str) -> None:
        super().__init__(
            f"request_id {request_id!r} was already used for a different command; "
            "use a fresh request_id for a new command"
        )
        self.request_id = request_id


class BatchNotApplied(EventStoreError):
    """A batch of commands was not appended, all or nothing. ``stale`` names the streams that
    were not at their expected version; empty means another reason (a request id already
    logged, a lost race on an index): the commands must then be applied one by one."""

    def __init__(self, stale: frozenset[str]) -> None:
        reason = f"streams moved: {', '.join(sorted(stale))}" if stale else "apply one by one"
        super().__init__(f"batch not appended ({reason})")
        self.stale = stale
