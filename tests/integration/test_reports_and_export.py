"""Reports people look at, and CSV/Parquet exports, over a small real history.

The history is made once for the module through the real services on loopback (accounts,
collateral, lending and liquidation, the simulated venues): a borrower C1 draws, is warned,
called and force-sold (fills on the venues); C2 draws a little and stays healthy. The reports
are written by the `harbour` command and rendered by a real headless browser (Debian's
chromium); the exports are read back with the csv module and pyarrow.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import os
import shutil
import subprocess
import tempfile
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from harbour.application.decoding import domain_event
from harbour.audit.report import read_account_report
from harbour.eventstore.database import Database
from harbour.eventstore.store import EventStore
from harbour.ledger import events as ev
from harbour.runtime import cli
from harbour.runtime.audit_cli import export, export_record, verify_export
from harbour.runtime.database import open_database
from harbour.runtime.settings import Settings
from tests.conftest import drop_database, new_database, utc_clock
from tests.e2e.test_liquidation_service import LiquidationStack, caught_up, serving

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
RENDER_SECONDS = 30  # a render takes 1-3 s; the timeout only stops a hung browser


@dataclass(frozen=True)
class History:
    url: str
    store: EventStore
    principal: str  # C1's principal as the lending read model (GetLoan) shows it
    fills: int  # C1's fills


async def until_recorded(stack: LiquidationStack, client: str, event_type: str) -> None:
    """Ask for a risk check until ``event_type`` is on the client's stream (the lending
    service's own monitor may record it first, on the price tick)."""
    for _ in range(100):
        await stack.check(client)
        if any(e.type == event_type for e in await stack.store.read_stream(f"account-{client}")):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{event_type} was never recorded for {client}")


async def seed(stack: LiquidationStack) -> None:
    # C1: CV 480,000 (shares 280,000 + BTC 200,000) against D 400,000: U 83%.
    await stack.borrow_and_spend("C1", "400000.00")
    await stack.borrower("C2")
    await stack.draw("C2", "50000.00")
    # Shares 370, BTC 450,000: CV 439,000, U 91% -> early warning.
    await stack.price("0700.HK", "370.00")
    await stack.price("BTC", "450000.00")
    await until_recorded(stack, "C1", "EarlyWarningIssued")
    # Shares 340, BTC 400,000: CV 398,000, U 100.5% -> margin call.
    await stack.price("0700.HK", "340.00")
    await stack.price("BTC", "400000.00")
    await until_recorded(stack, "C1", "MarginCallIssued")
    # Shares 290, BTC 250,000: CV 303,000, U 132% -> forced sale, sold on the venues.
    await stack.price("BTC", "250000.00")
    await stack.price("0700.HK", "290.00")
    await until_recorded(stack, "C1", "LiquidationStarted")
    await stack.settled("C1")
    await caught_up(stack)


@pytest.fixture(scope="module")
async def history(pg_server: str, template_url: str) -> AsyncIterator[History]:
    url = new_database(pg_server)
    database: Database = await open_database(url, pool_size=10)
    try:
        # Development mode, as the e2e stacks run: callers name themselves in metadata.
        settings = replace(Settings.from_env({"HARBOUR_DEV_MODE": "1"}), database_url=url)
        names = ("accounts", "collateral", "lending", "liquidation")
        async with serving(settings, database, names) as stack:
            await seed(stack)
            principal = (await stack.loan("C1")).principal.value
        store = EventStore(database, clock=utc_clock)
        c1 = await store.read_stream("account-C1")
        fills = sum(e.type == "LiquidationFillExecuted" for e in c1)
        assert fills >= 1 and principal
        yield History(url, store, principal, fills)
    finally:
        await database.close()
        drop_database(pg_server, url)


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="harbour-reports-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


# ------------------------------------------------------------------------------ the browser


