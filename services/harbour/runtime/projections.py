"""Every projection the deployment keeps (grows as services land)."""

from __future__ import annotations

from harbour.accounts.projections import Accounts, Balances
from harbour.collateral.projections import PolicyVersions, Prices
from harbour.eventstore.projections import Projection, StreamHeads
from harbour.lending.projections import Loans, MarginCalls
from harbour.liquidation.projections import Liquidations


def all_projections() -> list[Projection]:
    return [
        StreamHeads(),
        Balances(),
        Accounts(),
        Prices(),
        PolicyVersions(),
        Loans(),
        MarginCalls(),
        Liquidations(),
    ]
