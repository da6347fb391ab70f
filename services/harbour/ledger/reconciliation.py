"""Reconciliation with the outside: statements from the custodian, the bank and the securities
margin system against the ledger's own balances (issue #15, item 5).

Pure: :func:`parse_statement` reads a statement's bytes (CSV, a fixed header per source) into
exact entries and the lines it cannot use; :func:`reconcile` compares the entries with the
ledger's balances at the statement's instant and names every break with its cause;
:func:`reconciliation_run` makes the event that records the run. The caller reads the ledger
and the clock.

What each source holds, and what it is compared with (the client's cash and custody ledger
accounts summed per asset: a stablecoin is cash, a virtual asset or a security is custody):

- ``custodian`` — wallet balances per client and asset: BTC, ETH, USDT;
- ``bank`` — cash per client and currency: HKD, USD;
- ``securities`` — positions per client and security (``0700.HK``), whole shares.

A line is refused, never guessed: an amount with more decimals than its asset has, a negative
balance, an unknown or out-of-scope asset, a malformed client id or a wrong number of fields is
a ``malformed_line`` break with its line number, and the second line for the same client and
asset a ``duplicate_line`` (the first is the one compared). A wrong header or an unreadable
file refuses the whole statement: it is not this source's statement at all.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Mapping, Set
from dataclasses import dataclass
from datetime import datetime, timedelta

from harbour.ledger import events as ev
from harbour.ledger.assets import Asset, AssetKind, asset
from harbour.ledger.errors import DomainError, InvalidArgument
from harbour.ledger.ids import check_id
from harbour.ledger.money import format_minor, parse_amount

# A statement travels in one gRPC message (4 MiB by default) and is recorded with its breaks.
MAX_STATEMENT_BYTES = 2 * 1024 * 1024
MAX_STATEMENT_LINES = 50_000
# The run event lists at most this many breaks (every one is counted in ``breaks_found``): a
# statement that misses a whole book must not make one event of a million breaks.
MAX_RECORDED_BREAKS = 10_000
MAX_FIELD = 100  # characters of a field quoted back in a break's detail
CLOCK_SKEW = timedelta(seconds=5)

MISSING_FROM_STATEMENT = "missing_from_statement"
MISSING_FROM_LEDGER = "missing_from_ledger"
AMOUNT_DIFFERS = "amount_differs"
UNKNOWN_CLIENT = "unknown_client"
MALFORMED_LINE = "malformed_line"
DUPLICATE_LINE = "duplicate_line"
CAUSES = (
    MISSING_FROM_STATEMENT,
    MISSING_FROM_LEDGER,
    AMOUNT_DIFFERS,
    UNKNOWN_CLIENT,
    MALFORMED_LINE,
    DUPLICATE_LINE,
)


@dataclass(frozen=True)
class StatementFormat:
    source: str
    header: tuple[str, str, str]  # client, asset, amount columns, in this order
    holds: Callable[[Asset], bool]  # the assets this source keeps
    scope: str  # the assets it keeps, in words (for a refusal)


FORMATS: Mapping[str, StatementFormat] = {
    f.source: f
    for f in (
        StatementFormat(
            "custodian",
            ("client_id", "asset", "balance"),
            lambda a: a.kind in (AssetKind.VIRTUAL, AssetKind.STABLECOIN),
            "virtual assets and stablecoins (BTC, ETH, USDT)",
        ),
        StatementFormat(
            "bank",
            ("client_id", "currency", "balance"),
            lambda a: a.kind is AssetKind.FIAT,
            "fiat currencies (HKD, USD)",
        ),
        StatementFormat(
            "securities",
            ("client_id", "security", "quantity"),
            lambda a: a.kind is AssetKind.SECURITY,
            "listed securities (e.g. 0700.HK)",
        ),
    )
}
SOURCES = tuple(FORMATS)

Key = tuple[str, str]  # (client id, asset code)


def statement_format(source: str) -> StatementFormat:
    found = FORMATS.get(source)
    if found is None:
        raise InvalidArgument.for_field("source", f"must be one of {', '.join(SOURCES)}")
    return found


def in_scope(source: str, code: str) -> bool:
    """Whether the ledger's ``code`` balances are what ``source``'s statement reports."""
    return statement_format(source).holds(asset(code))


@dataclass(frozen=True)
class StatementLine:
    line: int
    client_id: str
    asset: str
    amount: int  # minor units of ``asset``


@dataclass(frozen=True)
class Statement:
    """A statement's usable entries (the first line of each client and asset) and the
    breaks its unusable lines are."""

    source: str
    lines_read: int
    entries: Mapping[Key, StatementLine]
    refused: tuple[ev.ReconciliationBreak, ...]


def _text(statement: bytes) -> str:
    if len(statement) > MAX_STATEMENT_BYTES:
        raise InvalidArgument.for_field(
            "statement", f"is {len(statement)} bytes; at most {MAX_STATEMENT_BYTES}"
        )
    try:
        return statement.decode("utf-8-sig")  # a byte-order mark, as spreadsheets write
    except UnicodeDecodeError as error:
        raise InvalidArgument.for_field(
            "statement", f"is not UTF-8 text (byte {error.start})"
        ) from None


def parse_statement(source: str, statement: bytes) -> Statement:
    """The statement's entries and refused lines (see the module docstring)."""
    form = statement_format(source)
    rows = csv.reader(_text(statement).splitlines())
    try:
        header = next(rows, None)
    except csv.Error:  # e.g. a NUL byte in the first line
        header = None
    if header is None or tuple(c.strip().lower() for c in header) != form.header:
        shown = ",".join(header or ())[:MAX_FIELD]
        raise InvalidArgument.for_field(
            "statement",
            f"a {source} statement starts with the header {','.join(form.header)}; got {shown!r}",
        )
    entries: dict[Key, StatementLine] = {}
    refused: list[ev.ReconciliationBreak] = []
    lines_read = 0
    try:
        for row in rows:
            if not any(field.strip() for field in row):
                continue  # a blank line separates nothing and states nothing
            lines_read += 1
            if lines_read > MAX_STATEMENT_LINES:
                raise InvalidArgument.for_field(
                    "statement", f"has more than {MAX_STATEMENT_LINES} lines"
                )
            line = rows.line_num
            parsed = _line(form, line, row)
            if isinstance(parsed, ev.ReconciliationBreak):
                refused.append(parsed)
                continue
            key = (parsed.client_id, parsed.asset)
            first = entries.get(key)
            if first is None:
                entries[key] = parsed
                continue
            refused.append(
                _break(
                    DUPLICATE_LINE,
                    line,
                    parsed.client_id,
                    parsed.asset,
                    statement=format_minor(asset(parsed.asset), parsed.amount),
                    detail=f"{parsed.client_id} {parsed.asset} is on line {first.line} already",
                )
            )
    except csv.Error as error:  # e.g. a NUL byte: nothing after it can be trusted
        refused.append(
            _break(MALFORMED_LINE, rows.line_num, detail=f"unreadable CSV ({error}); rest ignored")
        )
    return Statement(source, lines_read, entries, tuple(refused))


