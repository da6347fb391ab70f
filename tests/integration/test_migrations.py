"""Alembic is the only way the schema is created: pytest-alembic's built-in checks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from pytest_alembic.tests import (
    test_model_definitions_match_ddl,
    test_single_head_revision,
    test_up_down_consistency,
    test_upgrade,
)

from harbour.runtime.database import migrations_root
from harbour.runtime.settings import sync_url

__all__ = [
    "test_model_definitions_match_ddl",
    "test_single_head_revision",
    "test_up_down_consistency",
    "test_upgrade",
]


@pytest.fixture
def alembic_config() -> dict[str, Any]:
    return {"script_location": str(migrations_root())}


@pytest.fixture
def alembic_engine(empty_database_url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(sync_url(empty_database_url), poolclass=sa.pool.NullPool)
    yield engine
    engine.dispose()
