"""Logging for every Harbour process, configured in one place: ``configure_logging``.

HARBOUR_LOG_FORMAT=json (the default of `harbour serve` and `harbour project`, so of every
process `harbour up` starts) writes one JSON object per line to stderr: ``timestamp`` (UTC,
ISO 8601), ``level``, ``logger``, ``message``, and whatever the line adds as fields (the RPC
outcome line adds ``method``, ``code``, ``duration_ms``, ``reason``; a failure adds
``exc_info``). Inside a gRPC call, every line — the handler's, the store's, the error
mapper's — also carries ``request_id``, ``principal``, ``service``, ``method`` and
``correlation_id``, added by :class:`CallFields` from ``harbour.application.caller``'s
context.

HARBOUR_LOG_FORMAT=text (the default of interactive commands: `up`, `migrate`, `audit`...)
writes the classic ``time level logger message`` line, followed by the call's request id,
principal and correlation id when there are any.

The JSON comes from python-json-logger (a formatter for the standard library's logging, which
every module already uses), not from hand-written code.
"""

from __future__ import annotations

import logging
import sys
from typing import IO

from pythonjsonlogger.json import JsonFormatter

from harbour.application import caller
from harbour.runtime.settings import Settings

# What a line carries inside a call, in the order the text format shows them.
CALL_FIELDS = ("request_id", "principal", "service", "method", "correlation_id")
TEXT_FIELDS = ("request_id", "principal", "correlation_id")  # the message names the method
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
# The one handler this module installs carries this mark, so configuring again replaces it.
_MARK = "_harbour_handler"


class CallFields(logging.Filter):
    """Adds the current call's fields to every record (none outside a call). A field the line
    set itself (``extra=``) is kept: the outcome line names the method it answers."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = caller.current_request_id()
        if request_id is not None:
            _set_missing(record, "request_id", request_id)
        call = caller.current_or_none()
        if call is not None:
            _set_missing(record, "principal", call.principal.name)
            _set_missing(record, "service", call.service)
            _set_missing(record, "method", call.method)
            _set_missing(record, "correlation_id", call.correlation_id)
        return True


def _set_missing(record: logging.LogRecord, name: str, value: str) -> None:
    if name not in record.__dict__:
        setattr(record, name, value)


class TextFormatter(logging.Formatter):
    """The classic line, then ``request_id=... principal=... correlation_id=...`` in a call."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        fields = [
            f"{name}={value}"
            for name in TEXT_FIELDS
            if (value := record.__dict__.get(name)) not in (None, "")
        ]
        return f"{line} [{' '.join(fields)}]" if fields else line


def json_formatter() -> logging.Formatter:
    return JsonFormatter(
        "%(levelname)s %(name)s %(message)s",
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp=True,  # "timestamp": record time, UTC, ISO 8601
        json_ensure_ascii=False,
    )


def configure_logging(
    settings: Settings, *, default_format: str = "text", stream: IO[str] | None = None
) -> logging.Handler:
    """Send every logger's lines to ``stream`` (stderr) in HARBOUR_LOG_FORMAT, else in
    ``default_format``, at HARBOUR_LOG_LEVEL; replaces the handler an earlier call installed
    (never anyone else's). Returns the handler."""
    chosen = settings.log_format or default_format
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(json_formatter() if chosen == "json" else TextFormatter(TEXT_FORMAT))
    handler.addFilter(CallFields())
    setattr(handler, _MARK, True)
    root = logging.getLogger()
    for installed in [h for h in root.handlers if getattr(h, _MARK, False)]:
        root.removeHandler(installed)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    # Alembic announces each of its plugins at INFO when imported: noise before every answer.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    return handler
