"""Where the tests' own PostgreSQL keeps its data (tests/pg.py): a RAM disk with room, else the
system's temp directory, unless HARBOUR_TEST_PGDATA_ROOT says where."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests import pg


def test_the_named_root_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HARBOUR_TEST_PGDATA_ROOT", str(tmp_path))
    monkeypatch.setattr(pg, "RAM_DISK", tmp_path / "absent")
    assert pg.scratch_root() == str(tmp_path)
    made = pg.new_data_root("harbour-unit-")
    assert made.parent == tmp_path and made.name.startswith("harbour-unit-")
    pg.remove_data_root(made)
    assert not made.exists()


def test_a_ram_disk_with_room_is_used(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("HARBOUR_TEST_PGDATA_ROOT", raising=False)
    monkeypatch.setattr(pg, "RAM_DISK", tmp_path)
    free = os.statvfs(tmp_path).f_bavail * os.statvfs(tmp_path).f_frsize
    monkeypatch.setattr(pg, "RAM_DISK_ROOM", free // 2)
    assert pg.scratch_root() == str(tmp_path)


def test_no_ram_disk_or_too_little_room_is_the_temp_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("HARBOUR_TEST_PGDATA_ROOT", raising=False)
    monkeypatch.setattr(pg, "RAM_DISK", tmp_path / "absent")
    assert pg.scratch_root() is None
    monkeypatch.setattr(pg, "RAM_DISK", tmp_path)
    free = os.statvfs(tmp_path).f_bavail * os.statvfs(tmp_path).f_frsize
    monkeypatch.setattr(pg, "RAM_DISK_ROOM", free * 2)
    assert pg.scratch_root() is None
