"""Validation of several paths at once and its two renderings (compiler-style text, JSON).

The CLI (``evopipe validate``) and the HTTP server call these; they hold no logic of their own.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from evopipe.check.api import check_file, has_errors
from evopipe.check.options import CheckOptions
from evopipe.spec.errors import Diagnostic

PIPELINE_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True, slots=True)
class FileReport:
    """The diagnostics of one file."""

    path: str
    diagnostics: tuple[Diagnostic, ...]

    @property
    def valid(self) -> bool:
        return not has_errors(self.diagnostics)

    def to_json(self) -> dict[str, object]:
        return {
            "path": self.path,
            "valid": self.valid,
            "diagnostics": [d.to_json() for d in self.diagnostics],
        }


def expand_paths(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Files as given; directories become the pipeline files under them, sorted."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix in PIPELINE_SUFFIXES)
        else:
            yield path


PARALLEL_MIN_FILES = 64
"""Below this many files, checking in one process beats starting workers."""


def validate_paths(
    paths: Iterable[str | Path],
    *,
    profile: str = "default",
    options: CheckOptions | None = None,
    workers: int | None = None,
) -> list[FileReport]:
    """Check every file (directories expand to their ``*.yaml``/``*.yml`` files), in input
    order. Many files are checked by a pool of worker processes (one per core unless
    ``workers`` says otherwise); the reports are the same either way."""
    files = list(expand_paths(paths))
    count = workers if workers is not None else (os.cpu_count() or 1)
    if count <= 1 or len(files) < PARALLEL_MIN_FILES or not _can_fork():
        return [_report(path, profile, options) for path in files]
    # fork: the workers inherit ``options`` (its model predicate may be a closure) unpickled
    with ProcessPoolExecutor(
        count,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_init_worker,
        initargs=(profile, options),
    ) as pool:
        chunk = max(1, len(files) // (count * 4))
        return list(pool.map(_worker_report, files, chunksize=chunk))


def _report(path: Path, profile: str, options: CheckOptions | None) -> FileReport:
    return FileReport(str(path), tuple(check_file(path, profile=profile, options=options)))


def _can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


_WORKER: dict[str, tuple[str, CheckOptions | None]] = {}
"""Set once in each worker process by its initializer; never in the parent."""


def _init_worker(profile: str, options: CheckOptions | None) -> None:
    _WORKER["settings"] = (profile, options)


def _worker_report(path: Path) -> FileReport:
    profile, options = _WORKER["settings"]
    return _report(path, profile, options)


def reports_json(reports: Sequence[FileReport]) -> str:
    """``{"files": [{"path", "valid", "diagnostics": [...]}]}``."""
    return json.dumps({"files": [r.to_json() for r in reports]}, indent=2, ensure_ascii=False)


def summary(reports: Sequence[FileReport]) -> str:
    diags = [d for r in reports for d in r.diagnostics]
    errors = sum(d.severity == "error" for d in diags)
    warnings = sum(d.severity == "warning" for d in diags)
    files = len(reports)
    return (
        f"checked {files} file{'s' * (files != 1)}: {errors} error{'s' * (errors != 1)}, "
        f"{warnings} warning{'s' * (warnings != 1)}"
    )
