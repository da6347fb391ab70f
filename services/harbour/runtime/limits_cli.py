"""``harbour limits report [--as-of ISO]``: every limit, measured now or as of an instant.

Reads the event store and the limit monitor's read models directly (no service needs to run),
through the same function as the lending service's ``GetLimitReport``.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime

from harbour.ledger.limits import LimitFigure
from harbour.runtime.settings import Settings

HEADER = ("limit", "subject", "measured HKD", "limit HKD", "headroom HKD", "state")


def add_arguments(limits: argparse.ArgumentParser) -> None:
    limits.add_argument("action", choices=("report",))
    limits.add_argument(
        "--as-of", type=instant, help="ISO-8601 instant (default now; without a zone: UTC)"
    )


def instant(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    # An instant without a zone is read as UTC (the ledger's clock), never the machine's zone.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def command(settings: Settings, args: argparse.Namespace) -> int:
    from harbour.runtime.cli import database_url

    with database_url(settings) as url:
        return asyncio.run(run(replace(settings, database_url=url), args))


async def run(settings: Settings, args: argparse.Namespace) -> int:
    from harbour.application.runner import CommandRunner
    from harbour.lending.limits import limit_report
    from harbour.runtime.server import open_runtime

    runtime = await open_runtime(settings)
    try:
        report = await limit_report(
            CommandRunner(runtime.store), now=runtime.clock(), as_of=args.as_of
        )
    finally:
        await runtime.database.close()
    print(f"limits as of {report.as_of.isoformat()} (policy version {report.policy_version})")
    for line in table(report.figures):
        print(line)
    breached = sum(figure.breached for figure in report.figures)
    print(f"{breached} breached of {len(report.figures)}")
    return 0


def table(figures: Iterable[LimitFigure]) -> list[str]:
    """The report as aligned text lines, a header first."""
    rows = [HEADER] + [
        (
            figure.kind,
            figure.subject,
            _amount(figure.measured.minor),
            _amount(figure.limit.minor),
            _amount(figure.headroom.minor),
            "BREACHED" if figure.breached else "ok",
        )
        for figure in figures
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    numeric = {2, 3, 4}
    return [
        "  ".join(
            cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ).rstrip()
        for row in rows
    ]


def _amount(minor: int) -> str:
    sign = "-" if minor < 0 else ""
    whole, cents = divmod(abs(minor), 100)
    return f"{sign}{whole:,}.{cents:02d}"