@dataclass
class Dom:
    """What a test reads from a page: every element's attributes, the chart each element is
    drawn in, and the error box's text."""

    elements: list[tuple[str, dict[str, str]]]
    charts: dict[str, list[dict[str, str]]]  # chart name -> its drawn figures (.mark)
    errors: str

    def body(self) -> dict[str, str]:
        return next(attrs for tag, attrs in self.elements if tag == "body")

    def figures(self, name: str) -> list[str]:
        """The data-value of every element showing the figure ``name``."""
        return [a["data-value"] for _, a in self.elements if a.get("data-figure") == name]

    def rows(self, name: str) -> list[dict[str, str]]:
        return [attrs for _, attrs in self.elements if attrs.get("data-row") == name]


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.charts: dict[str, list[dict[str, str]]] = {}
        self.errors: list[str] = []
        self._in_errors = False
        self._chart: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        self.elements.append((tag, found))
        self._in_errors = found.get("id") == "page-errors"
        if tag == "svg" and "data-chart" in found:
            self._chart = found["data-chart"]
            self.charts[self._chart] = []
        elif self._chart is not None and "mark" in found.get("class", "").split():
            self.charts[self._chart].append(found)

    def handle_endtag(self, tag: str) -> None:
        self._in_errors = False
        if tag == "svg":
            self._chart = None

    def handle_data(self, data: str) -> None:
        if self._in_errors:
            self.errors.append(data)


def browser(page: Path, profile: str) -> list[str]:
    """A real headless chromium that loads ``page``, runs its script and prints the DOM."""
    return [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--dump-dom",
        page.resolve().as_uri(),
    ]


def harbour_here(url: str, *argv: str) -> tuple[int, str]:
    """`harbour ARGV` as main() dispatches it (its parser, its handler), run in this process
    on a thread of its own: a subprocess would spend seconds importing the stack again."""

    def run() -> tuple[int, str]:
        args = cli.parser().parse_args(argv)
        settings = replace(Settings.from_env({}), database_url=url)
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            status = cli.HANDLERS[args.command](settings, args)
        return status, printed.getvalue()

    with ThreadPoolExecutor(1) as thread:  # the handler runs its own event loop
        return thread.submit(run).result()


def together(*commands: list[str], env: dict[str, str] | None = None) -> list[tuple[int, str]]:
    """Run ``commands`` side by side (each mostly waits: start-up, a page load) and return
    each one's exit status and output; stderr is kept for a failure's message."""
    running = [
        subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for c in commands
    ]
    results = []
    for process in running:
        out, err = process.communicate(timeout=RENDER_SECONDS)
        assert process.returncode == 0, err[-3000:]
        results.append((process.returncode, out))
    return results


def dom_of(dumped: str) -> Dom:
    reader = _Reader()
    reader.feed(dumped)
    return Dom(reader.elements, reader.charts, "".join(reader.errors).strip())


@dataclass(frozen=True)
class Page:
    said: str  # what the command printed
    html: str  # the file it wrote
    dom: Dom  # the page after the browser ran it


@pytest.fixture(scope="module")
def pages(history: History, workdir: Path) -> dict[str, Page]:
    """Both reports made by `harbour report` and loaded by the browser, side by side."""
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium: run scripts/install_system_tools.sh (make install)")
    account, book = workdir / "C1.html", workdir / "book.html"
    said = [
        harbour_here(history.url, "report", "account", "C1", "--out", str(account)),
        harbour_here(history.url, "report", "book", "--out", str(book)),
    ]
    assert [status for status, _ in said] == [0, 0], said
    with tempfile.TemporaryDirectory() as one, tempfile.TemporaryDirectory() as two:
        # No session bus in a container: chromium would retry it on every start.
        quiet = {**os.environ, "DBUS_SESSION_BUS_ADDRESS": "disabled:"}
        dumped = together(browser(account, one), browser(book, two), env=quiet)
    return {
        name: Page(printed, path.read_text(), dom_of(dom))
        for name, path, (_, printed), (_, dom) in zip(
            ("account", "book"), (account, book), said, dumped, strict=True
        )
    }


def assert_loaded_with_charts(dom: Dom, *charts: str) -> None:
    body = dom.body()
    assert dom.errors == "", dom.errors
    assert body.get("data-rendered") == "ok", body
    found = set(body.get("data-charts-found", "").split(","))
    assert set(charts) <= found, (charts, found)
    assert all(dom.charts.get(name) for name in charts), dom.charts.keys()


def assert_self_contained(html: str) -> None:
    """Nothing on the page is fetched from anywhere: no source, no link, no URL but SVG's
    namespace name."""
    assert "<link" not in html and " src=" not in html and "@import" not in html
    assert html.replace('xmlns="http://www.w3.org/2000/svg"', "").count("http") == 0


