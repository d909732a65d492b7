"""The shape of a rule: a name, a one-line doc, a function, and a bad and a good example.

The examples are part of the rule: ``docs/rules.md`` is generated from them and a test runs
each one (the bad example must produce the rule at the stated line and column, the good one must
not produce it).
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

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
    body = textwrap.dedent(text).lstrip("\n")
    extra = {k: textwrap.dedent(v).lstrip("\n") for k, v in (files or {}).items()}
    return Example(body, line, column, extra, trusted, path)
