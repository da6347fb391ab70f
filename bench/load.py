"""Load test: `make load` (python -m bench.load [SECONDS]).

`harbour up` (every service and the projector as separate processes) on an embedded
PostgreSQL, driven on loopback by the margin-lending mix of bench/workload.py (onboarding,
deposits, withdrawals, draws, repayments, price ticks) from many concurrent callers for a
fixed time. Then, with the services stopped, the read models are verified against a rebuild
(`harbour projections verify`, which catches them up first, and the trial balance) and every
invariant of `bench.workload.check` is proved against the database. Prints throughput and
latency percentiles, overall and per command kind.

The ceiling is measured in the same run, before and after the load (both printed; the ratio
is to their mean): a bare grpc.aio echo server (no work behind a call) driven by as many
callers with the same client library. No command can go faster than that echo, so it bounds
what the mix can reach on this machine. The CPU time each part used (every service, the
projector, this benchmark's PostgreSQL — its postmaster's processes, no other server's — and
the client) is reported per answered command: where the budget goes.

Two phases against the same stack: closed-loop (CALLERS callers, each sending when answered:
the saturation rate), then open-loop at half that rate (commands sent on a fixed schedule
whether or not earlier ones were answered, as a broker's platform sends), whose p99 is the
latency at a sustainable load.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from bench.accounts import echo_row, free_port
from bench.common import (
    Report,
    Row,
    Target,
    cpu_seconds_by_process,
    embedded_server,
    environment,
    fresh_database,
    postmaster_pid,
    token_env,
)
from bench.workload import Workload, check
from harbour.runtime.settings import SERVICES, libpq_url
from tests.e2e.test_harbour_up import free_port_block, wait_serving

CALLERS = 32
SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 20.0
ECHO = "grpc.aio echo, same callers (ceiling: mean of before and after)"
ECHO_SECONDS = 5.0
OPEN_LOOP = "open loop at half the closed-loop rate"


def echo_ceiling(name: str) -> Row:
    """The bare gRPC round trip at the load's concurrency, on this machine, now."""
    return echo_row(name, free_port(), os.environ, callers=CALLERS, seconds=ECHO_SECONDS)


def command_retries(metrics_base: int) -> dict[str, dict[str, float]]:
    """harbour_command_retries_total of each service, by reason, from its /metrics."""
    found: dict[str, dict[str, float]] = {}
    for place, service in enumerate(SERVICES):
        url = f"http://127.0.0.1:{metrics_base + place}/metrics"
        with urllib.request.urlopen(url, timeout=5) as page:
            text = page.read().decode()
        for family in text_string_to_metric_families(text):
            if family.name == "harbour_command_retries":
                for sample in family.samples:
                    if sample.name.endswith("_total"):
                        reasons = found.setdefault(service, {})
                        reasons[sample.labels["reason"]] = sample.value
    return found


def retries_per_command(
    before: dict[str, dict[str, float]], after: dict[str, dict[str, float]], answered: int
) -> str:
    """Commands decided again, per answered command, by service and reason (a command that
    went round twice counts twice): the contention between the services' caches."""
    parts = []
    for service, reasons in after.items():
        moved = {r: n - before.get(service, {}).get(r, 0.0) for r, n in reasons.items()}
        total = sum(moved.values())
        if total:
            each = ", ".join(f"{r} {n / answered:.3f}" for r, n in sorted(moved.items()) if n)
            parts.append(f"{service} {total / answered:.3f} ({each})")
    return "retries a command: " + ("; ".join(parts) or "none")


def cpu_per_command(before: dict[str, float], after: dict[str, float], answered: int) -> str:
    """Milliseconds of CPU each part used per answered command (setup included)."""
    used = {part: after[part] - before.get(part, 0.0) for part in after}
    parts = sorted(used, key=lambda p: -used[p])
    each = ", ".join(f"{p} {used[p] * 1000 / answered:.2f}" for p in parts if used[p] > 0)
    return f"CPU ms per answered command: {sum(used.values()) * 1000 / answered:.2f} ({each})"


