"""Shared fixtures of the genesis tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

REQUESTS_FILE = Path(__file__).with_name("requests.yaml")


def load_requests() -> list[str]:
    data: Any = yaml.safe_load(REQUESTS_FILE.read_text(encoding="utf-8"))
    return [str(r) for r in data]


@pytest.fixture
def requests_30() -> list[str]:
    return load_requests()