def _line(
    form: StatementFormat, line: int, row: list[str]
) -> StatementLine | ev.ReconciliationBreak:
    if len(row) != len(form.header):
        return _break(
            MALFORMED_LINE,
            line,
            detail=f"expected {len(form.header)} fields ({','.join(form.header)}), got {len(row)}",
        )
    client_text, code, amount_text = (field.strip() for field in row)
    try:
        client = check_id(client_text, form.header[0])
    except DomainError as refusal:
        return _break(MALFORMED_LINE, line, detail=_clip(refusal.message))
    try:
        held = asset(code, form.header[1])
    except DomainError:
        return _break(MALFORMED_LINE, line, client, detail=f"unknown asset {_clip(code)!r}")
    if not form.holds(held):
        return _break(
            MALFORMED_LINE,
            line,
            client,
            held.code,
            detail=f"{held.code} is not kept at the {form.source}: it reports {form.scope}",
        )
    try:
        amount = parse_amount(held, amount_text, form.header[2], allow_zero=True)
    except DomainError as refusal:
        return _break(
            MALFORMED_LINE,
            line,
            client,
            held.code,
            detail=f"{_clip(refusal.message)} (the line says {_clip(amount_text)!r})",
        )
    return StatementLine(line, client, held.code, amount.minor)


@dataclass(frozen=True)
class Comparison:
    balances_compared: int
    balances_matched: int
    breaks: tuple[ev.ReconciliationBreak, ...]  # statement lines in order, then the ledger's


