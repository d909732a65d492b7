"""Helpers of the Ray tests (a module of its own: ``conftest`` names are not unique).

The directory is not called ``ray``: put on ``sys.path`` by pytest, it would pass for the
``ray`` package where Ray is not installed.
"""

from __future__ import annotations

import os
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"


def ray_env() -> dict[str, str]:
    """The environment of the cluster's processes and of the drivers the tests start."""
    path = os.pathsep.join(p for p in (str(SRC), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "PYTHONPATH": path}
