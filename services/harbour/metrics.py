"""Every metric a Harbour process exports, declared once (prometheus_client's default registry).

The code that does the work counts it with a one-line hook (the event store when it appends,
the group commit when it writes a batch, the projection runner after a page, the supervisor
when a loop changes state, the risk monitor when it screens); ``harbour.runtime.metrics``
serves the registry over HTTP and adds what is read at scrape time (the connection pools).
This module imports nothing of Harbour, so every layer may count (the event store included).

docs/runbook.md ("Observability") lists every metric and what it means.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import Counter, Gauge, Histogram

RPC_DURATION = Histogram(
    "harbour_rpc_duration_seconds",
    "Time to answer one gRPC call, by service, method and status code (refusals included)",
    ["service", "method", "code"],
)

FEED_LAG = Gauge(
    "harbour_feed_lag_events",
    "Positions between the head of the event feed and a follower's checkpoint "
    "(a read model, the risk monitor, the liquidation engine's read model)",
    ["projection"],
)

GROUP_COMMIT_BATCH = Histogram(
    "harbour_group_commit_batch_size",
    "Commands written in one statement by the group commit of a hot stream",
    ["stream"],
    buckets=(1, 2, 4, 8, 16, 32, 64),
)

COMMAND_RETRIES = Counter(
    "harbour_command_retries",
    "Commands decided again because a stream they rested on had moved, by why: "
    "version_conflict (their append lost), streams_moved (their group commit's batch found "
    "streams moved), behind (a refusal or no-op on cached states that were behind), "
    "unprepared (their reads did not cover the state a batch gave them)",
    ["reason"],
)

EVENTS_APPENDED = Counter(
    "harbour_events_appended",
    "Events this process appended to the store, by event type (a replayed command: none)",
    ["type"],
)

# The business counters: each counts the event that records the fact, where it is appended.
LIQUIDATIONS_STARTED = Counter("harbour_liquidations_started", "Liquidations started")
LIQUIDATIONS_COMPLETED = Counter("harbour_liquidations_completed", "Liquidations completed")
LIQUIDATION_FILLS = Counter("harbour_liquidation_fills", "Fills of liquidation sell orders")
MARGIN_CALLS_ISSUED = Counter("harbour_margin_calls_issued", "Margin calls issued")
EARLY_WARNINGS_ISSUED = Counter("harbour_early_warnings_issued", "Early warnings issued")
SHORTFALLS_RECOGNISED = Counter(
    "harbour_shortfalls_recognised", "Liquidations that ended with debt left (bad debt booked)"
)
BUSINESS_EVENTS: dict[str, Counter] = {
    "LiquidationStarted": LIQUIDATIONS_STARTED,
    "LiquidationCompleted": LIQUIDATIONS_COMPLETED,
    "LiquidationFillExecuted": LIQUIDATION_FILLS,
    "MarginCallIssued": MARGIN_CALLS_ISSUED,
    "EarlyWarningIssued": EARLY_WARNINGS_ISSUED,
    "ShortfallRecognised": SHORTFALLS_RECOGNISED,
}

RISK_TICKS = Counter(
    "harbour_risk_ticks", "Price moves the risk monitor screened the whole book for"
)
RISK_CHECKS = Counter("harbour_risk_checks", "Exact risk checks the risk monitor ran")

INTEREST_NOT_ACCRUED = Counter(
    "harbour_interest_accounts_not_accrued",
    "Borrowers an interest run could not accrue (refused, or a history that cannot be read); "
    "the next run tries them again",
)
INTEREST_ACCRUED_THROUGH = Gauge(
    "harbour_interest_accrued_through_seconds",
    "The day the last completed interest run over every borrower accrued through, as the Unix "
    "time of that day's start (UTC midnight of its date); alert when it falls two days behind",
)

LOOP_UP = Gauge(
    "harbour_background_loop_up",
    "1 while a background loop runs (or takes its first round), 0 while it is down",
    ["loop"],
)
LOOP_RESTARTS = Counter(
    "harbour_background_loop_restarts", "Times the supervisor restarted a failed loop", ["loop"]
)
LOOP_ROUNDS = Counter(
    "harbour_background_loop_rounds", "Rounds a background loop completed", ["loop"]
)

# A child per event type, so an append pays one lock, not a label lookup, per event.
_appended: dict[str, Counter] = {}


def count_appended(event_types: Iterable[str]) -> None:
    """Count events just appended (called by the event store after a write, never a replay)."""
    for event_type in event_types:
        child = _appended.get(event_type)
        if child is None:
            child = _appended[event_type] = EVENTS_APPENDED.labels(event_type)
        child.inc()
        business = BUSINESS_EVENTS.get(event_type)
        if business is not None:
            business.inc()
