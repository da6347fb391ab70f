"""Shared benchmark plumbing: one embedded PostgreSQL, fresh databases, tables and results.

Benchmarks print a table and write it as markdown and JSON under bench/results/. They are not
tests: nothing here asserts; a target that is missed is printed as MISS.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from harbour.runtime.database import migrate
from harbour.runtime.embedded import start_embedded
from harbour.runtime.settings import url_with_database
from harbour.testing import CHECKER_NAME, CHECKER_ROLES

RESULTS = Path(__file__).resolve().parent / "results"

# The benches call the way a broker's platform calls in production: each caller presents a
# bearer token the servers know (HARBOUR_AUTH_TOKENS). Development mode's self-named callers
# would time a cost production never pays: it marks every response with initial metadata of
# its own, one more send per call (DepositCash at 16 callers, alternated in one sitting:
# 497 and 515/s in development mode, 624 and 644/s with tokens).
Metadata = tuple[tuple[str, str], ...]
_TOKENS: dict[str, str] = {}


def token_caller(principal: str) -> Metadata:
    """Call metadata for ``principal`` (``name:role+role``): a bearer token :func:`token_env`
    gives the servers."""
    token = hashlib.sha256(principal.encode()).hexdigest()[:32]
    _TOKENS[token] = principal
    return (("authorization", f"Bearer {token}"),)


# The credit officer who approves each client's grade and limit (maker-checker): the principal
# harbour.testing's development header names, here with a token of its own.
CREDIT_CHECKER = token_caller(f"{CHECKER_NAME}:{'+'.join(CHECKER_ROLES)}")


def token_env() -> dict[str, str]:
    """What a server process needs to know every bench caller: their tokens; on loopback."""
    tokens = ",".join(f"{token}={principal}" for token, principal in _TOKENS.items())
    return {"HARBOUR_AUTH_TOKENS": tokens, "HARBOUR_HOST": "127.0.0.1"}


@dataclass
class Row:
    scenario: str
    writers: int
    events: int
    seconds: float
    baseline: str = ""  # the row this one is compared with (its ceiling)
    note: str = ""
    peer: str = ""  # a second comparison: the same work done by another library

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


@dataclass
class Target:
    name: str
    measured: float
    required: float
    unit: str

    @property
    def met(self) -> bool:
        return self.measured >= self.required


@dataclass
class Report:
    title: str
    rows: list[Row] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    environment: dict[str, Any] = field(default_factory=dict)

    def row(self, scenario: str) -> Row:
        return next(r for r in self.rows if r.scenario == scenario)

    def ratio(self, scenario: str, baseline: str) -> float:
        return self.row(scenario).rate / self.row(baseline).rate

    def markdown(self) -> str:
        env = ", ".join(f"{k}: {v}" for k, v in self.environment.items())
        with_peer = any(r.peer for r in self.rows)
        header = "| scenario | writers | events | seconds | events/s | vs baseline |"
        rule = "|---|---:|---:|---:|---:|---|"
        if with_peer:
            header = header.replace("vs baseline", "ratio to ceiling") + " ratio to peer |"
            rule += "---|"
        lines = [f"## {self.title}", "", f"_{env}_", "", header, rule]
        for r in self.rows:
            versus = ""
            if r.baseline:
                versus = f"{self.ratio(r.scenario, r.baseline):.2f}x {r.baseline}"
            line = (
                f"| {r.scenario} | {r.writers} | {r.events:,} | {r.seconds:.2f} | "
                f"{r.rate:,.0f} | {versus} |"
            )
            if with_peer:
                peer = f"{self.ratio(r.scenario, r.peer):.2f}x {r.peer}" if r.peer else ""
                line += f" {peer} |"
            lines.append(line)
        if self.targets:
            lines += ["", "| target | measured | required | |", "|---|---:|---:|---|"]
            for t in self.targets:
                verdict = "PASS" if t.met else "MISS"
                lines.append(
                    f"| {t.name} | {t.measured:,.2f} {t.unit} | {t.required:,.2f} {t.unit} "
                    f"| {verdict} |"
                )
        return "\n".join(lines) + "\n"

    def _ratio_or_none(self, scenario: str, other: str) -> float | None:
        if not other or not any(r.scenario == other for r in self.rows):
            return None
        return round(self.ratio(scenario, other), 3)

    def save(self, name: str) -> None:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"{name}.md").write_text(self.markdown())
        payload = {
            "title": self.title,
            "environment": self.environment,
            "rows": [
                {
                    **asdict(r),
                    "events_per_second": round(r.rate, 1),
                    "ratio_to_ceiling": self._ratio_or_none(r.scenario, r.baseline),
                    "ratio_to_peer": self._ratio_or_none(r.scenario, r.peer),
                }
                for r in self.rows
            ],
            "targets": [{**asdict(t), "met": t.met} for t in self.targets],
        }
        (RESULTS / f"{name}.json").write_text(json.dumps(payload, indent=2) + "\n")

    def publish(self, name: str, *, with_rates: bool = False) -> None:
        """Print the table and each row's note (after its rate, ``with_rates``), then save."""
        print(self.markdown())
        for row in self.rows:
            rate = f"{row.rate:,.0f}/s; " if with_rates else ""
            print(f"{row.scenario}: {rate}{row.note}")
        self.save(name)


