"""`harbour up` keeps its children running: a child that exits is restarted after a capped
exponential backoff, so one crashing in a loop never spins (real child processes)."""

from __future__ import annotations

import os
import sys
import time

import pytest

from harbour.runtime.cli import CHILD_BACKOFF_CAP, Child


def test_a_child_crashing_in_a_loop_waits_longer_each_time_up_to_the_cap(
    capsys: pytest.CaptureFixture[str],
) -> None:
    child = Child("flaky", [sys.executable, "-c", "raise SystemExit(3)"], dict(os.environ))
    child.start()
    delays = []
    for _ in range(8):
        assert child.process is not None
        child.process.wait()
        now = time.monotonic()
        child.keep_running(now)  # notices the exit, schedules the restart
        assert child.restart_at is not None
        delays.append(child.restart_at - now)
        child.keep_running(child.restart_at - 0.01)  # not yet: still waiting
        assert child.restarts == len(delays) - 1
        child.keep_running(child.restart_at)  # now it starts again
        assert child.restarts == len(delays)
    assert child.process is not None
    child.process.wait()
    expected = [0.5, 1, 2, 4, 8, 16, 30, 30]  # each within its jitter, never past the cap
    for delay, base in zip(delays, expected, strict=True):
        assert base * 0.8 - 1e-9 <= delay <= min(base * 1.2, CHILD_BACKOFF_CAP) + 1e-9, delays
    err = capsys.readouterr().err
    assert "flaky exited unexpectedly (exit code 3)" in err


def test_a_running_child_is_left_alone_and_stops_on_terminate() -> None:
    child = Child("steady", [sys.executable, "-c", "import time; time.sleep(60)"], dict(os.environ))
    child.start()
    child.keep_running(time.monotonic())
    assert child.restart_at is None and child.restarts == 0
    child.terminate()
    child.wait_stopped()
    assert child.process is not None and child.process.returncode == -15
