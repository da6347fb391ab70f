"""`harbour demo`: runs the story of harbour.runtime.demo against the services `harbour up`
serves (HARBOUR_HOST and HARBOUR_PORT_BASE say where), prints one line per borrower, and writes
each borrower's report and the book's (harbour.audit.report, from raw events in the database
`harbour up` uses) into HARBOUR_DEMO_REPORTS or ./harbour-demo-reports."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import grpc

from harbour.eventstore.store import EventStore
from harbour.runtime.demo import DemoOutcome, Targets, run_demo, summary
from harbour.runtime.settings import Settings

REPORTS_DIR = "harbour-demo-reports"


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
    directory = Path(os.environ.get("HARBOUR_DEMO_REPORTS", REPORTS_DIR))
    from harbour.runtime.cli import database_url

    with database_url(settings) as url:
        written = asyncio.run(reports_from(replace(settings, database_url=url), outcome, directory))
    print(f"reports: {', '.join(str(p) for p in written)}")
    return 0 if told_the_whole_story(outcome) else 1


async def reports_from(settings: Settings, outcome: DemoOutcome, directory: Path) -> list[Path]:
    from harbour.runtime.server import open_runtime, system_clock

    runtime = await open_runtime(settings)
    try:
        return await write_reports(runtime.store, outcome, directory, system_clock())
    finally:
        await runtime.database.close()


async def write_reports(
    store: EventStore, outcome: DemoOutcome, directory: Path, now: datetime
) -> list[Path]:
    """Each demo borrower's account report and the book's, as self-contained HTML pages."""
    from harbour.audit.report import (
        read_account_report,
        read_book_report,
        render_account,
        render_book,
    )

    await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
    written: list[Path] = []
    for client in outcome.clients.values():
        account = await read_account_report(store, client, instant=now, as_of=None)
        written.append(directory / f"{client}.html")
        written[-1].write_text(render_account(account, generated_at=now), encoding="utf-8")
    book = await read_book_report(store, instant=now, as_of=None)
    written.append(directory / "book.html")
    written[-1].write_text(render_book(book, generated_at=now), encoding="utf-8")
    return written


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
