"""Credit facts approved by a second principal, for tests and tools that onboard borrowers.

A credit assessment, a credit limit and a professional-investor status take effect only when a
principal other than the one who proposed them approves them (maker-checker, docs/domain.md).
Onboarding proposes the grade and the limit it is given, as ``onboarding-credit-assessment``
and ``onboarding-credit-limit``; until they are approved the client may not borrow. These
helpers are that second principal:

    await accounts.OnboardClient(request, metadata=OPERATOR)         # the maker
    await approve_client_facts(accounts, client_id)                  # the checker

Over gRPC the checker is whoever ``metadata`` names: by default the development header
(``CHECKER``: a stack in development mode, as ``harbour_stack`` runs in process). A stack with
authentication on needs the checker's own credentials: ``harbour_stack`` gives them as
``stack.checker_metadata`` in either mode (in containers, a bearer token of its own), so
``approve_client_facts(stack.accounts, client_id, metadata=stack.checker_metadata)`` works in
both. In process (pure decisions, or the accounts handlers) the checker is
:data:`CHECKER_NAME`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from harbour.accounts import domain
from harbour.accounts.handlers import AccountHandlers
from harbour.api.v1 import accounts_pb2
from harbour.ledger import events as ev
from harbour.ledger.account import MarginAccount, evolve
from harbour.testing import CHECKER_HEADER, CHECKER_NAME

__all__ = [
    "CHECKER",
    "CHECKER_NAME",
    "MAKER_NAME",
    "ONBOARDING_PROPOSALS",
    "approval_requests",
    "approve_client_facts",
    "approve_pending",
    "approved",
    "onboarded",
    "recorded",
]

MAKER_NAME = "credit-maker"
# The development header naming the checker (CHECKER_NAME): a credit officer with `risk`.
CHECKER: tuple[tuple[str, str], ...] = CHECKER_HEADER
ONBOARDING_PROPOSALS = (domain.ONBOARDING_ASSESSMENT, domain.ONBOARDING_LIMIT)


# ----------------------------------------------------------------------------- pure


def approved(
    state: MarginAccount, context: domain.Context, *, checker: str = CHECKER_NAME
) -> list[ev.Event]:
    """The events approving every credit fact pending on ``state``, decided by ``checker``."""
    events: list[ev.Event] = []
    as_checker = replace(context, actor=checker)
    for proposal in state.pending_fact_proposals:
        command = domain.ApproveClientFact(state.client_id, proposal.proposal_id)
        decided = domain.decide(state, command, as_checker)
        for event in decided:
            state = evolve(state, event)
        events += decided
    return events


def recorded(
    state: MarginAccount,
    fact: domain.CreditFact,
    context: domain.Context,
    *,
    proposal_id: str = "",
    maker: str = MAKER_NAME,
    checker: str = CHECKER_NAME,
) -> list[ev.Event]:
    """The events of ``fact`` proposed by ``maker`` and approved by ``checker``: a credit fact
    in effect, as a direct RecordCreditAssessment (or SetCreditLimit, ...) once recorded it.
    The proposal id defaults to ``credit-fact-<n>``, n counting the account's proposals."""
    proposal_id = proposal_id or f"credit-fact-{len(state.fact_proposals) + 1}"
    proposal = domain.ProposeClientFact(state.client_id, proposal_id, fact)
    events = domain.decide(state, proposal, replace(context, actor=maker))
    for event in events:
        state = evolve(state, event)
    approval = domain.ApproveClientFact(state.client_id, proposal_id)
    return events + domain.decide(state, approval, replace(context, actor=checker))


def onboarded(
    command: domain.OnboardClient, context: domain.Context, *, checker: str = CHECKER_NAME
) -> list[ev.Event]:
    """The events of onboarding ``command`` and approving the credit facts it proposed: a
    client as it stood when onboarding recorded its grade and limit directly."""
    events = domain.decide(MarginAccount.initial(command.client_id), command, context)
    state = MarginAccount.initial(command.client_id)
    for event in events:
        state = evolve(state, event)
    return events + approved(state, context, checker=checker)


# ----------------------------------------------------------------------------- in process


async def approve_pending(
    handlers: AccountHandlers, client_id: str, *, checker: str = CHECKER_NAME
) -> None:
    """Approve every credit fact pending on the client's account, through the handlers."""
    state = (await handlers.load(client_id)).state
    for proposal in state.pending_fact_proposals:
        request = {"rpc": "ApproveClientFact", "client_id": client_id, "id": proposal.proposal_id}
        await handlers.handle(
            domain.ApproveClientFact(client_id, proposal.proposal_id),
            request_id=f"approve-{client_id}-{proposal.proposal_id}",
            request=request,
            metadata={"actor": checker},
            actor=checker,
        )


# ----------------------------------------------------------------------------- over gRPC


def approval_requests(
    client_id: str, proposal_ids: Iterable[str] = ONBOARDING_PROPOSALS
) -> list[accounts_pb2.ApproveClientFactRequest]:
    """One ApproveClientFact per proposal, each with a request id of its own (a retry is the
    same request): for a blocking stub, call each with ``metadata=CHECKER``."""
    return [
        accounts_pb2.ApproveClientFactRequest(
            request_id=f"approve-{client_id}-{proposal_id}",
            client_id=client_id,
            proposal_id=proposal_id,
        )
        for proposal_id in proposal_ids
    ]


async def approve_client_facts(
    accounts: Any,
    client_id: str,
    proposal_ids: Iterable[str] = ONBOARDING_PROPOSALS,
    *,
    metadata: Sequence[tuple[str, str]] = CHECKER,
) -> list[accounts_pb2.ApproveClientFactResponse]:
    """Approve ``proposal_ids`` (default: onboarding's grade and limit) on an asyncio
    AccountsService stub, as the checker ``metadata`` names."""
    return [
        await accounts.ApproveClientFact(request, metadata=tuple(metadata))
        for request in approval_requests(client_id, proposal_ids)
    ]
