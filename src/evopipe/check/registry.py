"""The shape of a rule: a name, a one-line doc, a function, and a bad and a good example.

The examples are part of the rule: ``docs/rules.md`` is generated from them and a test runs
each one (the bad example must produce the rule at the stated line and column, the good one must
not produce it).
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace

from evopipe.check.context import Context
from evopipe.spec.errors import Diagnostic, Severity

RuleFunction = Callable[[Context], Iterable[Diagnostic]]

PROFILES = ("default", "generated")
"""Rule profiles: ``default`` for every pipeline, ``generated`` adds rules for machine-written
ones (genesis output and evolved offspring)."""


@dataclass(frozen=True, slots=True)
class Example:
    """A pipeline document used to show (and test) a rule."""

    text: str
    line: int = 0
    """Where the bad example's diagnostic must be (1-based); unused for good examples."""
    column: int = 0
    files: Mapping[str, str] = field(default_factory=dict)
    """Extra files next to the example (relative path → text), e.g. schema files."""
    trusted: bool = False
    path: str = "pipeline.yaml"
    """The file checked; the text is always written to ``pipeline.yaml``."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One validation rule."""

    name: str
    doc: str
    check: RuleFunction | None
    """None: the loader reports this rule while reading the file."""
    bad: Example
    good: Example
    profiles: frozenset[str] = frozenset(PROFILES)
    severity: Severity = "error"

    def __post_init__(self) -> None:
        if self.name != self.name.lower() or " " in self.name or "_" in self.name:
            raise ValueError(f"rule names are kebab-case: {self.name!r}")


def example(
    text: str,
    line: int = 0,
    column: int = 0,
    *,
    files: Mapping[str, str] | None = None,
    trusted: bool = False,
    path: str = "pipeline.yaml",
) -> Example:
    """An :class:`Example` from an indented triple-quoted string."""
    return Example(_dedent(text), line, column, _dedent_files(files or {}), trusted, path)


def edited(
    base: Example,
    *edits: tuple[str, str],
    line: int = 0,
    column: int = 0,
    files: Mapping[str, str] | None = None,
    trusted: bool | None = None,
) -> Example:
    """``base`` with each ``(old, new)`` edit made to its first occurrence of ``old``.

    A rule's bad and good examples differ by a small edit: writing one as an edit of the other
    says exactly what the mistake (or the fix) is. ``files`` and ``trusted``, when given,
    replace the base's."""
    text = base.text
    for old, new in edits:
        if old not in text:
            raise ValueError(f"example edit: {old!r} does not occur in the example")
        text = text.replace(old, new, 1)
    extra = base.files if files is None else _dedent_files(files)
    trust = base.trusted if trusted is None else trusted
    return replace(base, text=text, line=line, column=column, files=extra, trusted=trust)


def with_fix(
    bad: Example,
    *edits: tuple[str, str],
    files: Mapping[str, str] | None = None,
    trusted: bool | None = None,
) -> tuple[Example, Example]:
    """A bad example and the good one it becomes with ``edits`` (see :func:`edited`)."""
    return bad, edited(bad, *edits, files=files, trusted=trusted)


def _dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def _dedent_files(files: Mapping[str, str]) -> dict[str, str]:
    return {name: _dedent(text) for name, text in files.items()}
