"""Validation of several paths at once and its two renderings (compiler-style text, JSON).

The CLI (``evopipe validate``) and the HTTP server call these; they hold no logic of their own.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
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


def validate_paths(
    paths: Iterable[str | Path],
    *,
    profile: str = "default",
    options: CheckOptions | None = None,
) -> list[FileReport]:
    """Check every file (directories expand to their ``*.yaml``/``*.yml`` files)."""
    return [
        FileReport(str(path), tuple(check_file(path, profile=profile, options=options)))
        for path in expand_paths(paths)
    ]


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
