"""Optional tools and extras: skipped on a developer machine that lacks them, but required
under CI (``CI=true``), where the Makefile installs them — so a skip never hides a failure."""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest

IN_CI = bool(os.environ.get("CI"))


def need_module(name: str, reason: str) -> ModuleType:
    if IN_CI:
        return importlib.import_module(name)
    return pytest.importorskip(name, reason=reason)


def missing(why: str) -> None:
    """A needed tool is absent: fail under CI, skip elsewhere."""
    if IN_CI:
        pytest.fail(f"{why} (CI installs it: see the Makefile)")
    pytest.skip(why)
