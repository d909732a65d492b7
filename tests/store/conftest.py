"""Fixtures for the store tests: a SQLite store and a throwaway PostgreSQL cluster."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from evopipe.store import Store, tables
from evopipe.store.testing import create_database, throwaway_postgres


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A URL of a fresh PostgreSQL cluster, started once per session (fails if not installed)."""
    with throwaway_postgres() as url:
        yield url


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(str(tmp_path / "evopipe.db")) as store:
        yield store


@pytest.fixture(scope="session")
def postgres_store_url(postgres_url: str) -> str:
    """One database for the parametrised store tests; each test empties the core tables."""
    return create_database(postgres_url, "store_tests")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """The same store tests against SQLite and PostgreSQL."""
    if request.param == "sqlite":
        url = str(tmp_path / "evopipe.db")
    else:
        url = request.getfixturevalue("postgres_store_url")
    with Store.open(url) as opened:
        if opened.dialect == "postgresql":
            with opened.begin() as conn:
                names = ", ".join(t.name for t in tables.CORE_TABLES)
                conn.exec_driver_sql(f"TRUNCATE {names}")
        yield opened