@contextmanager
def embedded_server() -> Iterator[str]:
    server = start_embedded(
        Path(tempfile.mkdtemp(prefix="harbour-bench-")) / "pgdata", delete_on_exit=True
    )
    try:
        yield server.url
    finally:
        server.stop()


def fresh_database(admin_url: str, name: str, *, migrated: bool = True) -> str:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = url_with_database(admin_url, name)
    if migrated:
        migrate(url)
    return url


def environment(admin_url: str) -> dict[str, Any]:
    with psycopg.connect(admin_url) as conn:
        version = conn.execute("SHOW server_version").fetchone()
        full = conn.execute("SELECT version()").fetchone()
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "postgresql": version[0] if version else "?",
        "machine": platform.machine(),
        # The machine may be shared: the load before the run says how quiet it was.
        "load average (1 min) at start": round(os.getloadavg()[0], 2),
        "server": full[0] if full else "?",
    }


def postmaster_pid(url: str) -> int | None:
    """The postmaster of the server at ``url``: the parent of one of its backends (Linux
    /proc; None elsewhere). Its children are this server's processes and no other's."""
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT pg_backend_pid()").fetchone()
        # Read while the backend lives: once the connection closes it exits, its /proc entry
        # goes, and PostgreSQL's CPU would silently drop out of the figures (it did, once).
        stat = None if row is None else _stat(Path("/proc") / str(row[0]))
    return int(stat[1]) if stat else None


def cpu_seconds_by_process(client_pid: int, postmaster: int | None) -> dict[str, float]:
    """CPU seconds (user + system) used so far by each part of a running `harbour up`: every
    service and the projector (by command line), the PostgreSQL of this benchmark (the
    ``postmaster`` and its children, those that exited included — never another server of a
    shared machine) and the benchmark client ``client_pid``. Linux /proc; empty elsewhere."""
    proc = Path("/proc")
    if not proc.is_dir():
        return {}
    tick = os.sysconf("SC_CLK_TCK")
    used: dict[str, float] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:  # exited meanwhile
            continue
        stat = _stat(entry)
        if stat is None:
            continue
        pid, parent = int(entry.name), int(stat[1])
        if postmaster is not None and postmaster in (pid, parent):
            part: str | None = "postgresql"
        else:
            part = _part(pid, [a.decode(errors="replace") for a in argv], client_pid)
        if part:
            ticks = int(stat[11]) + int(stat[12])
            if pid == postmaster:  # backends that exited are counted in their parent's
                ticks += int(stat[13]) + int(stat[14])
            used[part] = used.get(part, 0.0) + ticks / tick
    return used


def process_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) process ``pid`` has used so far (Linux /proc; 0 elsewhere)."""
    stat = _stat(Path("/proc") / str(pid))
    if stat is None:
        return 0.0
    return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")


def _stat(entry: Path) -> list[str] | None:
    """/proc/<pid>/stat after the command name: [state, ppid, ...] (field 3 onwards)."""
    try:
        return (entry / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _part(pid: int, argv: list[str], client_pid: int) -> str | None:
    if pid == client_pid:
        return "load client"
    if "harbour.runtime.cli" in argv:
        command = argv[argv.index("harbour.runtime.cli") + 1 :]
        if command[:1] == ["serve"] and len(command) > 1:
            return command[1]
        return {"project": "projector", "up": "harbour up"}.get(command[0] if command else "")
    return None


def database_counters(url: str) -> tuple[int, int]:
    """(statements, commits) so far on the database of ``url``: transactions ended (every
    autocommit statement is one: a round trip each) and xids assigned on the server (a
    transaction that wrote — an append, a NOTIFY — and so flushed a commit record). The
    statistics of a backend reach the counters when it is idle or exits: read them after the
    load has stopped."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        row = conn.execute(
            "SELECT xact_commit + xact_rollback, "
            "pg_snapshot_xmax(pg_current_snapshot())::text::bigint "
            "FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])
