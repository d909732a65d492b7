"""Fixtures of the integration tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project directory, the current one, with no settings from the environment."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EVOPIPE_CONFIG", str(tmp_path / "none.toml"))
    for name in ("EVOPIPE_DB", "EVOPIPE_MODEL", "OTEL_TRACES_EXPORTER"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path
