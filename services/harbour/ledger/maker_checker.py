"""Maker-checker: a proposal is decided only while pending, and only by another principal.

Policy changes, corrections and credit facts decide their proposals through
:func:`pending_for_checker`, so the rule and its refusals are stated once: an unknown proposal
(the caller's ``NotFound``), one approved or rejected already (the caller's "not pending"
refusal), and a checker who is the maker (``same_maker_and_checker``, PERMISSION_DENIED).
"""

from __future__ import annotations

from typing import Protocol, TypeVar

from harbour.ledger.errors import DomainError, SameMakerAndChecker


class Proposal(Protocol):
    @property
    def proposed_by(self) -> str: ...

    @property
    def state(self) -> str: ...  # "pending" until it is decided


P = TypeVar("P", bound=Proposal)


def pending_for_checker(
    proposal: P | None,
    *,
    what: str,
    checker: str,
    not_found: type[DomainError],
    not_pending: type[DomainError],
) -> P:
    """``proposal`` (described as ``what`` in refusals), refused unless it exists, is pending
    and ``checker`` is not the principal who proposed it."""
    if proposal is None:
        raise not_found(f"no {what}")
    if proposal.state != "pending":
        raise not_pending(f"{what} was {proposal.state} already")
    if proposal.proposed_by == checker:
        raise SameMakerAndChecker(
            f"{checker} proposed {what}: a different principal must decide it"
        )
    return proposal
