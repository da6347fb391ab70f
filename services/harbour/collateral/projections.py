"""The collateral service's read models, kept from the feed.

* ``prices`` — ``latest_prices`` and ``price_observations`` from accepted observations;
* ``policy_versions`` — one row per approved version, with every parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from harbour.application.decoding import domain_event
from harbour.collateral.schema import latest_prices, policy_versions, price_observations
from harbour.eventstore.history import read_streams_on
from harbour.eventstore.model import RecordedEvent
from harbour.ledger import events as ev
from harbour.ledger.policy import POLICY_STREAM, PolicyHistory, evolve_policy
from harbour.ledger.prices import PRICE_STREAM_PREFIX


class Prices:
    name = "prices"
    tables: Sequence[sa.Table] = (latest_prices, price_observations)

    async def apply(self, conn: AsyncConnection, events: Sequence[RecordedEvent]) -> None:
        rows: list[dict[str, Any]] = []
        for recorded in events:
            if recorded.type != "PriceObserved" or not recorded.stream_id.startswith(
                PRICE_STREAM_PREFIX
            ):
                continue
            event = domain_event(recorded)
            assert isinstance(event, ev.PriceObserved)
            rows.append(
                {
                    "asset": event.base_asset,
                    "price": event.price,
                    "observed_at": event.observed_at,
                    "source": event.source,
                    "position": recorded.position,
                }
            )
        if not rows:
            return
        await conn.execute(sa.insert(price_observations), rows)
        latest: dict[str, dict[str, Any]] = {}
        for row in rows:  # feed order: the last row of an asset is its newest price
            latest[row["asset"]] = row
        insert = pg_insert(latest_prices)
        await conn.execute(
            insert.on_conflict_do_update(
                index_elements=[latest_prices.c.asset],
                set_={
                    k: insert.excluded[k] for k in ("price", "observed_at", "source", "position")
                },
            ),
            list(latest.values()),
        )


class PolicyVersions:
    """Approved versions, with the parameters in force (the history is replayed from the
    policy stream, so the row holds every parameter, not just the changed ones)."""

    name = "policy_versions"
    tables: Sequence[sa.Table] = (policy_versions,)

    async def apply(self, conn: AsyncConnection, events: Sequence[RecordedEvent]) -> None:
        relevant = [e for e in events if e.stream_id == POLICY_STREAM]
        if not any(e.type == "PolicyChangeApproved" for e in relevant):
            return
        history = await self._history(conn, relevant[0])
        for recorded in relevant:
            event = domain_event(recorded)
            history = evolve_policy(history, event)
            if isinstance(event, ev.PolicyChangeApproved):
                proposal = history.proposals[event.proposal_id]
                policy = history.latest
                await conn.execute(
                    sa.insert(policy_versions).values(
                        version=policy.version,
                        effective_from=policy.effective_from,
                        proposal_id=event.proposal_id,
                        proposed_by=proposal.proposed_by,
                        approved_by=event.approved_by,
                        parameters={p.name: p.value for p in policy.parameters()},
                        position=recorded.position,
                    )
                )

    async def _history(self, conn: AsyncConnection, first: RecordedEvent) -> PolicyHistory:
        # The policy stream is short (a change is a governed, human act): replay it up to the
        # page's first event, through the store's history reader and the page's upcasters.
        before = await read_streams_on(
            conn, [POLICY_STREAM], before_position=first.position, upcasters=first.upcaster
        )
        history = PolicyHistory()
        for recorded in before:
            history = evolve_policy(history, domain_event(recorded))
        return history
