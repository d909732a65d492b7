"""Confining an agent's file tools to its working directory.

Every path the model names goes through :func:`confined`: it must be relative, have no ``..``
component, and resolve — symlinks followed — inside the root (see
:func:`evopipe.steps.workspace.resolve_in_workspace`). On top of that:

- a regular file with more than one hard link is refused (a hard link can point at a file
  outside the workspace, and no path check can tell);
- writes are refused under ``.git`` (a repository's hooks and config are code) and under the
  agent's own bookkeeping directory;
- writes never follow a symlink at the last component (``O_NOFOLLOW``), so a link planted
  between the check and the write cannot redirect it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath

from evopipe.steps.workspace import WorkspaceError, resolve_in_workspace

STATE_DIR = ".evopipe-agent"
"""The agent's bookkeeping directory inside the workspace (snapshots); hidden from its tools."""

_PROTECTED = (".git", STATE_DIR)
MAX_READ_BYTES = 200_000


class PathRefused(WorkspaceError):
    """A tool was asked for a path outside what the agent may touch."""


def confined(root: Path, relpath: str, *, write: bool = False) -> Path:
    """The absolute path for ``relpath`` under ``root``, or :class:`PathRefused`."""
    if not isinstance(relpath, str):
        raise PathRefused(f"path must be a string, got {type(relpath).__name__}")
    cleaned = relpath.strip() or "."
    try:
        target = resolve_in_workspace(root, cleaned)
    except WorkspaceError as exc:
        raise PathRefused(str(exc).replace("artifact path", "path")) from None
    base = root.resolve()
    parts = PurePosixPath(cleaned.replace("\\", "/")).parts
    inside = target.relative_to(base).parts if target != base else ()
    if any(p in _PROTECTED for p in (*parts, *inside)) and (
        write or STATE_DIR in (*parts, *inside)
    ):
        raise PathRefused(f"path {relpath!r} is protected (.git and {STATE_DIR} are off limits)")
    _refuse_hardlinks(target, relpath)
    return target


def _refuse_hardlinks(target: Path, relpath: str) -> None:
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise PathRefused(f"cannot inspect {relpath!r}: {exc.strerror}") from None
    if stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
        raise PathRefused(f"path {relpath!r} has other hard links; refused")


def read_text(root: Path, relpath: str) -> str:
    path = confined(root, relpath)
    if not path.is_file():
        raise PathRefused(f"{relpath!r} is not a file")
    data = path.read_bytes()[: MAX_READ_BYTES + 1]
    text = data[:MAX_READ_BYTES].decode("utf-8", errors="replace")
    return text + ("\n[... truncated]" if len(data) > MAX_READ_BYTES else "")


def write_text(root: Path, relpath: str, content: str) -> Path:
    """Write ``content`` (creating parent directories inside the root), never through a link."""
    path = confined(root, relpath, write=True)
    base = root.resolve()
    parent = path.parent
    missing = []
    while not parent.exists():
        missing.append(parent)
        parent = parent.parent
    for directory in reversed(missing):
        directory.mkdir()
        if not directory.resolve().is_relative_to(base):  # pragma: no cover - raced link
            raise PathRefused(f"path {relpath!r} resolves outside the workspace")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as exc:
        raise PathRefused(f"cannot write {relpath!r}: {exc.strerror}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(content)
    return path
