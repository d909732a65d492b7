"""Fixtures for engine tests (helpers live in engine_helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_helpers import Harness


@pytest.fixture
def h(tmp_path: Path) -> Harness:
    return Harness(tmp_path)
