from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from evopipe.app.schema import open_store
from evopipe.orchestrate.registry import Registry
from evopipe.spec import Pipeline, loads
from evopipe.store import Store


def pipeline(name: str, prompt: str = "Say {{ inputs.text }}") -> Pipeline:
    text = f"""apiVersion: evopipe/v1
kind: Pipeline
name: {name}
inputs: {{text: {{type: string, default: hi}}}}
outputs: {{answer: "{{{{ steps.a.output }}}}"}}
steps:
  - {{id: a, kind: llm, prompt: "{prompt}"}}
"""
    return loads(text).pipeline


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


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
