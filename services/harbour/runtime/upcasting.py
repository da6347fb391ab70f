"""The event store's upcasters, built from the vocabulary's steps (the composition root's job:
the store knows no domain, the domain knows no store)."""

from __future__ import annotations

from collections.abc import Mapping

from harbour.eventstore.upcasting import Upcasters
from harbour.ledger.upcasters import STEPS, Step


def vocabulary_upcasters(steps: Mapping[tuple[str, int], Step] = STEPS) -> Upcasters:
    upcasters = Upcasters()
    for (event_type, from_version), step in sorted(steps.items()):
        upcasters.register(event_type, from_version, step)
    return upcasters
