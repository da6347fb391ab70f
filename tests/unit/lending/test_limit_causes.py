"""Which clients the limit monitor decides on after a page, and the cause each is told.

A page can hold a client's own flag (the monitor's last ConcentrationLimitBreached, which only
asks for a re-measure) and a move of its group (a repayment) together: the repayment is what
changed the figure, so the clearing event must say "repayment", not "recheck". CI once saw
"recheck" when the flag and the repayment landed in one page; this pins the rule down without
depending on how the feed happens to be paged.
"""

from __future__ import annotations

from harbour.ledger import limits
from harbour.ledger.limits import LimitFigure
from harbour.ledger.money import Money
from harbour.lending.limits import clients_due

LIMIT = Money.of("HKD", "100.00")


def figure(group: str, measured: str) -> LimitFigure:
    return LimitFigure(limits.SINGLE_CLIENT, group, Money.of("HKD", measured), LIMIT)


def unmeasured(group: str) -> LimitFigure:
    raise AssertionError(f"{group} should have been measured by the page")


def test_a_client_touched_only_by_its_own_flag_takes_its_groups_cause() -> None:
    due = clients_due(
        touched={"C1": limits.CAUSE_RECHECK},  # its own breach flag was in the page
        group_of={"C1": "C1"},
        flagged={"C1": "C1"},
        figures={"C1": figure("C1", "90.00")},  # the repayment brought it within the limit
        measure=unmeasured,
        causes={"C1": limits.CAUSE_REPAYMENT},
        otherwise=limits.CAUSE_RECHECK,
        every_group=False,
    )
    assert due == {"C1": limits.CAUSE_REPAYMENT}


def test_a_cause_of_the_clients_own_is_kept() -> None:
    due = clients_due(
        touched={"C1": limits.CAUSE_GROUP_CHANGE},  # it left the group in this page
        group_of={"C1": "C1"},
        flagged={"C1": "G1"},
        figures={"C1": figure("C1", "90.00")},
        measure=unmeasured,
        causes={"C1": limits.CAUSE_REPAYMENT},
        otherwise=limits.CAUSE_PRICE,
        every_group=False,
    )
    assert due == {"C1": limits.CAUSE_GROUP_CHANGE}


def test_breached_members_not_yet_flagged_take_the_cause_of_their_group() -> None:
    due = clients_due(
        touched={},
        group_of={"C1": "G1", "C2": "G1", "C3": "G2"},
        flagged={"C2": "G1"},  # already flagged: nothing to decide for it
        figures={"G1": figure("G1", "150.00"), "G2": figure("G2", "50.00")},
        measure=unmeasured,
        causes={"G1": limits.CAUSE_DRAW},
        otherwise=limits.CAUSE_PRICE,
        every_group=False,
    )
    assert due == {"C1": limits.CAUSE_DRAW}


def test_flagged_clients_within_their_limit_are_cleared_by_what_moved_the_group() -> None:
    due = clients_due(
        touched={},
        group_of={"C1": "G1", "C2": "G2"},
        flagged={"C1": "G1", "C2": "G2", "C3": "G3"},
        figures={"G1": figure("G1", "80.00"), "G2": figure("G2", "120.00")},
        measure=unmeasured,  # G3 did not move in this page: C3 is left alone
        causes={},
        otherwise=limits.CAUSE_PRICE,
        every_group=False,
    )
    assert due == {"C1": limits.CAUSE_PRICE}


def test_every_group_measures_a_flagged_clients_group_the_page_did_not_name() -> None:
    measured: list[str] = []

    def measure(group: str) -> LimitFigure:
        measured.append(group)
        return figure(group, "10.00")

    due = clients_due(
        touched={},
        group_of={},
        flagged={"C3": "G3"},
        figures={},
        measure=measure,
        causes={},
        otherwise=limits.CAUSE_BROKER_FIGURES,
        every_group=True,
    )
    assert (due, measured) == ({"C3": limits.CAUSE_BROKER_FIGURES}, ["G3"])
