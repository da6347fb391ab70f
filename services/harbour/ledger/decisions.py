"""What a decision on a margin account produces, for every service that decides on one."""

from __future__ import annotations

from dataclasses import dataclass, field

from harbour.ledger import events as ev


@dataclass(frozen=True)
class Decision:
    """Events for ``account-<client_id>`` and for ``broker-exposure``, appended together (in
    one statement, at the versions the decision read) — or neither."""

    account: list[ev.Event] = field(default_factory=list)
    exposure: list[ev.Event] = field(default_factory=list)