# ------------------------------------------------------------------------------ reports


def test_the_account_report_loads_in_a_browser_and_shows_the_ledgers_figures(
    history: History, pages: dict[str, Page]
) -> None:
    page = pages["account"]
    assert "chain intact" in page.said
    assert_self_contained(page.html)
    dom = page.dom
    assert_loaded_with_charts(dom, "utilisation", "collateral", "loan")
    # The principal the page shows is the one the lending read model serves (GetLoan).
    assert dom.figures("principal") == [history.principal]
    assert Decimal(history.principal) < Decimal("400000.00")  # the sale repaid some of it
    assert dom.figures("drawn") == ["400000.00"]
    # Every fill; the one call, overtaken by the forced sale, which reached its target.
    assert len(dom.rows("fill")) == len(dom.figures("fill_proceeds")) == history.fills
    assert dom.figures("call_outcome") == ["liquidated"]
    assert dom.figures("liquidation_outcome") == ["target_reached"]
    # A point per recorded decision (and the valuation at the report instant), each drawn.
    decisions = dom.rows("utilisation")
    assert len(decisions) >= 5  # advance, warning, call, sale started, sale completed, now
    assert len(dom.charts["utilisation"]) == len(decisions)
    assert {m["data-label"] for m in dom.charts["collateral"]} >= {"0700.HK", "BTC"}


def test_the_book_report_loads_in_a_browser_and_adds_up(
    history: History, pages: dict[str, Page]
) -> None:
    page = pages["book"]
    assert "book: 2 accounts" in page.said
    assert_self_contained(page.html)
    dom = page.dom
    assert_loaded_with_charts(dom, "exposure", "states", "concentration", "calls", "fills")
    assert dom.figures("accounts") == ["2"]
    # C1 back to healthy after its sale reached the target; C2 never left it.
    states = {r["data-state"]: r["data-count"] for r in dom.rows("state")}
    assert states["healthy"] == "2" and states["margin_call"] == states["liquidating"] == "0"
    assert dom.figures("calls_issued") == dom.figures("calls_liquidated") == ["1"]
    assert dom.figures("calls_met") == dom.figures("calls_open") == ["0"]
    # Outstanding loans (broker-exposure) = C1's principal + C2's 50,000.
    [loans] = dom.figures("loans")
    assert Decimal(loans) == Decimal(history.principal) + Decimal("50000.00")
    # Affiliated and independent fills add up to every fill the venues made.
    fills = dom.rows("fills")
    assert [r["data-kind"] for r in fills] == ["affiliated", "independent"]
    assert sum(int(n) for n in dom.figures("fills")) == history.fills
    assert len(dom.charts["fills"]) == 2
    # The limits the ledger's limit monitor measures, each drawn against its limit.
    limits = {m["data-label"] for m in dom.charts["concentration"]}
    assert {"total margin loans", "BTC held as collateral", "group C1", "group C2"} <= limits
    assert dom.figures("exposure")[0] == loans  # total margin loans, all in HKD here
    # Exposure by asset lists what the accounts hold: the shares and BTC (and HKD cash).
    assets = {r["data-asset"] for r in dom.rows("exposure")}
    assert {"0700.HK", "BTC"} <= assets


async def test_an_account_report_as_of_the_call_shows_it_open_and_nothing_sold(
    history: History,
) -> None:
    stream = await history.store.read_stream("account-C1")
    called = next(e for e in stream if e.type == "MarginCallIssued")
    report = await read_account_report(
        history.store, "C1", instant=called.recorded_at, as_of=called.recorded_at
    )
    assert [c.outcome for c in report.calls] == ["open"]
    assert report.fills == () and report.liquidations == ()
    assert report.state.risk.value == "margin_call" and not report.chain_breaks
    # The call's own append (with the advances it suspended), and nothing recorded later.
    upto = [e.position for e in stream if e.recorded_at <= called.recorded_at]
    assert report.last_position == max(upto) and report.events_replayed == len(upto)
    # Every decision's figures, in order: the advance, the warning, the call (+ the valuation).
    sources = [p.source for p in report.utilisation]
    assert sources[-1] == "valuation at the report instant"
    assert "LoanAdvanced" in sources and sources[-2] == "MarginCallIssued"
    call = domain_event(called)
    assert isinstance(call, ev.MarginCallIssued)
    assert report.calls[0].amount == call.call_amount


