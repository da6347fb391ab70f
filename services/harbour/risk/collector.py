"""Speed machinery for big valuation batches: the cyclic garbage collector paused around one.

Valuing a batch (``harbour.ledger.valuation.value_accounts``, ``harbour.ledger.stress``) makes
only acyclic objects, all of which outlive it, so a collection in between frees nothing and only
rescans the results; on the 2-core benchmark machine that rescanning took about a third of the
time. Pausing the collector touches process-wide state, so it is done here, by the callers that
value a whole book (the ValueAccounts pages, a stress run), and never inside the pure kernel.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sized
from contextlib import contextmanager

# A batch at least this big pauses the cyclic garbage collector.
PAUSE_COLLECTOR_FROM = 1_000


@contextmanager
def collector_paused_for(batch: Sized) -> Iterator[None]:
    """Pause the cyclic garbage collector while ``batch`` is valued, if it is big enough,
    and leave it as it was found (a caller that had it paused keeps it paused)."""
    if len(batch) < PAUSE_COLLECTOR_FROM:
        yield
        return
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
