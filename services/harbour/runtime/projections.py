"""Every projection the deployment keeps (grows as services land)."""

from __future__ import annotations

from harbour.accounts.projections import Accounts, Balances
from harbour.application.folded_readmodels import FoldedStates
from harbour.collateral.projections import PolicyVersions, Prices
from harbour.eventstore.projections import Projection, StreamHeads
from harbour.lending.projections import Loans, MarginCalls
from harbour.liquidation.projections import Liquidations


def all_projections() -> list[Projection]:
    # accounts and loans fold the same margin accounts: once per client and page between them.
    folds = FoldedStates()
    return [
        StreamHeads(),
        Balances(),
        Accounts().sharing(folds),
        Prices(),
        PolicyVersions(),
        Loans().sharing(folds),
        MarginCalls(),
        Liquidations(),
    ]
