"""The `harbour` command run inside the test process: its ``main()`` with the environment a
process would get, its output captured, and its exit status as the process would report it.

Starting Python and importing harbour costs a second or more per command (several on a loaded
CI machine), which is most of what a test of the command line waits for. A test that runs the
command many times runs one of them as a real process (`tests.integration.test_cli.harbour`:
the entry point, the interpreter's exit status, nothing but the command's output) and the rest
here. ``main()`` runs in a thread of its own: it calls ``asyncio.run``, which must not meet the
test's event loop (nor replace the test thread's current loop when it ends).
"""

from __future__ import annotations

import io
import logging
import os
import threading
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass

from harbour.runtime.cli import main

PREFIX = "HARBOUR_"


@dataclass(frozen=True)
class Ran:
    """What a finished ``harbour`` command left, as ``subprocess.CompletedProcess`` has it."""

    returncode: int
    stdout: str
    stderr: str


def harbour_in_process(*args: str, url: str, log_level: str = "WARNING") -> Ran:
    """``harbour ARGS`` against the database at ``url``, as `test_cli.harbour` runs it."""
    inherited = {k: v for k, v in os.environ.items() if k.startswith(PREFIX)}
    return run_main(
        args, {**inherited, "HARBOUR_DATABASE_URL": url, "HARBOUR_LOG_LEVEL": log_level}
    )


def run_main(args: tuple[str, ...], harbour_env: Mapping[str, str], timeout: float = 120) -> Ran:
    """``main(args)`` with exactly ``harbour_env`` as its HARBOUR_* environment."""
    out, err = io.StringIO(), io.StringIO()
    status: list[int] = []

    def command() -> None:
        with redirect_stdout(out), redirect_stderr(err):
            try:
                status.append(main(list(args)))
            except SystemExit as exit_:  # argparse and explicit exits, as the interpreter does
                status.append(_exit_status(exit_, err))
            except BaseException:  # what the interpreter prints for an uncaught exception
                err.write(traceback.format_exc())
                status.append(1)

    with _harbour_environment(harbour_env), _logging_restored():
        thread = threading.Thread(target=command, name=f"harbour {' '.join(args)}")
        thread.start()
        thread.join(timeout)
    if thread.is_alive():
        raise AssertionError(f"harbour {' '.join(args)} did not finish in {timeout:g} s")
    return Ran(status[0], out.getvalue(), err.getvalue())


def _exit_status(exit_: SystemExit, err: io.StringIO) -> int:
    if exit_.code is None or isinstance(exit_.code, int):
        return exit_.code or 0
    err.write(f"{exit_.code}\n")
    return 1


@contextmanager
def _harbour_environment(harbour_env: Mapping[str, str]) -> Iterator[None]:
    """Every HARBOUR_* variable replaced by ``harbour_env`` for the block (the command reads
    its settings from the environment once, at its start)."""
    saved = {k: v for k, v in os.environ.items() if k.startswith(PREFIX)}
    for name in saved:
        del os.environ[name]
    os.environ.update(harbour_env)
    try:
        yield
    finally:
        for name in [k for k in os.environ if k.startswith(PREFIX)]:
            del os.environ[name]
        os.environ.update(saved)


@contextmanager
def _logging_restored() -> Iterator[None]:
    """The command installs its own log handler (on the captured stderr) and level; the tests
    that run after it keep the logging they had."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    plugins = logging.getLogger("alembic.runtime.plugins")
    plugins_level = plugins.level
    try:
        yield
    finally:
        for handler in [h for h in root.handlers if h not in handlers]:
            root.removeHandler(handler)
        root.setLevel(level)
        plugins.setLevel(plugins_level)
