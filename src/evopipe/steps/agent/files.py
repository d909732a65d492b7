"""The agent's file tools: list, read, grep, write, edit — all confined by :mod:`.paths`.

Each returns the observation text the model sees, or raises :class:`ToolFailed` whose message
becomes an error observation (the loop continues; repeated identical errors mean ``stuck``).
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path

from evopipe.spec.errors import EvopipeError
from evopipe.steps.agent.paths import STATE_DIR, PathRefused, confined, read_text, write_text
from evopipe.steps.toolbox import ToolError, check_pattern

SKIP_DIRS = frozenset({".git", STATE_DIR, "__pycache__", ".pytest_cache", ".mypy_cache"})
MAX_LIST = 500
MAX_MATCHES = 200


class ToolFailed(EvopipeError):
    """A tool could not do what was asked; the message is shown to the model."""


def walk(root: Path, start: Path) -> list[Path]:
    """Files and directories under ``start`` (sorted, bookkeeping and caches skipped, links
    not followed)."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(start):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        here = Path(dirpath)
        found += [here / d for d in dirnames]
        found += [here / f for f in sorted(filenames) if not f.endswith(".pyc")]
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def list_files(root: Path, path: str = ".") -> str:
    start = _confined(root, path)
    if not start.is_dir():
        raise ToolFailed(f"{path!r} is not a directory")
    base = root.resolve()
    lines = [
        p.relative_to(base).as_posix() + ("/" if p.is_dir() and not p.is_symlink() else "")
        for p in walk(base, start)
    ]
    more = len(lines) - MAX_LIST
    text = "\n".join(lines[:MAX_LIST]) or "(empty)"
    return text + (f"\n[... {more} more]" if more > 0 else "")


def read_file(root: Path, path: str, start_line: int = 1, end_line: int | None = None) -> str:
    text = _text_of(root, path)
    lines = text.splitlines()
    first = max(1, int(start_line))
    last = len(lines) if end_line is None else min(len(lines), int(end_line))
    return "\n".join(f"{n:>4}| {lines[n - 1]}" for n in range(first, last + 1)) or "(empty file)"


def grep(root: Path, pattern: str, path: str = ".", glob: str = "*") -> str:
    try:
        regex = check_pattern(pattern)
    except ToolError as exc:
        raise ToolFailed(str(exc)) from None
    start = _confined(root, path)
    base = root.resolve()
    files = [start] if start.is_file() else [p for p in walk(base, start) if p.is_file()]
    hits: list[str] = []
    for file in files:
        rel = file.relative_to(base).as_posix()
        if not fnmatch.fnmatch(file.name, glob) or file.is_symlink():
            continue
        try:
            text = read_text(root, rel)
        except (PathRefused, OSError):
            continue
        for n, line in enumerate(text.splitlines(), 1):
            if regex.search(line):
                hits.append(f"{rel}:{n}: {line.strip()[:200]}")
                if len(hits) >= MAX_MATCHES:
                    return "\n".join(hits) + "\n[... more matches]"
    return "\n".join(hits) or "(no matches)"


def write_file(root: Path, path: str, content: str) -> str:
    try:
        write_text(root, path, content)
    except PathRefused as exc:
        raise ToolFailed(str(exc)) from None
    return f"wrote {path} ({len(content.splitlines())} lines)"


def edit_file(root: Path, path: str, old: str, new: str) -> str:
    """Replace the one occurrence of ``old`` in the file by ``new``."""
    text = _text_of(root, path)
    count = text.count(old) if old else 0
    if count != 1:
        where = "not found" if count == 0 else f"found {count} times; include more context"
        raise ToolFailed(f"edit {path}: the text to replace was {where}")
    return write_file(root, path, text.replace(old, new, 1)).replace("wrote", "edited", 1)


def _text_of(root: Path, path: str) -> str:
    try:
        return read_text(root, path)
    except PathRefused as exc:
        raise ToolFailed(str(exc)) from None
    except FileNotFoundError:
        raise ToolFailed(f"no such file: {path!r}") from None


def _confined(root: Path, path: str) -> Path:
    try:
        return confined(root, path)
    except PathRefused as exc:
        raise ToolFailed(str(exc)) from None
