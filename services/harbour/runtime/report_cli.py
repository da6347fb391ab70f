"""``harbour report``: one margin account, or the whole book, as a self-contained HTML page.

harbour report account CLIENT_ID --out FILE.html [--as-of ISO-8601]
harbour report book --out FILE.html [--as-of ISO-8601]

Built from raw events (``harbour.audit.report`` says which figure comes from where); with
``--as-of`` only the events recorded at or before that instant count, and the policy in
force then applies. The page needs no network: open it in any browser, or mail it.

Imports the stack only when a report is made: ``harbour.runtime.cli`` imports this module for
its handler, and the CLI starts without the whole stack.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from harbour.runtime.settings import Settings

KINDS = ("account", "book")


def as_of_instant(text: str) -> datetime:
    """An ISO-8601 instant; one without a zone is taken as UTC (events are stamped in UTC)."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def cmd_report(settings: Settings, args: argparse.Namespace) -> int:
    if args.kind == "account" and not args.client_id:
        print("harbour: report account needs the CLIENT_ID", file=sys.stderr)
        return 2
    if args.kind == "book" and args.client_id:
        print("harbour: report book takes no CLIENT_ID", file=sys.stderr)
        return 2
    from harbour.runtime.cli import database_url

    with database_url(settings) as url:
        return asyncio.run(write_report(replace(settings, database_url=url), args))


async def write_report(settings: Settings, args: argparse.Namespace) -> int:
    from harbour.audit.report import (
        read_account_report,
        read_book_report,
        render_account,
        render_book,
    )
    from harbour.runtime.server import open_runtime, system_clock

    runtime = await open_runtime(settings)
    try:
        now = system_clock()
        instant = args.as_of or now
        out = Path(args.out)
        if args.kind == "account":
            account = await read_account_report(
                runtime.store, args.client_id, instant=instant, as_of=args.as_of
            )
            if not account.state.exists:
                print(f"harbour: no client {args.client_id} at {instant}", file=sys.stderr)
                return 1
            _write(out, render_account(account, generated_at=now))
            broken = bool(account.chain_breaks)
            print(
                f"account {args.client_id}: {account.events_replayed} events up to position "
                f"{account.last_position}, chain {'BROKEN' if broken else 'intact'} -> {out}"
            )
            return 1 if broken else 0
        book = await read_book_report(runtime.store, instant=instant, as_of=args.as_of)
        _write(out, render_book(book, generated_at=now))
        print(f"book: {book.accounts} accounts from {book.events_read} events -> {out}")
        return 0
    finally:
        await runtime.database.close()


# A command-line tool does one thing at a time: blocking file I/O in its coroutine is fine.
def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
