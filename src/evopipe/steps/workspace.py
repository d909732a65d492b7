"""Artifact paths confined to the run's workspace directory.

Every path a step reads or writes (a shell step's working directory, an artifact it names) is
resolved here. A path is refused when it is absolute, contains a ``..`` component, or resolves —
through any symlink on the way — to somewhere outside the workspace.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath, PureWindowsPath

from evopipe.spec.errors import EvopipeError


class WorkspaceError(EvopipeError):
    """A path would leave the run's workspace."""


def ensure_workspace(root: Path) -> Path:
    """Create the workspace directory if needed; return its resolved path."""
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WorkspaceError(f"cannot create workspace {str(root)!r}: {exc}") from None
    resolved = root.resolve(strict=True)
    if not resolved.is_dir():
        raise WorkspaceError(f"workspace {str(root)!r} is not a directory")
    return resolved


def resolve_in_workspace(root: Path, relpath: str, *, step_id: str = "") -> Path:
    """The absolute path of ``relpath`` inside ``root``; :class:`WorkspaceError` if it escapes.

    Checks, in order: empty or NUL-containing path, absolute path (POSIX or Windows style),
    any ``..`` component, then the fully resolved path (symlinks followed) must stay under the
    resolved root. The file need not exist yet.
    """
    where = f"step {step_id!r}: " if step_id else ""
    if not relpath or "\x00" in relpath:
        raise WorkspaceError(f"{where}artifact path is empty or contains a NUL byte")
    posix, windows = PurePosixPath(relpath), PureWindowsPath(relpath)
    if posix.is_absolute() or windows.is_absolute() or windows.drive or relpath.startswith("\\"):
        raise WorkspaceError(
            f"{where}artifact path {relpath!r} is absolute; use a path relative to the workspace"
        )
    if ".." in posix.parts or ".." in windows.parts:
        raise WorkspaceError(f"{where}artifact path {relpath!r} contains '..'")
    base = root.resolve()
    target = (base / posix).resolve()
    if not target.is_relative_to(base):
        raise WorkspaceError(
            f"{where}artifact path {relpath!r} resolves outside the workspace (symlink?)"
        )
    return target
