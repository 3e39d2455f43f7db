"""Store tests run twice: on a SQLite file and on a real, throwaway PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from store import SqlStore, create_store_engine, migrate
from store.checkin_store import SqlCheckinStore
from tests.pg import PostgresServer, PostgresUnavailable, throwaway_postgres


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    try:
        with throwaway_postgres() as server:
            yield server
    except PostgresUnavailable as exc:
        pytest.fail(str(exc))


@dataclass
class Stores:
    engine: AsyncEngine
    care: SqlStore
    checkins: SqlCheckinStore

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/store.sqlite3"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.create_database()


@pytest.fixture
async def stores(database_url: str) -> AsyncIterator[Stores]:
    engine = create_store_engine(database_url)
    await migrate(engine)
    try:
        yield Stores(engine, SqlStore(engine), SqlCheckinStore(engine))
    finally:
        await engine.dispose()
