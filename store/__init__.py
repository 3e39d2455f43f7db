"""The records store: SQLAlchemy Core (async) over SQLite by default, PostgreSQL in deployments."""

from store.engine import create_store_engine, migrate
from store.sql_store import SqlStore

__all__ = ["SqlStore", "create_store_engine", "migrate"]
