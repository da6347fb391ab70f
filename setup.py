"""One build step pyproject.toml cannot declare: the wheel carries the Alembic migrations.

migrations/ stays at the repository root, where `alembic` (alembic.ini), the Makefile and the
tests use it. A built harbour-ledger carries a copy as package data, ``harbour/_migrations``
(env.py, script.py.mako, versions/*.py), which ``harbour.runtime.database.migrations_root``
finds when no checkout is there: `harbour migrate`, the image and ``harbour.testing`` migrate
from any directory. setuptools' package-data cannot reach outside a package's folder, hence
this copy in ``build_py``; MANIFEST.in puts migrations/ in the sdist for the same build.
Everything else about the package is in pyproject.toml.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

MIGRATIONS = Path("migrations")  # setup.py runs in the project's root
PACKAGED = Path("harbour", "_migrations")
MIGRATION_FILES = ("env.py", "script.py.mako", "versions/*.py")


def migration_files() -> list[Path]:
    found = sorted(path for pattern in MIGRATION_FILES for path in MIGRATIONS.glob(pattern))
    if not any(path.name == "env.py" for path in found):
        raise SystemExit(f"no {MIGRATIONS}/env.py to package: build from the repository's root")
    return found


class BuildPyWithMigrations(build_py):
    """build_py, then migrations/ copied to harbour/_migrations in the build directory."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install runs them from the checkout
            return
        for source in migration_files():
            target = Path(self.build_lib) / PACKAGED / source.relative_to(MIGRATIONS)
            self.mkpath(str(target.parent))
            self.copy_file(str(source), str(target), preserve_mode=False)


setup(cmdclass={"build_py": BuildPyWithMigrations})
