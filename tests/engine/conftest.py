"""Fixtures for engine tests (helpers live in engine_helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_helpers import Harness
from typer.testing import CliRunner


@pytest.fixture
def h(tmp_path: Path) -> Harness:
    return Harness(tmp_path)


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A CLI runner in ``tmp_path`` with no ``EVOPIPE_DB`` from the environment."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EVOPIPE_DB", raising=False)
    return CliRunner()
