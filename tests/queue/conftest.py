"""Fixtures for the queue tests: a store URL on SQLite and on a throwaway PostgreSQL cluster,
and a pipeline whose model records every call."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from evopipe.store.testing import create_database, throwaway_postgres


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL cluster, started once per session (fails if not installed)."""
    with throwaway_postgres() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a SQLite file, or a new database in the PostgreSQL cluster."""
    if request.param == "sqlite":
        return str(tmp_path / "queue.db")
    return create_database(request.getfixturevalue("postgres_url"), "queue")
