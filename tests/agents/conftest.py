"""Fixtures for the agent, session and coding-agent tests (helpers: agents_helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from agents_helpers import LEAN_PYTEST


@pytest.fixture(autouse=True)
def lean_child_pytest(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fixture repositories' own ``python -m pytest`` loads none of this virtualenv's
    plugins (schemathesis, playwright, … took 3 s of every run; the tasks need none). The
    agents' policy passes the variable through (``agents_helpers.POLICY``)."""
    monkeypatch.setenv(LEAN_PYTEST, "1")


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "a.py").write_text("x = 1\n")
    return root
