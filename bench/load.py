"""Load test: `make load` (python -m bench.load [SECONDS]).

`harbour up` (every service and the projector as separate processes) on an embedded
PostgreSQL, driven on loopback by the margin-lending mix of bench/workload.py (onboarding,
deposits, withdrawals, draws, repayments, price ticks) from many concurrent callers for a
fixed time. Then, with the services stopped, the read models are verified against a rebuild
(`harbour projections verify`, which catches them up first, and the trial balance) and every
invariant of `bench.workload.check` is proved against the database. Prints throughput and
latency percentiles, overall and per command kind.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

from bench.common import Report, Row, Target, embedded_server, environment, fresh_database
from bench.workload import Workload, check
from harbour.runtime.settings import SERVICES, libpq_url
from tests.e2e.test_harbour_up import free_port_block, wait_serving

CALLERS = 32
SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 20.0


def main() -> None:
    with embedded_server() as admin:
        url = fresh_database(admin, "load", migrated=False)
        base = free_port_block(len(SERVICES))
        env = {k: v for k, v in os.environ.items() if not k.startswith("HARBOUR_")}
        env.update(
            HARBOUR_DATABASE_URL=url, HARBOUR_PORT_BASE=str(base), HARBOUR_LOG_LEVEL="WARNING"
        )
        up = subprocess.Popen(
            [sys.executable, "-m", "harbour.runtime.cli", "up"], env=env, stdout=subprocess.DEVNULL
        )
        try:
            for offset in range(len(SERVICES)):
                wait_serving(base + offset, time.monotonic() + 60)
            addresses = {name: f"127.0.0.1:{base + i}" for i, name in enumerate(SERVICES)}
            stats = asyncio.run(Workload(addresses).run(callers=CALLERS, seconds=SECONDS))
            elapsed = stats.seconds  # the mixed phase, without the setup
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
        problems = check(libpq_url(url), stats)
        if verify.returncode != 0:
            problems.append("projections differ from a rebuild:\n" + verify.stdout + verify.stderr)
        report = Report("Mixed load against harbour up", environment=environment(admin))
        done = len(stats.latencies)
        report.rows.append(
            Row(
                "acknowledged commands",
                CALLERS,
                done,
                elapsed,
                note=f"p50 {stats.percentile(0.5):.1f} ms, p95 {stats.percentile(0.95):.1f} ms, "
                f"p99 {stats.percentile(0.99):.1f} ms; refused {sum(stats.refusals.values())} "
                f"({dict(stats.refusals)}); retries {stats.retries} ({dict(stats.retried)}); "
                f"price ticks rejected {dict(stats.price_rejections) or 0}; "
                f"setup commands {stats.setup_commands}",
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
            Target("sustained commands/s", done / elapsed, 2000, "/s"),
            Target("p99 headroom (50 ms - p99)", 50 - stats.percentile(0.99), 0, "ms"),
            Target("invariant violations (0 required; shown negated)", -len(problems), 0, ""),
        ]
    print(report.markdown())
    print(report.rows[0].note)
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
