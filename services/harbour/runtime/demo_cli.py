"""`harbour demo`: runs the story of harbour.runtime.demo against the services `harbour up`
serves (HARBOUR_HOST and HARBOUR_PORT_BASE say where), then prints one line per borrower."""

from __future__ import annotations

import asyncio
import sys

import grpc

from harbour.runtime.demo import DemoOutcome, Targets, run_demo, summary
from harbour.runtime.settings import Settings


def targets_of(settings: Settings) -> Targets:
    def at(service: str) -> str:
        return f"{settings.host}:{settings.port_of(service)}"

    return Targets(
        accounts=at("accounts"),
        collateral=at("collateral"),
        lending=at("lending"),
        liquidation=at("liquidation"),
        audit=at("audit"),
    )


def run(settings: Settings) -> int:
    targets = targets_of(settings)
    print(f"harbour demo: against the services at {targets.accounts} and the next ports")
    try:
        outcome = asyncio.run(run_demo(targets))
    except grpc.aio.AioRpcError as exc:
        print(
            f"harbour demo: {exc.code().name}: {exc.details()} — is `make up` running "
            "(development mode, the same HARBOUR_PORT_BASE)?",
            file=sys.stderr,
        )
        return 1
    except TimeoutError as exc:
        print(f"harbour demo: {exc}", file=sys.stderr)
        return 1
    print()
    print("\n".join(summary(outcome)))
    return 0 if told_the_whole_story(outcome) else 1


def told_the_whole_story(outcome: DemoOutcome) -> bool:
    """Warnings, a call, a cure, a forced sale and a deficit were all seen, and the audit held."""
    return (
        outcome.states_after_crash.get("warned") == "warning"
        and outcome.states_after_crash.get("cured") == "margin_call"
        and outcome.final_states.get("cured") == "healthy"
        and outcome.liquidations.get("sold", "").startswith("completed")
        and outcome.liquidations.get("deficit", "").startswith("deficit")
        and outcome.final_states.get("deficit") == "written_off"
        and outcome.chains_intact
        and outcome.discrepancies == 0
    )
