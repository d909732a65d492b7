"""What a rule sees: the pipeline, its source, the options and shared, lazily computed facts."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from evopipe.check.locate import Locator, find_ref
from evopipe.check.options import CheckOptions
from evopipe.check.scopes import Analysis, Site, analyse
from evopipe.spec.conditions import parse_condition
from evopipe.spec.errors import ConditionError, Diagnostic, Severity, TemplateError
from evopipe.spec.loader import PathKey, Source, format_where
from evopipe.spec.pipeline import Pipeline
from evopipe.spec.templates import Ref, references


@dataclass(frozen=True, eq=False)
class Read:
    """One reference read by a site."""

    site: Site
    ref: Ref


@dataclass(frozen=True, eq=False)
class BadSite:
    """A site that does not parse: the error and the index of the problem in its text."""

    site: Site
    message: str
    index: int


@dataclass(eq=False)
class Context:
    """Everything one check run shares; rules only read it."""

    pipeline: Pipeline
    source: Source | None
    options: CheckOptions
    profile: str = "default"
    schema_files: dict[Path, Any] = field(default_factory=dict)
    """Cache: resolved schema file → parsed schema, or the OSError/ValueError loading it."""
    memo: dict[str, Any] = field(default_factory=dict)
    """Facts computed once and shared by several rules (see :mod:`evopipe.check.graph`)."""

    @property
    def path(self) -> str:
        return self.source.path if self.source is not None else "<pipeline>"

    @cached_property
    def base_dir(self) -> Path:
        if self.options.base_dir is not None:
            return self.options.base_dir
        if self.source is not None and not self.source.path.startswith("<"):
            return Path(self.source.path).parent
        return Path.cwd()

    @cached_property
    def locator(self) -> Locator:
        return Locator(self.source)

    @cached_property
    def analysis(self) -> Analysis:
        return analyse(self.pipeline)

    @cached_property
    def _parsed(self) -> tuple[list[Read], list[BadSite]]:
        reads: list[Read] = []
        bad: list[BadSite] = []
        for site in self.analysis.sites:
            try:
                refs = _site_refs(site)
            except ConditionError as exc:
                bad.append(BadSite(site, exc.message, (exc.column or 1) - 1))
                continue
            except TemplateError as exc:
                bad.append(BadSite(site, str(exc), _template_error_index(site.text, str(exc))))
                continue
            reads.extend(Read(site, ref) for ref in refs)
        return reads, bad

    @property
    def reads(self) -> list[Read]:
        """Every reference of every template and condition that parses."""
        return self._parsed[0]

    @property
    def bad_sites(self) -> list[BadSite]:
        """Templates and conditions that do not parse."""
        return self._parsed[1]

    def diag(
        self,
        rule: str,
        message: str,
        where: PathKey,
        *,
        hint: str = "",
        key: bool = False,
        at: tuple[int, int] | None = None,
        severity: Severity = "error",
    ) -> Diagnostic:
        """A diagnostic located at ``where`` (or at an explicit ``at`` position)."""
        line, column = at if at is not None else self.locator.node(where, key=key)
        return Diagnostic(
            rule,
            message,
            severity=severity,
            path=self.path,
            line=line,
            column=column,
            where=format_where(where),
            hint=hint,
        )

    def at_ref(self, read: Read) -> tuple[int, int]:
        """Position of a reference inside its template or condition."""
        index = find_ref(read.site.text, read.ref.root, read.ref.path)
        return self.locator.in_string(read.site.where, read.site.text, index)

    def read_diag(self, rule: str, message: str, read: Read, *, hint: str = "") -> Diagnostic:
        return self.diag(rule, message, read.site.where, hint=hint, at=self.at_ref(read))


def _site_refs(site: Site) -> tuple[Ref, ...]:
    if site.kind == "condition":
        return parse_condition(site.text).references()
    return references(site.text)


def _template_error_index(text: str, message: str) -> int:
    """Start of the template line named in a syntax error message (``... at line N: ...``)."""
    marker = "at line "
    pos = message.find(marker)
    if pos < 0:
        return 0
    digits = message[pos + len(marker) :].split(":", 1)[0]
    if not digits.isdigit():
        return 0
    index = 0
    for _ in range(int(digits) - 1):
        nxt = text.find("\n", index)
        if nxt < 0:
            break
        index = nxt + 1
    return index
