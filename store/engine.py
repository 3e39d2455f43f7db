"""Engines and schema migrations for the records store."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def create_store_engine(url: str) -> AsyncEngine:
    """An async engine; SQLite files get WAL and foreign keys, and their folder is created.

    Health values (glucose, notes) are statement parameters, so no parameter may ever reach
    a log: SQLAlchemy hides them (also in exception messages), and aiosqlite, which logs every
    call with its arguments at DEBUG, is held at INFO whatever the configured level.
    """
    logging.getLogger("aiosqlite").setLevel(logging.INFO)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, hide_parameters=True)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_pre_ping=True, hide_parameters=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets report queries read while calls write; foreign keys are off by default in SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # One writer at a time: under load (a busy meal room on two cores) a queue of writers can
    # wait longer than the usual 5 s, and a write that gives up is a lost record.
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def alembic_config() -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


async def migrate(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema up to `revision` on the given engine (Alembic, in one transaction)."""

    def upgrade(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(upgrade)
