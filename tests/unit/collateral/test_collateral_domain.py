"""Prices and the governed policy as given/when/then: given events, when a command, then
events or a refusal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from harbour.collateral.domain import (
    ApprovePolicyChange,
    PolicyContext,
    PriceContext,
    ProposePolicyChange,
    RecordPrice,
    RejectPolicyChange,
    decide_policy,
    decide_price,
)
from harbour.ledger import events as ev
from harbour.ledger.errors import (
    EffectiveInstantPassed,
    HaircutBelowFloor,
    InvalidArgument,
    MalformedDecimal,
    PolicyProposalNotFound,
    ProposalAlreadyExists,
    ProposalNotPending,
    ProposalSuperseded,
    SameMakerAndChecker,
    UnknownAsset,
    UnknownPolicyParameter,
)
from harbour.ledger.policy import DEFAULT_POLICY, PolicyHistory, evolve_policy
from harbour.ledger.prices import PriceTrack, evolve_price

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)


def track(*prices: tuple[str, datetime]) -> PriceTrack:
    state = PriceTrack("BTC")
    for price, at in prices:
        state = evolve_price(state, ev.PriceObserved("BTC", "HKD", Decimal(price), at, "feed"))
    return state


def decide(state: PriceTrack, price: str, at: datetime, now: datetime = NOW) -> list[ev.Event]:
    return decide_price(
        state, RecordPrice("BTC", Decimal(price), at, "feed"), PriceContext(now, DEFAULT_POLICY)
    )


# ------------------------------------------------------------------------------ prices


def test_a_first_price_is_accepted() -> None:
    (event,) = decide(PriceTrack("BTC"), "650000.00", NOW - timedelta(seconds=1))
    assert event == ev.PriceObserved(
        "BTC", "HKD", Decimal("650000.00"), NOW - timedelta(seconds=1), "feed"
    )


def test_an_older_observation_is_recorded_as_rejected_out_of_order() -> None:
    state = track(("650000", NOW - timedelta(seconds=5)))
    (event,) = decide(state, "651000", NOW - timedelta(seconds=10))
    assert isinstance(event, ev.PriceRejected)
    assert event.reason == "out_of_order"
    assert event.last_price == Decimal("650000")
    assert evolve_price(state, event).last == state.last  # never becomes the price


def test_the_same_instant_again_is_out_of_order() -> None:
    state = track(("650000", NOW - timedelta(seconds=5)))
    (event,) = decide(state, "650000", NOW - timedelta(seconds=5))
    assert isinstance(event, ev.PriceRejected) and event.reason == "out_of_order"


@pytest.mark.parametrize(
    ("price", "rejected"),
    [("975000", False), ("975001", True), ("325000", False), ("324999", True)],
)
def test_a_jump_beyond_the_band_of_a_fresh_price_is_rejected(price: str, rejected: bool) -> None:
    # band 50% of 650,000 = 325,000: 975,000 and 325,000 are on the edge, still accepted.
    state = track(("650000", NOW - timedelta(seconds=30)))
    (event,) = decide(state, price, NOW)
    assert isinstance(event, ev.PriceRejected) is rejected
    if rejected:
        assert isinstance(event, ev.PriceRejected) and event.reason == "jump_beyond_band"


def test_after_a_gap_longer_than_staleness_the_price_re_anchors() -> None:
    state = track(("650000", NOW - timedelta(seconds=121)))
    (event,) = decide(state, "100000", NOW)
    assert isinstance(event, ev.PriceObserved)


def test_a_future_observation_is_invalid() -> None:
    with pytest.raises(InvalidArgument, match="observed_at"):
        decide(PriceTrack("BTC"), "650000", NOW + timedelta(seconds=6))


def test_the_reporting_currency_has_no_price() -> None:
    with pytest.raises(InvalidArgument, match="reporting currency"):
        decide_price(
            PriceTrack("HKD"),
            RecordPrice("HKD", Decimal(1), NOW, "feed"),
            PriceContext(NOW, DEFAULT_POLICY),
        )


# ------------------------------------------------------------------------------ policy


def params(**values: str) -> tuple[ev.PolicyParameter, ...]:
    return tuple(ev.PolicyParameter(k.replace("__", "."), v) for k, v in values.items())


def history(*events: ev.Event) -> PolicyHistory:
    state = PolicyHistory()
    for event in events:
        state = evolve_policy(state, event)
    return state


def propose(
    state: PolicyHistory,
    parameters: tuple[ev.PolicyParameter, ...],
    *,
    proposal_id: str = "P1",
    effective_from: datetime = LATER,
    maker: str = "alice",
) -> list[ev.Event]:
    command = ProposePolicyChange(proposal_id, parameters, effective_from)
    return decide_policy(state, command, PolicyContext(NOW, maker))


def approve(state: PolicyHistory, proposal_id: str = "P1", checker: str = "bob") -> list[ev.Event]:
    return decide_policy(state, ApprovePolicyChange(proposal_id), PolicyContext(NOW, checker))


def test_version_one_is_the_default_policy_from_the_beginning() -> None:
    state = PolicyHistory()
    assert state.as_of(datetime(1999, 1, 1, tzinfo=UTC)) == DEFAULT_POLICY
    assert DEFAULT_POLICY.haircut("BTC") == Decimal("0.60")
    assert DEFAULT_POLICY.haircut("ETH") == Decimal("0.65")
    assert DEFAULT_POLICY.haircut("0700.HK") == 1  # a security the policy does not list


def test_maker_proposes_checker_approves_and_it_takes_effect_from_the_stated_instant() -> None:
    proposed = propose(PolicyHistory(), params(haircut__BTC="0.70", va_share_cap="1"))
    assert proposed == [
        ev.PolicyChangeProposed(
            "P1", 1, params(haircut__BTC="0.70", va_share_cap="1"), LATER, "alice"
        )
    ]
    approved = approve(history(*proposed))
    assert approved == [ev.PolicyChangeApproved("P1", 2, "bob", LATER)]
    state = history(*proposed, *approved)
    just_before = state.as_of(LATER - timedelta(microseconds=1))
    at = state.as_of(LATER)
    assert just_before.version == 1 and just_before.haircut("BTC") == Decimal("0.60")
    assert at.version == 2 and at.haircut("BTC") == Decimal("0.70")
    assert at.va_share_cap == 1 and at.haircut("ETH") == Decimal("0.65")  # the rest kept


def test_the_maker_may_not_approve_their_own_change() -> None:
    state = history(*propose(PolicyHistory(), params(haircut__BTC="0.70")))
    with pytest.raises(SameMakerAndChecker):
        approve(state, checker="alice")


def test_a_rejected_proposal_can_no_longer_be_approved() -> None:
    state = history(*propose(PolicyHistory(), params(haircut__BTC="0.70")))
    rejected = decide_policy(state, RejectPolicyChange("P1", "too soon"), PolicyContext(NOW, "bob"))
    assert rejected == [ev.PolicyChangeRejected("P1", "bob", "too soon")]
    with pytest.raises(ProposalNotPending):
        approve(history(*propose(PolicyHistory(), params(haircut__BTC="0.70")), *rejected))


def test_unknown_and_repeated_proposals() -> None:
    with pytest.raises(PolicyProposalNotFound):
        approve(PolicyHistory(), "nope")
    state = history(*propose(PolicyHistory(), params(haircut__BTC="0.70")))
    with pytest.raises(ProposalAlreadyExists):
        propose(state, params(haircut__BTC="0.75"))


def test_a_proposal_drafted_against_an_older_version_is_superseded() -> None:
    first = propose(PolicyHistory(), params(haircut__BTC="0.70"), proposal_id="P1")
    second = propose(history(*first), params(haircut__ETH="0.70"), proposal_id="P2")
    state = history(*first, *second, *approve(history(*first, *second), "P1"))
    with pytest.raises(ProposalSuperseded, match="version 2"):
        approve(state, "P2")


def test_policies_are_never_retroactive() -> None:
    with pytest.raises(EffectiveInstantPassed):
        propose(PolicyHistory(), params(haircut__BTC="0.70"), effective_from=NOW - timedelta(1))
    # A proposal approved after its stated instant takes effect at the approval, not before.
    proposed = propose(PolicyHistory(), params(haircut__BTC="0.70"), effective_from=LATER)
    approval = LATER + timedelta(hours=2)
    approved = decide_policy(
        history(*proposed), ApprovePolicyChange("P1"), PolicyContext(approval, "bob")
    )
    assert approved == [ev.PolicyChangeApproved("P1", 2, "bob", approval)]
    state = history(*proposed, *approved)
    assert state.as_of(LATER + timedelta(hours=1)).version == 1
    assert state.as_of(approval).version == 2


def test_a_version_may_not_take_effect_before_the_latest_one() -> None:
    first = propose(PolicyHistory(), params(haircut__BTC="0.70"), effective_from=LATER)
    state = history(*first, *approve(history(*first)))
    with pytest.raises(EffectiveInstantPassed, match="latest version"):
        propose(state, params(haircut__BTC="0.75"), proposal_id="P2", effective_from=NOW)


@pytest.mark.parametrize(
    ("parameters", "error", "field"),
    [
        (params(haircut__BTC="0.59"), HaircutBelowFloor, "parameters[0].value"),
        (params(haircut__ETH="0.10"), HaircutBelowFloor, "parameters[0].value"),
        (params(haircut__BTC="1.01"), MalformedDecimal, "parameters[0].value"),
        (params(haircut__USD="-0.1"), MalformedDecimal, "parameters[0].value"),
        (params(va_share_cap="0.5", haircut__BTC="abc"), MalformedDecimal, "parameters[1].value"),
        (params(haircut__XYZ="0.5"), UnknownAsset, "parameters[0].name"),
        (params(interest_rate="0.05"), UnknownPolicyParameter, "parameters[0].name"),
        (params(margin_call__deadline_business_days="4"), InvalidArgument, "parameters[0].value"),
        (params(utilisation__warning="1.2"), MalformedDecimal, "parameters[0].value"),
        (params(utilisation__liquidation_target="1.00"), InvalidArgument, "parameters"),
        (params(credit__minimum_grade="Z"), InvalidArgument, "parameters[0].value"),
        ((), InvalidArgument, "parameters"),
    ],
)
def test_bad_parameters_are_refused_at_proposal_naming_the_field(
    parameters: tuple[ev.PolicyParameter, ...], error: type[Exception], field: str
) -> None:
    with pytest.raises(error) as raised:
        propose(PolicyHistory(), parameters)
    assert isinstance(raised.value, InvalidArgument)
    assert raised.value.violations[0].field == field


def test_a_parameter_given_twice_is_refused() -> None:
    twice = (ev.PolicyParameter("haircut.BTC", "0.7"), ev.PolicyParameter("haircut.BTC", "0.8"))
    with pytest.raises(InvalidArgument, match="twice"):
        propose(PolicyHistory(), twice)


def test_every_parameter_round_trips_through_its_text() -> None:
    from harbour.ledger.policy import apply_parameters

    rebuilt = apply_parameters(
        DEFAULT_POLICY,
        DEFAULT_POLICY.parameters(),
        version=1,
        effective_from=DEFAULT_POLICY.effective_from,
    )
    assert rebuilt == DEFAULT_POLICY


def test_a_security_becomes_eligible_when_the_policy_lists_its_haircut() -> None:
    proposed = propose(PolicyHistory(), params(**{"haircut.0700.HK": "0.30"}))
    state = history(*proposed, *approve(history(*proposed)))
    policy = state.as_of(LATER)
    assert policy.haircut("0700.HK") == Decimal("0.30") and policy.is_eligible("0700.HK")
    assert not policy.is_eligible("0005.HK")


def test_a_virtual_asset_dropped_from_the_eligible_list_gets_a_full_haircut() -> None:
    proposed = propose(PolicyHistory(), params(eligible_virtual_assets="BTC"))
    policy = history(*proposed, *approve(history(*proposed))).as_of(LATER)
    assert policy.haircut("ETH") == 1 and policy.haircut("BTC") == Decimal("0.60")
