"""Error and diagnostic types shared by every layer.

Everything evopipe raises on bad input derives from :class:`EvopipeError`, so callers (and the
fuzz tests) can tell our own, well-described failures from bugs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One finding about a pipeline file, located like a compiler message."""

    rule: str
    message: str
    severity: Severity = "error"
    path: str = "<string>"
    line: int = 0
    column: int = 0
    where: str = ""
    hint: str = ""

    def format(self) -> str:
        """Render as ``file:line:col: error[rule]: message`` plus an indented hint."""
        head = (
            f"{self.path}:{self.line}:{self.column}: {self.severity}[{self.rule}]: {self.message}"
        )
        if self.where:
            head += f" (at {self.where})"
        return head + (f"\n  hint: {self.hint}" if self.hint else "")

    def to_json(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message,
            "line": self.line,
            "column": self.column,
            "where": self.where,
            "hint": self.hint,
        }


class EvopipeError(Exception):
    """Base of every error evopipe raises on purpose."""


@dataclass(eq=False)
class SpecError(EvopipeError):
    """A pipeline could not be loaded or is invalid; carries located diagnostics."""

    diagnostics: list[Diagnostic] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.__str__())

    def __str__(self) -> str:
        errors = [d for d in self.diagnostics if d.severity == "error"] or self.diagnostics
        return "\n".join(d.format() for d in errors) or "invalid pipeline"


class ConditionError(EvopipeError):
    """A condition expression is malformed or failed to evaluate.

    ``column`` (1-based, within the condition text) is set for syntax errors; ``name`` is the
    dotted name that could not be resolved, for evaluation errors about unknown names/fields.
    """

    def __init__(self, message: str, *, column: int | None = None, name: str | None = None):
        super().__init__(message)
        self.message = message
        self.column = column
        self.name = name


class TemplateError(EvopipeError):
    """A template is malformed, names something unknown, or failed to render."""
