"""Every projection the deployment keeps (grows as services land)."""

from __future__ import annotations

from harbour.accounts.projections import Accounts, Balances
from harbour.eventstore.projections import Projection, StreamHeads


def all_projections() -> list[Projection]:
    return [StreamHeads(), Balances(), Accounts()]