def reconcile(
    statement: Statement, ledger: Mapping[Key, int], known_clients: Set[str]
) -> Comparison:
    """Every break between ``statement`` and ``ledger`` (the ledger's balances of the
    statement's assets at its instant, in minor units; zero balances may be left out).
    ``known_clients`` are the clients with a margin account at that instant (the ledger's own
    clients count as known whether listed or not)."""
    held = {key: minor for key, minor in ledger.items() if minor}
    ledger_clients = {client for client, _ in held}
    breaks = list(statement.refused)
    compared = matched = 0
    for key, entry in statement.entries.items():
        client, code = key
        of = asset(code)
        stated = format_minor(of, entry.amount)
        if client not in known_clients and client not in ledger_clients:
            breaks.append(
                _break(
                    UNKNOWN_CLIENT,
                    entry.line,
                    client,
                    code,
                    statement=stated,
                    detail=f"{client} has no margin account in the ledger",
                )
            )
            continue
        compared += 1
        booked = held.get(key, 0)
        if booked == entry.amount:
            matched += 1
        elif booked == 0:
            breaks.append(
                _break(
                    MISSING_FROM_LEDGER,
                    entry.line,
                    client,
                    code,
                    ledger=format_minor(of, 0),
                    statement=stated,
                    difference=stated,
                    detail=f"the statement holds {stated} {code}; the ledger holds none",
                )
            )
        else:
            difference = format_minor(of, entry.amount - booked)
            breaks.append(
                _break(
                    AMOUNT_DIFFERS,
                    entry.line,
                    client,
                    code,
                    ledger=format_minor(of, booked),
                    statement=stated,
                    difference=difference,
                    detail=f"the statement differs from the ledger by {difference} {code}",
                )
            )
    breaks.sort(key=lambda b: b.line)  # refused and compared lines, in the statement's order
    for key in sorted(held.keys() - statement.entries.keys()):
        client, code = key
        of = asset(code)
        on_ledger = format_minor(of, held[key])
        compared += 1
        breaks.append(
            _break(
                MISSING_FROM_STATEMENT,
                0,
                client,
                code,
                ledger=on_ledger,
                statement="",
                difference=format_minor(of, -held[key]),
                detail=f"the ledger holds {on_ledger} {code}; the statement has no line for it",
            )
        )
    return Comparison(compared, matched, tuple(breaks))


def check_statement_instant(statement_at: datetime, now: datetime) -> datetime:
    """A statement states balances at a past instant: one from the future is refused."""
    if statement_at.tzinfo is None:
        raise InvalidArgument.for_field("statement_at", "must carry a time zone")
    if statement_at > now + CLOCK_SKEW:
        raise InvalidArgument.for_field(
            "statement_at", f"{statement_at.isoformat()} is in the future"
        )
    return statement_at


@dataclass(frozen=True)
class RunFacts:
    """Who ran what, when: everything the run event records besides the comparison."""

    run_id: str
    source: str
    statement_at: datetime
    file_sha256: str
    file_name: str
    run_at: datetime
    requested_by: str
    ledger_position: int


def reconciliation_run(
    facts: RunFacts, statement: Statement, comparison: Comparison
) -> ev.ReconciliationRun:
    return ev.ReconciliationRun(
        run_id=facts.run_id,
        source=facts.source,
        statement_at=facts.statement_at,
        file_sha256=facts.file_sha256,
        file_name=facts.file_name,
        run_at=facts.run_at,
        requested_by=facts.requested_by,
        lines_read=statement.lines_read,
        balances_compared=comparison.balances_compared,
        balances_matched=comparison.balances_matched,
        breaks_found=len(comparison.breaks),
        breaks=comparison.breaks[:MAX_RECORDED_BREAKS],
        ledger_position=facts.ledger_position,
    )


def breaks_by_cause(breaks: Iterable[ev.ReconciliationBreak]) -> dict[str, int]:
    """How many breaks of each cause, every cause listed (0 included), in CAUSES order."""
    counts = dict.fromkeys(CAUSES, 0)
    for found in breaks:
        counts[found.cause] += 1
    return counts


def _break(
    cause: str,
    line: int,
    client: str = "",
    code: str = "",
    *,
    ledger: str = "",
    statement: str = "",
    difference: str = "",
    detail: str,
) -> ev.ReconciliationBreak:
    return ev.ReconciliationBreak(
        cause, line, client, code, ledger, statement, difference, _clip(detail, 300)
    )


def _clip(text: str, limit: int = MAX_FIELD) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
