"""What every importer shares: located notes about the foreign file, names, and the final
check that turns translated data into evopipe YAML (or a located refusal)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from evopipe.check import check_text
from evopipe.spec.errors import Diagnostic
from evopipe.spec.loader import PathKey, Source, format_where

UNSUPPORTED = "import-unsupported"
"""A construct with no evopipe equivalent that changes what the pipeline computes: an error."""
DROPPED = "import-dropped"
"""A setting evopipe has no use for (logging, tool permissions, files written): a warning."""
APPROXIMATED = "import-approximated"
"""A construct translated to a near equivalent (the message says how): a warning."""


@dataclass(frozen=True)
class Translation:
    """The result of an import: evopipe YAML when no error was found, and every diagnostic."""

    source: str
    text: str | None
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.text is not None

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "warning"]


class Notes:
    """Diagnostics about the foreign file, each located at the construct it names."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.items: list[Diagnostic] = []

    def _add(self, rule: str, severity: str, where: PathKey, message: str, hint: str) -> None:
        line, column = self.source.locate(where, key=True)
        found = Diagnostic(
            rule,
            message,
            "error" if severity == "error" else "warning",
            self.source.path,
            line,
            column,
            format_where(where),
            hint,
        )
        if found not in self.items:  # a workflow default met by several steps: said once
            self.items.append(found)

    def unsupported(self, where: PathKey, message: str, hint: str = "") -> None:
        self._add(UNSUPPORTED, "error", where, message, hint)

    def dropped(self, where: PathKey, message: str, hint: str = "") -> None:
        self._add(DROPPED, "warning", where, message, hint)

    def approximated(self, where: PathKey, message: str, hint: str = "") -> None:
        self._add(APPROXIMATED, "warning", where, message, hint)

    @property
    def has_errors(self) -> bool:
        return any(d.severity == "error" for d in self.items)


def step_id(name: object) -> str:
    """A foreign step name as an evopipe step id (``[A-Za-z_][A-Za-z0-9_]*``)."""
    text = re.sub(r"\W", "_", str(name)).strip("_") or "step"
    return text if re.match(r"[A-Za-z_]", text) else f"s_{text}"


def pipeline_name(name: object) -> str:
    """A foreign pipeline name as an evopipe name (``[a-z0-9][a-z0-9_.-]*``, <= 100 chars)."""
    text = re.sub(r"[^a-z0-9_.-]+", "-", str(name).lower()).strip("-_.") or "imported"
    return text[:100]


def input_name(path: str) -> str:
    """A free template variable (``code_file``, ``forge.cli_tool``) as an input name."""
    return step_id(re.sub(r"[\W_]+", "_", path))


def finish(data: dict[str, Any], notes: Notes, fmt: str) -> Translation:
    """Check the translated pipeline; refuse it when the notes or evopipe's checks found
    errors, else return its YAML with the warnings recorded in ``metadata.import``."""
    path = notes.source.path
    if notes.has_errors:
        return Translation(path, None, list(notes.items))
    warnings = [d.format().split("\n")[0] for d in notes.items]
    data.setdefault("metadata", {})["import"] = {"format": fmt, "source": path, "notes": warnings}
    text = f"# imported by `evopipe import {fmt}` from {path}\n" + yaml.safe_dump(
        data, sort_keys=False, allow_unicode=True, width=100
    )
    problems = [d for d in check_text(text, f"<import of {path}>") if d.severity == "error"]
    if problems:
        return Translation(path, None, [*notes.items, *problems])
    return Translation(path, text, list(notes.items))
