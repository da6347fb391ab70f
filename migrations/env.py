"""Alembic environment: migrations run synchronously over psycopg 3."""

from __future__ import annotations

from logging.config import fileConfig

import sqlalchemy as sa
from alembic import context

from harbour.accounts.schema import metadata as accounts_metadata
from harbour.collateral.schema import metadata as collateral_metadata
from harbour.eventstore.schema import metadata as store_metadata
from harbour.lending.schema import metadata as lending_metadata
from harbour.liquidation.schema import metadata as liquidation_metadata
from harbour.liquidation.venue_schema import metadata as venues_metadata
from harbour.runtime.ownership import metadata as ownership_metadata
from harbour.runtime.settings import sync_url

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

# Every table the migrations create, for autogenerate and pytest-alembic's model check.
target_metadata = [
    store_metadata,
    accounts_metadata,
    collateral_metadata,
    lending_metadata,
    ownership_metadata,
    venues_metadata,
    liquidation_metadata,
]


def _url() -> str:
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        from harbour.runtime.settings import Settings

        url = Settings.from_env().database_url
    if not url:
        raise RuntimeError(
            "no database: set HARBOUR_DATABASE_URL or run `harbour migrate` (embedded PostgreSQL)"
        )
    return sync_url(url)


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if isinstance(connection, sa.Engine):  # pytest-alembic hands over an engine
        with connection.connect() as conn:
            context.configure(connection=conn, target_metadata=target_metadata)
            with context.begin_transaction():
                context.run_migrations()
            conn.commit()
        return
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = sa.create_engine(_url(), poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
