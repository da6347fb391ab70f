"""Where `harbour migrate` finds the migrations, and its Alembic configuration built without
alembic.ini: the copy an installed wheel carries first, else the checkout's migrations/, never
the working directory; the options alembic.ini sets for the `alembic` command, the same.
(tests/e2e/test_server_wheel.py installs the wheel and migrates with it.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory

from harbour.runtime import database
from harbour.runtime.database import ALEMBIC_OPTIONS, alembic_config, migrations_root

ROOT = Path(__file__).resolve().parents[2]
URL = "postgresql://nobody@localhost/nothing"


def test_the_built_config_sets_what_alembic_ini_sets_without_the_file() -> None:
    ini = Config(str(ROOT / "alembic.ini"))
    built = alembic_config(URL)
    assert built.config_file_name is None
    assert built.attributes["url"] == URL
    location = built.get_main_option("script_location")
    assert location is not None and Path(location) == ROOT / "migrations"
    assert Path(str(ini.get_main_option("script_location"))) == ROOT / "migrations"
    for option in ALEMBIC_OPTIONS:
        assert built.get_main_option(option) == ini.get_main_option(option), option
    # A new option in alembic.ini must be built here too (or be one an install does not need:
    # prepend_sys_path puts services/ on the path of the `alembic` command in a checkout).
    options = set(ini.get_section("alembic") or {}) - set(ini.file_config.defaults())
    assert options == {"script_location", "prepend_sys_path", *ALEMBIC_OPTIONS}


def test_the_packaged_copy_comes_first_and_the_working_directory_never_counts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "alembic.ini").write_text("[alembic]\nscript_location = elsewhere\n")
    assert migrations_root() == ROOT / "migrations"  # a checkout has no packaged copy

    packaged = tmp_path / "site-packages" / "harbour" / "_migrations"
    packaged.mkdir(parents=True)
    (packaged / "env.py").write_text("")
    monkeypatch.setattr(database, "PACKAGED_MIGRATIONS", packaged)
    assert migrations_root() == packaged
    assert alembic_config(URL).get_main_option("script_location") == str(packaged)

    monkeypatch.setattr(database, "PACKAGED_MIGRATIONS", tmp_path / "missing")
    monkeypatch.setattr(database, "PROJECT_ROOT", tmp_path)
    (tmp_path / "migrations").mkdir()  # the working directory's: not looked at
    with pytest.raises(RuntimeError, match="no migrations in"):
        migrations_root()


def test_the_alembic_command_still_runs_from_the_checkout() -> None:
    alembic = Path(sys.executable).parent / "alembic"
    heads = subprocess.run(
        [str(alembic), "-c", "alembic.ini", "heads"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    head = ScriptDirectory.from_config(alembic_config(URL)).get_current_head()
    assert heads.stdout.split() == [str(head), "(head)"]
