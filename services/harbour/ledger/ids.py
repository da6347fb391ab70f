"""Identifiers: client ids and the stream that holds a client's margin account.

Client ids are chosen by the onboarding system, never derived from personal data. They appear
inside ledger account names (``client:<id>:cash``) and stream ids (``account-<id>``), so the
alphabet excludes ``:`` and whitespace.
"""

from __future__ import annotations

import re

from harbour.ledger.errors import MalformedIdentifier

MAX_ID_LENGTH = 64
ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}"
_ID = re.compile(rf"^{ID_PATTERN}$")

ACCOUNT_STREAM_PREFIX = "account-"


def check_id(value: object, field: str) -> str:
    """Any business identifier (client, call, liquidation, proposal): refused unless sane."""
    if not isinstance(value, str) or not _ID.fullmatch(value):
        shown = repr(value)[:80]
        raise MalformedIdentifier.for_field(
            field,
            f"{shown} is not an identifier: 1-{MAX_ID_LENGTH} letters, digits or . _ @ -",
        )
    return value


def client_id(value: object, field: str = "client_id") -> str:
    return check_id(value, field)


def account_stream(client: str) -> str:
    """The stream holding the client's margin account: the consistency boundary."""
    return ACCOUNT_STREAM_PREFIX + client_id(client)
