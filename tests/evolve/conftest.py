"""Fixtures of the evolution tests: a store on a temporary SQLite file and its repository."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from evopipe.app.schema import MIGRATIONS
from evopipe.evolve.repository import EvolutionRepository
from evopipe.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    st = Store.open(str(tmp_path / "evo.db"), migrations=MIGRATIONS)
    try:
        yield st
    finally:
        st.close()


@pytest.fixture
def repo(store: Store) -> EvolutionRepository:
    return EvolutionRepository(store)
