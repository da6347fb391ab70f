"""An installed harbour-ledger migrates a database and runs from any directory: its wheel, built
here, carries the Alembic migrations (``harbour/_migrations``, copied in by setup.py), and once
installed into a fresh virtual environment outside the checkout, a script run from an empty
temporary directory starts harbour.testing's in-process stack on a fresh, empty database (the
packaged migrations, no alembic.ini anywhere) and onboards a client.

The wheel itself is installed by pip; its dependencies are not (grpcio, numpy, pyarrow and the
embedded PostgreSQL would take a minute or more from an index, and the network). As the client
wheel's test links grpcio and protobuf, the environment borrows this one's site-packages through
a .pth line: that adds the directory to sys.path without running the .pth files in it, so the
editable install's path (the checkout's services/) stays off sys.path and ``harbour`` is the
wheel's, which the script checks before anything else.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import sysconfig
import time
import zipfile
from pathlib import Path

from alembic.script import ScriptDirectory

from harbour.runtime.database import alembic_config, current_revision
from tests.e2e.test_client_wheel import ROOT, build_wheel, pip

# What the server's wheel is built from (the rest of the repository is not needed).
SERVER_PARTS = ("pyproject.toml", "README.md", "setup.py", "MANIFEST.in", "services", "migrations")
PACKAGED = "harbour/_migrations/"
CALLER = """
import asyncio
import sys
from pathlib import Path

import harbour
from harbour.runtime.database import alembic_config, migrations_root

url, checkout = sys.argv[1], Path(sys.argv[2])
venv = Path(sys.prefix).resolve()
if not Path(harbour.__file__).resolve().is_relative_to(venv):
    sys.exit(f"harbour comes from {harbour.__file__}, not the installed wheel")
if str(checkout / "services") in sys.path or str(checkout) in sys.path:
    sys.exit(f"the checkout is on sys.path: {sys.path}")
if not migrations_root().is_relative_to(venv) or migrations_root().name != "_migrations":
    sys.exit(f"the migrations come from {migrations_root()}, not the wheel's copy")
if alembic_config(url).config_file_name is not None or Path("alembic.ini").exists():
    sys.exit("an alembic.ini is in use")

from harbour.api.v1 import accounts_pb2 as pb
from harbour.api.v1.common_pb2 import Amount
from harbour.testing import harbour_stack


async def main() -> None:
    async with harbour_stack(database_url=url, services=("accounts",), projector=False) as stack:
        reply = await stack.accounts.OnboardClient(
            pb.OnboardClientRequest(
                request_id="server-wheel-1", client_id="SW1",
                securities_margin_account_id="SMA-SW1",
                credit_grade="A", credit_assessment_id="CA-SW1",
                credit_limit=Amount(asset="HKD", value="1000.00"),
                margin_agreement_version="MA-2026", risk_disclosure_version="VARD-1",
            ),
            timeout=30,
        )
        print(reply.result.stream_id, migrations_root().relative_to(venv).as_posix())


asyncio.run(main())
"""


def migration_files(wheel: Path) -> set[str]:
    """The migration files the wheel carries, relative to its harbour/_migrations."""
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    return {name.removeprefix(PACKAGED) for name in names if name.startswith(PACKAGED)}


def checkout_migration_files() -> set[str]:
    migrations = ROOT / "migrations"
    found = [migrations / "env.py", migrations / "script.py.mako"]
    found += (migrations / "versions").glob("*.py")
    return {path.relative_to(migrations).as_posix() for path in found}


def install_server(into: Path) -> Path:
    """The server's wheel, checked to carry every migration, installed (no dependencies) in a
    fresh environment borrowing this one's site-packages; returns that environment's python."""
    wheel = build_wheel(into, ROOT, SERVER_PARTS)
    assert migration_files(wheel) == checkout_migration_files()
    venv = into / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    pip("--python", str(python), "install", "--no-deps", "--no-index", "--no-compile", str(wheel))
    (site,) = venv.glob("lib/python*/site-packages")
    (site / "borrowed-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


async def test_the_installed_wheel_migrates_a_fresh_database_and_serves_from_any_directory(
    tmp_path: Path, empty_database_url: str
) -> None:
    started = time.monotonic()
    python = await asyncio.to_thread(install_server, tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    caller = await asyncio.create_subprocess_exec(
        str(python),
        "-I",
        "-c",
        CALLER,
        empty_database_url,
        str(ROOT),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=elsewhere,
    )
    out, err = await asyncio.wait_for(caller.communicate(), timeout=120)
    assert caller.returncode == 0, err.decode()
    stream, migrations = out.decode().split()
    assert stream == "account-SW1"
    assert migrations.endswith("site-packages/harbour/_migrations"), migrations
    head = ScriptDirectory.from_config(alembic_config(empty_database_url)).get_current_head()
    assert await asyncio.to_thread(current_revision, empty_database_url) == head
    took = time.monotonic() - started
    print(f"\n[server wheel] built, installed, migrated and called in {took:.1f}s")