def main() -> None:
    before = echo_ceiling("grpc.aio echo, before the load")
    with embedded_server() as admin:
        url = fresh_database(admin, "load", migrated=False)
        base = free_port_block(len(SERVICES))
        metrics_base = free_port_block(len(SERVICES) + 1)  # and the projector's
        env = {k: v for k, v in os.environ.items() if not k.startswith("HARBOUR_")}
        env.update(
            HARBOUR_DATABASE_URL=url,
            HARBOUR_PORT_BASE=str(base),
            HARBOUR_METRICS_PORT_BASE=str(metrics_base),
            HARBOUR_LOG_LEVEL="WARNING",
        )
        env.update(token_env())  # the workload's callers (bench.workload), by bearer token
        up = subprocess.Popen(
            [sys.executable, "-m", "harbour.runtime.cli", "up"],
            env=env,
            stdout=subprocess.DEVNULL,
        )
        try:
            for offset in range(len(SERVICES)):
                wait_serving(base + offset, time.monotonic() + 60)
            addresses = {name: f"127.0.0.1:{base + i}" for i, name in enumerate(SERVICES)}
            postmaster = postmaster_pid(admin)
            cpu_before = cpu_seconds_by_process(os.getpid(), postmaster)
            retried_before = command_retries(metrics_base)
            stats = asyncio.run(Workload(addresses).run(callers=CALLERS, seconds=SECONDS))
            cpu_after = cpu_seconds_by_process(os.getpid(), postmaster)
            retried_after = command_retries(metrics_base)
            elapsed = stats.seconds  # the mixed phase, without the setup
            rate = len(stats.latencies) / elapsed / 2
            # Other clients (seed 2): the invariants are checked for both runs' commands.
            opened = asyncio.run(
                Workload(addresses, seed=2).run(callers=CALLERS, seconds=SECONDS, rate=rate)
            )
        finally:
            up.send_signal(signal.SIGINT)
            up.wait(timeout=60)
        # With nothing writing any more (the risk monitor included), the read models are
        # caught up and compared with a rebuild, then every invariant is checked.
        verify = subprocess.run(
            [sys.executable, "-m", "harbour.runtime.cli", "projections", "verify"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        problems = check(libpq_url(url), stats) + check(libpq_url(url), opened)
        if verify.returncode != 0:
            problems.append("projections differ from a rebuild:\n" + verify.stdout + verify.stderr)
        report = Report("Mixed load against harbour up", environment=environment(admin))
    after = echo_ceiling("grpc.aio echo, after the load")
    ceiling = Row(ECHO, CALLERS, (before.events + after.events) // 2, ECHO_SECONDS)
    done = len(stats.latencies)
    answered = done + stats.setup_commands + sum(stats.refusals.values())
    used = {part: cpu_after[part] - cpu_before.get(part, 0.0) for part in cpu_after}
    cpu_total = sum(used.values()) * 1000 / answered
    cpu = cpu_per_command(cpu_before, cpu_after, answered)
    retried = retries_per_command(retried_before, retried_after, answered)
    report.rows += [before, after, ceiling]
    report.rows.append(
        Row(
            "acknowledged commands (closed loop)",
            CALLERS,
            done,
            elapsed,
            baseline=ECHO,
            note=f"p50 {stats.percentile(0.5):.1f} ms, p95 {stats.percentile(0.95):.1f} ms, "
            f"p99 {stats.percentile(0.99):.1f} ms; refused {sum(stats.refusals.values())} "
            f"({dict(stats.refusals)}); retries {stats.retries} ({dict(stats.retried)}); "
            f"price ticks rejected {dict(stats.price_rejections) or 0}; "
            f"setup commands {stats.setup_commands}; {cpu}; {retried}",
        )
    )
    report.rows.append(
        Row(
            OPEN_LOOP,
            0,
            len(opened.latencies),
            opened.seconds,
            baseline=ECHO,
            note=f"sent at {rate:,.0f}/s; p50 {opened.percentile(0.5):.1f} ms, "
            f"p95 {opened.percentile(0.95):.1f} ms, p99 {opened.percentile(0.99):.1f} ms; "
            f"refused {sum(opened.refusals.values())}; retries {opened.retries}",
        )
    )
    for kind in sorted(stats.by_kind, key=lambda k: -len(stats.by_kind[k])):
        count = len(stats.by_kind[kind])
        report.rows.append(
            Row(
                kind,
                CALLERS,
                count,
                elapsed,
                note=f"p50 {stats.percentile(0.5, kind):.1f} ms, "
                f"p99 {stats.percentile(0.99, kind):.1f} ms",
            )
        )
    report.targets = [
        Target(
            "closed loop / echo (issue #13)",
            report.ratio("acknowledged commands (closed loop)", ECHO),
            0.25,
            "x",
        ),
        Target("CPU per command, all processes (4 ms at most; negated)", -cpu_total, -4.0, "ms"),
        Target("open-loop p99 headroom (50 ms - p99)", 50 - opened.percentile(0.99), 0, "ms"),
        Target("invariant violations (0 required; shown negated)", -len(problems), 0, ""),
    ]
    print(report.markdown())
    for row in (before, after):
        print(f"{row.scenario}: {row.rate:,.0f} calls/s, {row.note}")
    print(report.row("acknowledged commands (closed loop)").note)
    print(f"{OPEN_LOOP}: {report.row(OPEN_LOOP).note}")
    print(stats.per_kind())
    for refusal, message in sorted(stats.refusal_samples.items()):
        print(f"refused {refusal}, e.g. {message}")
    print(verify.stdout)
    for problem in problems:
        print("VIOLATION:", problem)
    report.save("load")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
