"""The database connection lifecycle: one pooled engine per app (and one for a replica).

Hot read paths take a Core connection from `read_engine()`; editing and importing use
`engine()`. Migrations are run with `upgrade()`/`downgrade()` through Alembic.
"""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from mapping.core.config import Settings

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


def make_engine(url: str, settings: Settings, *, read_only: bool = False) -> Engine:
    # A locked table fails a request in seconds instead of holding a worker for the whole
    # statement timeout.
    # Feed queries are short: launching parallel workers or JIT-compiling costs more than
    # it saves, and both would multiply under concurrent load.
    options = (f"-c statement_timeout={int(settings.statement_timeout_ms)} "
               f"-c lock_timeout={int(settings.lock_timeout_ms)} -c application_name=assetmap "
               "-c jit=off -c max_parallel_workers_per_gather=0")
    if read_only:
        options += " -c default_transaction_read_only=on"
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=settings.pool_size,
        max_overflow=settings.pool_size,
        pool_timeout=settings.pool_timeout_s,
        connect_args={"options": options, "connect_timeout": 5},
    )


def init_app(app, settings: Settings) -> None:
    url = settings.resolved_database_url()
    app.extensions["assetmap.engine"] = make_engine(url, settings)
    replica_url = settings.resolved_replica_url()
    if replica_url:
        app.extensions["assetmap.read_engine"] = make_engine(replica_url, settings, read_only=True)
    else:
        app.extensions["assetmap.read_engine"] = app.extensions["assetmap.engine"]


def engine() -> Engine:
    return current_app.extensions["assetmap.engine"]


def read_engine() -> Engine:
    """The engine for queries that only read: the replica when one is configured."""
    return current_app.extensions["assetmap.read_engine"]


def alembic_config(url: str) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config("postgresql://")).get_current_head()


def current_revision(connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def recreate_database(url: str) -> None:
    """Drop and create the database `url` names (tests and benchmarks; never the live one)."""
    from sqlalchemy.engine import make_url

    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


def create_database_if_missing(url: str) -> None:
    """Create the database `url` names unless it exists (the embedded cluster's)."""
    from sqlalchemy.engine import make_url

    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            if connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                  {"name": target.database}).first() is None:
                connection.execute(text(f'CREATE DATABASE "{target.database}"'))
    finally:
        admin.dispose()


def server_version(connection) -> str:
    return connection.execute(text("SHOW server_version")).scalar_one()


def postgis_version(connection) -> str:
    return connection.execute(text("SELECT postgis_lib_version()")).scalar_one()
