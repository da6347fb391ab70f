"""Which clients the limit monitor decides on after a page, and the cause each is told.

A page can hold a client's own flag (the monitor's last ConcentrationLimitBreached, which only
asks for a re-measure) and a move of its group (a repayment) together: the repayment is what
changed the figure, so the clearing event must say "repayment", not "recheck". CI once saw
"recheck" when the flag and the repayment landed in one page; this pins the rule down without
depending on how the feed happens to be paged.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from harbour.ledger import limits
from harbour.ledger.limits import LimitFigure
from harbour.ledger.money import Money
from harbour.lending.limits import clients_due

LIMIT = Money.of("HKD", "100.00")


def figure(group: str, measured: str) -> LimitFigure:
    return LimitFigure(limits.SINGLE_CLIENT, group, Money.of("HKD", measured), LIMIT)


def unmeasured(group: str) -> LimitFigure:
    raise AssertionError(f"{group} should have been measured by the page")


@dataclass(frozen=True)
class Case:
    """One page's outcome: who it touched (and why), the groups of the clients concerned,
    the flags standing, the figures of the groups it moved and what moved them."""

    touched: dict[str, str]
    group_of: dict[str, str]
    flagged: dict[str, str]
    figures: dict[str, LimitFigure]
    causes: dict[str, str]
    otherwise: str
    due: dict[str, str]  # what the monitor must decide, and with which cause


CASES = {
    # Its own breach flag was in the page, and the repayment that brought it within the limit.
    "own flag and a repayment: the repayment": Case(
        touched={"C1": limits.CAUSE_RECHECK},
        group_of={"C1": "C1"},
        flagged={"C1": "C1"},
        figures={"C1": figure("C1", "90.00")},
        causes={"C1": limits.CAUSE_REPAYMENT},
        otherwise=limits.CAUSE_RECHECK,
        due={"C1": limits.CAUSE_REPAYMENT},
    ),
    # It left the group in this page: its own cause is kept.
    "a cause of its own is kept": Case(
        touched={"C1": limits.CAUSE_GROUP_CHANGE},
        group_of={"C1": "C1"},
        flagged={"C1": "G1"},
        figures={"C1": figure("C1", "90.00")},
        causes={"C1": limits.CAUSE_REPAYMENT},
        otherwise=limits.CAUSE_PRICE,
        due={"C1": limits.CAUSE_GROUP_CHANGE},
    ),
    # C2 is flagged already; G2 is within its limit.
    "breached members not flagged yet": Case(
        touched={},
        group_of={"C1": "G1", "C2": "G1", "C3": "G2"},
        flagged={"C2": "G1"},
        figures={"G1": figure("G1", "150.00"), "G2": figure("G2", "50.00")},
        causes={"G1": limits.CAUSE_DRAW},
        otherwise=limits.CAUSE_PRICE,
        due={"C1": limits.CAUSE_DRAW},
    ),
    # G2 is still over; G3 did not move in this page, so C3 is left alone.
    "flagged clients back within their limit": Case(
        touched={},
        group_of={"C1": "G1", "C2": "G2"},
        flagged={"C1": "G1", "C2": "G2", "C3": "G3"},
        figures={"G1": figure("G1", "80.00"), "G2": figure("G2", "120.00")},
        causes={},
        otherwise=limits.CAUSE_PRICE,
        due={"C1": limits.CAUSE_PRICE},
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_who_is_decided_after_a_page_and_with_which_cause(case: Case) -> None:
    due = clients_due(
        case.touched,
        case.group_of,
        case.flagged,
        case.figures,
        unmeasured,
        case.causes,
        case.otherwise,
        every_group=False,
    )
    assert due == case.due


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