# ------------------------------------------------------------------------------ exports


async def _event_count(store: EventStore) -> int:
    count, after = 0, 0
    while page := await store.read_all(after_position=after):
        count, after = count + len(page), page[-1].position
    return count


async def _journal_line_count(store: EventStore) -> int:
    lines, after = 0, 0
    while page := await store.read_all(after_position=after):
        for recorded in page:
            if recorded.type in ev.VALUE_MOVING_EVENT_TYPES:
                journal = ev.journal_of(domain_event(recorded))
                lines += len(journal) if journal is not None else 0
        after = page[-1].position
    return lines


def _balance(rows: list[tuple[str, int, int]]) -> Counter[str]:
    """Per asset, credits less debits: zero for a ledger that balances."""
    totals: Counter[str] = Counter()
    for code, debit, credit in rows:
        assert debit >= 0 and credit >= 0 and (debit == 0) != (credit == 0)
        totals[code] += credit - debit
    return totals


async def test_events_and_journals_export_as_csv_and_parquet_and_read_back(
    history: History, workdir: Path
) -> None:
    events = await _event_count(history.store)
    lines = await _journal_line_count(history.store)
    assert lines > 0

    # CSV of journals through the command; the rest in process (the same code path).
    journals_csv = workdir / "journals.csv"
    status, said = harbour_here(
        history.url, "audit", "export", "--out", str(journals_csv), "--format", "csv",
        "--what", "journals",
    )  # fmt: skip
    assert status == 0
    assert f"exported {lines} journal lines of {events} events" in said
    with journals_csv.open(newline="") as source:
        rows = list(csv.DictReader(source))
    assert len(rows) == lines
    totals = _balance([(r["asset"], int(r["debit_minor"]), int(r["credit_minor"])) for r in rows])
    assert set(totals.values()) == {0}, totals
    # The loan account holds minus C1's principal (the read model's figure).
    loan = sum(Decimal(r["amount"]) for r in rows if r["ledger_account"] == "client:C1:loan")
    assert loan == -Decimal(history.principal)

    journals_parquet = workdir / "journals.parquet"
    await export(history.store, journals_parquet, fmt="parquet", what="journals")
    table = pq.read_table(journals_parquet)
    assert table.num_rows == lines
    assert table.schema.field("debit_minor").type == pa.decimal128(38, 0)
    assert table.schema.field("amount").type == pa.string()
    assert not any(pa.types.is_floating(f.type) for f in table.schema)
    parquet_rows = table.select(["asset", "debit_minor", "credit_minor"]).to_pylist()
    totals = _balance(
        [(r["asset"], int(r["debit_minor"]), int(r["credit_minor"])) for r in parquet_rows]
    )
    assert set(totals.values()) == {0}, totals
    assert table.column("position").to_pylist() == sorted(table.column("position").to_pylist())

    events_csv = workdir / "events.csv"
    await export(history.store, events_csv, fmt="csv", what="events")
    with events_csv.open(newline="") as source:
        event_rows = list(csv.DictReader(source))
    assert len(event_rows) == events
    first = event_rows[0]
    assert json.loads(first["data"]) and len(first["hash"]) == 64

    events_parquet = workdir / "events.parquet"
    await export(history.store, events_parquet, fmt="parquet", what="events")
    read = pq.read_table(events_parquet)
    assert read.num_rows == events
    assert str(read.schema.field("recorded_at").type) == "timestamp[us, tz=UTC]"
    types = Counter(read.column("type").to_pylist())
    assert types["LiquidationFillExecuted"] == history.fills


async def test_the_default_export_is_still_json_lines_that_verify_offline(
    history: History, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = workdir / "history.jsonl"
    await export(history.store, out)  # the defaults: --format jsonl --what events
    expected, after = [], 0
    while page := await history.store.read_all(after_position=after):
        expected += [json.dumps(export_record(e), sort_keys=True) + "\n" for e in page]
        after = page[-1].position
    assert out.read_text() == "".join(expected)  # byte for byte what it always wrote
    assert verify_export(out) == 0
    assert "intact" in capsys.readouterr().out


def test_the_system_tools_script_installs_nothing_that_is_there() -> None:
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium on this machine")
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "install_system_tools.sh")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and "already installed; nothing to install" in done.stderr
