"""What the `harbour` command prints and how it finds `harbour up`'s database, without one."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from harbour.runtime.audit_cli import Progress
from harbour.runtime.embedded import running_server_url


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_progress_rewrites_one_line_with_the_rate_and_ends_it() -> None:
    clock, out = FakeClock(), io.StringIO()
    progress = Progress("verifying", out=out, clock=clock, every=0.25)
    clock.now += 0.5
    progress(1_000)  # shown: 2,000 events/s
    clock.now += 0.1
    progress(1_100)  # too soon after the last: not shown
    clock.now += 0.4
    progress(2_000)
    clock.now += 1.0
    progress.done(6_000)
    assert out.getvalue() == (
        "\rverifying 1,000 events in 0.5s (2,000 events/s)"
        "\rverifying 2,000 events in 1.0s (2,000 events/s)"
        "\rverifying 6,000 events in 2.0s (3,000 events/s)\n"
    )


def test_progress_of_no_time_at_all_names_no_rate() -> None:
    out = io.StringIO()
    progress = Progress("exporting", out=out, clock=FakeClock())
    progress.done(0)
    assert out.getvalue() == "\rexporting 0 events in 0.0s (- events/s)\n"


def postmaster_pid(pgdata: Path, pid: int, port: str = "5433", socket_dir: str = "/run/pg") -> None:
    """The file PostgreSQL writes while it runs (pid, data dir, start, port, socket dir, ...)."""
    pgdata.mkdir(parents=True)
    lines = [str(pid), str(pgdata), "1712346200", port, socket_dir, "", "  8826964  65536", "ready"]
    (pgdata / "postmaster.pid").write_text("\n".join(lines) + "\n")


def test_the_running_server_is_found_from_the_port_and_socket_it_wrote(tmp_path: Path) -> None:
    postmaster_pid(tmp_path / "pgdata", os.getpid())  # a pid that surely runs
    assert (
        running_server_url(tmp_path / "pgdata", "harbour")
        == "postgresql://postgres@/harbour?host=/run/pg&port=5433"
    )


def test_no_server_is_found_where_none_runs(tmp_path: Path) -> None:
    assert running_server_url(tmp_path / "never-initialised", "harbour") is None
    exited = subprocess.Popen([sys.executable, "-c", "pass"])
    exited.wait()  # a crash leaves postmaster.pid behind, naming a pid that is gone
    postmaster_pid(tmp_path / "crashed", exited.pid)
    assert running_server_url(tmp_path / "crashed", "harbour") is None
    (tmp_path / "garbled").mkdir()
    (tmp_path / "garbled" / "postmaster.pid").write_text("not a pid\n")
    assert running_server_url(tmp_path / "garbled", "harbour") is None
