"""Plain functions the ``python`` step tests call in a child process (importable by name)."""

from __future__ import annotations

import os
import time
from pathlib import Path


def add(a: int, b: int) -> dict[str, int]:
    return {"sum": a + b, "pid": os.getpid()}


def slow(seconds: float, marker: str) -> str:
    """Sleep, then leave a marker file: it exists only if nothing stopped the call."""
    Path(marker + ".started").write_text(str(os.getpid()))
    time.sleep(seconds)
    Path(marker).write_text("finished")
    return "done"


def boom() -> None:
    raise ValueError("no such customer")


def unsendable() -> object:
    return lambda: None


def vanish() -> None:
    os._exit(3)
