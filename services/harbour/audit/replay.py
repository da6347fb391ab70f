"""Replay that rebuilds state: a stream's events folded into what they mean, as a document.

An auditor asks "what did the ledger say about this client at 14:03 last Tuesday?" and wants
the answer from the raw events alone — no snapshot (a cache the services keep), no read model
(a projection that could lag or be wrong). This module folds a stream's domain events with the
same ``evolve`` functions the services use and renders the state as JSON (amounts as decimal
strings, exactly as in events):

* ``account-<client>`` — the margin account: lifecycle, risk state, flags, cash, collateral,
  principal, interest, fees, shortfall, the debt, an open call, liquidation progress;
* ``policy-collateral`` — the policy in force at the instant asked about, with every version;
* ``price-<ASSET>`` — the last accepted price and the tallies;
* ``broker-exposure`` — outstanding margin loans in total and per related group.

Pure: the caller reads the events (and verifies their chain on the way).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from harbour.ledger import events as ev
from harbour.ledger.account import MarginAccount, evolve
from harbour.ledger.codec import encode_dataclass, encode_value
from harbour.ledger.exposure import EXPOSURE_STREAM, BrokerExposure, replay_exposure
from harbour.ledger.policy import POLICY_STREAM, CollateralPolicy, PolicyHistory, evolve_policy
from harbour.ledger.prices import PRICE_STREAM_PREFIX, PriceTrack, evolve_price

ACCOUNT_PREFIX = "account-"


class NoStateForStream(ValueError):
    """A stream whose events fold into no state this module knows."""


def stream_kind(stream_id: str) -> str:
    if stream_id.startswith(ACCOUNT_PREFIX):
        return "margin_account"
    if stream_id == POLICY_STREAM:
        return "collateral_policy"
    if stream_id.startswith(PRICE_STREAM_PREFIX):
        return "price"
    if stream_id == EXPOSURE_STREAM:
        return "broker_exposure"
    raise NoStateForStream(
        f"{stream_id} folds into no state here (accounts, policy-collateral, price-<ASSET> "
        "and broker-exposure do); replay it without --state to read its events"
    )


def rebuild_account(client_id: str, history: Iterable[ev.Event]) -> MarginAccount:
    state = MarginAccount.initial(client_id)
    for event in history:
        state = evolve(state, event)
    return state


def rebuild_policy(history: Iterable[ev.Event]) -> PolicyHistory:
    policy = PolicyHistory()
    for event in history:
        policy = evolve_policy(policy, event)
    return policy


def rebuild_price(stream_id: str, history: Iterable[ev.Event]) -> PriceTrack:
    track = PriceTrack.of_stream(stream_id)
    for event in history:
        track = evolve_price(track, event)
    return track


@dataclass(frozen=True)
class Rebuilt:
    """A stream's state and its document."""

    kind: str
    state: MarginAccount | PolicyHistory | PriceTrack | BrokerExposure
    document: dict[str, Any]


def rebuild(stream_id: str, history: Iterable[ev.Event], *, instant: datetime) -> Rebuilt:
    """The state of ``stream_id`` after ``history``; ``instant`` picks the policy in force."""
    kind = stream_kind(stream_id)
    if kind == "margin_account":
        account = rebuild_account(stream_id.removeprefix(ACCOUNT_PREFIX), history)
        return Rebuilt(kind, account, account_document(account))
    if kind == "collateral_policy":
        policy = rebuild_policy(history)
        return Rebuilt(kind, policy, policy_document(policy, instant))
    if kind == "price":
        track = rebuild_price(stream_id, history)
        return Rebuilt(kind, track, encode_dataclass(track))
    exposure = replay_exposure(history)
    return Rebuilt(kind, exposure, exposure_document(exposure))


def account_document(account: MarginAccount) -> dict[str, Any]:
    """Every field of the margin account, and the debt D it adds up to."""
    document = encode_dataclass(account)
    document["debt"] = encode_value(account.debt)
    return document


def policy_document(history: PolicyHistory, instant: datetime) -> dict[str, Any]:
    in_force = history.as_of(instant)
    return {
        "in_force_at": encode_value(instant),
        "in_force": _policy(in_force),
        "latest_version": history.latest.version,
        "versions": [
            {"version": p.version, "effective_from": encode_value(p.effective_from)}
            for p in history.versions
        ],
        "proposals": [
            {
                "proposal_id": p.proposal_id,
                "state": p.state,
                "proposed_by": p.proposed_by,
                "decided_by": p.decided_by,
                "approved_version": p.approved_version,
            }
            for p in history.proposals.values()
        ],
    }


def _policy(policy: CollateralPolicy) -> dict[str, Any]:
    return {
        "version": policy.version,
        "effective_from": encode_value(policy.effective_from),
        "parameters": {p.name: p.value for p in policy.parameters()},
    }


def exposure_document(exposure: BrokerExposure) -> dict[str, Any]:
    return {
        "total": encode_value(exposure.total),
        "groups": len(exposure.by_group),
        "by_group": {group: encode_value(b) for group, b in sorted(exposure.by_group.items())},
    }
