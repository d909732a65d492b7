from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from orch_helpers import pipeline

from evopipe.app.schema import open_store
from evopipe.orchestrate.registry import Registry
from evopipe.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(f"sqlite:///{tmp_path / 'o.db'}", environ={}) as s:
        yield s


@pytest.fixture
def registered(store: Store) -> Store:
    """``summarise`` with versions 1 (champion), 2 and 3."""
    reg = Registry(store)
    for i in (1, 2, 3):
        reg.add_version(
            "summarise", f"c{i}", pipeline("summarise", f"v{i} {{{{ inputs.text }}}}"), {}
        )
    reg.set_champion("summarise", 1)
    return store
