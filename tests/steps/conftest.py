"""Fixtures for step-kind tests (helpers live in steps_helpers.py: unique module name)."""

from __future__ import annotations

from pathlib import Path

import pytest
from steps_helpers import EngineHarness, FakeContext

from evopipe.engine.policy import Policy


@pytest.fixture
def ctx(tmp_path: Path) -> FakeContext:
    ws = tmp_path / "workspace"
    ws.mkdir()
    return FakeContext(workspace=ws, base_dir=tmp_path)


@pytest.fixture
def trusted_ctx(tmp_path: Path) -> FakeContext:
    ws = tmp_path / "workspace"
    ws.mkdir()
    return FakeContext(policy=Policy.trusting(workspace_root=ws), workspace=ws, base_dir=tmp_path)


@pytest.fixture
def eng(tmp_path: Path) -> EngineHarness:
    return EngineHarness(tmp_path)
