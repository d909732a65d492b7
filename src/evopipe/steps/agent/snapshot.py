"""The working directory before the agent touched it: a copy, a diff against it, a revert.

The copy lives in ``<workdir>/.evopipe-agent/<step>/before`` (hidden from the agent's tools) and
is taken once per step — a resumed step keeps the copy from before its first turn. Caches
(``__pycache__``, ``.pytest_cache``, ``*.pyc``) and ``.git`` are ignored.
"""

from __future__ import annotations

import difflib
import filecmp
import re
import shutil
from pathlib import Path

from evopipe.steps.agent.files import SKIP_DIRS
from evopipe.steps.agent.paths import STATE_DIR

MAX_DIFF_CHARS = 200_000


def _ignore(_dir: str, names: list[str]) -> set[str]:
    return {n for n in names if n in SKIP_DIRS or n.endswith(".pyc")}


def snapshot_dir(root: Path, step_id: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", step_id)
    return root / STATE_DIR / safe / "before"


def take(root: Path, step_id: str) -> Path:
    """Copy the tree once (kept if it exists: resume)."""
    dest = snapshot_dir(root, step_id)
    if not dest.exists():
        tmp = dest.with_name("before.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(root, tmp, symlinks=True, ignore=_ignore)
        tmp.rename(dest)
    return dest


def _files(base: Path) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for path in sorted(base.rglob("*")):
        rel = path.relative_to(base)
        if any(p in SKIP_DIRS for p in rel.parts) or path.name.endswith(".pyc"):
            continue
        if path.is_file() or path.is_symlink():
            out[rel.as_posix()] = path
    return out


def changed_files(root: Path, before: Path) -> list[str]:
    old, new = _files(before), _files(root)
    return sorted(
        rel
        for rel in old.keys() | new.keys()
        if rel not in old or rel not in new or not filecmp.cmp(old[rel], new[rel], shallow=False)
    )


def _lines(path: Path | None) -> list[str]:
    if path is None or path.is_symlink():
        return []
    return path.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)


def unified_diff(root: Path, before: Path) -> str:
    """``git diff``-like text of every change since the snapshot."""
    old, new = _files(before), _files(root)
    chunks: list[str] = []
    for rel in changed_files(root, before):
        a = f"a/{rel}" if rel in old else "/dev/null"
        b = f"b/{rel}" if rel in new else "/dev/null"
        diff = difflib.unified_diff(_lines(old.get(rel)), _lines(new.get(rel)), a, b)
        chunks.append("".join(line if line.endswith("\n") else line + "\n" for line in diff))
    text = "".join(chunks)
    return text if len(text) <= MAX_DIFF_CHARS else text[:MAX_DIFF_CHARS] + "[... diff cut]\n"


def revert(root: Path, before: Path) -> list[str]:
    """Make the tree equal to the snapshot again; returns the paths restored or removed."""
    old, new = _files(before), _files(root)
    touched = changed_files(root, before)
    for rel in touched:
        target = root / rel
        if rel not in old:
            target.unlink()
            continue
        if target.is_symlink() or target.exists():
            target.unlink()
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(old[rel], target, follow_symlinks=False)
    for rel in new:  # directories the agent created and left empty
        parent = (root / rel).parent
        while parent != root and parent.exists() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent
    return touched


def discard(root: Path, step_id: str) -> None:
    shutil.rmtree(snapshot_dir(root, step_id).parent, ignore_errors=True)
    state = root / STATE_DIR
    if state.exists() and not any(state.iterdir()):
        state.rmdir()
