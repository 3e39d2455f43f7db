"""Migration 0002 builds exactly the tables the code declares, and can be undone."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from store import care_tables
from store.engine import migrate
from store.tables import metadata
from tests.store.conftest import Stores

CARE_TABLES = {
    "client_care_profile",
    "care_plan_item",
    "checkin",
    "checkin_outcome",
    "measurement",
    "checkin_event",
    "escalation",
    "attention_flag",
}


def _diff(connection: Connection) -> list[Any]:
    """Differences between the database and the declared tables, for the care tables only
    (other features' migrations declare their tables in their own modules)."""
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return [entry for entry in compare_metadata(context, metadata) if _about_care(entry)]


def _about_care(entry: Any) -> bool:
    if isinstance(entry, list):
        return any(_about_care(item) for item in entry)
    for part in entry[1:]:
        table = getattr(part, "table", None)
        name = getattr(table, "name", None) or getattr(part, "name", None)
        if name in CARE_TABLES or (isinstance(part, str) and part in CARE_TABLES):
            return True
    return False


async def test_migrated_schema_matches_the_declared_tables(stores: Stores) -> None:
    assert care_tables.checkin.name in metadata.tables
    async with stores.engine.connect() as conn:
        diff = await conn.run_sync(_diff)
    assert diff == []


async def test_downgrade_to_0001_removes_the_care_tables(stores: Stores) -> None:
    await migrate(stores.engine, "head")

    def tables(connection: Connection) -> set[str]:
        return set(sa.inspect(connection).get_table_names())

    async with stores.engine.connect() as conn:
        before = await conn.run_sync(tables)
    assert before >= CARE_TABLES

    from alembic import command

    from store.engine import alembic_config

    def downgrade(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0001")

    async with stores.engine.begin() as conn:
        await conn.run_sync(downgrade)
    async with stores.engine.connect() as conn:
        after = await conn.run_sync(tables)
    assert not after & CARE_TABLES
    assert {"client", "care_session", "help_request"} <= after
    await migrate(stores.engine)
    async with stores.engine.connect() as conn:
        assert await conn.run_sync(tables) == before
