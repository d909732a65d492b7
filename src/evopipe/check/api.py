"""Entry points: check YAML text, a file, or an already loaded pipeline."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from evopipe.check.context import Context
from evopipe.check.options import CheckOptions
from evopipe.check.registry import PROFILES
from evopipe.spec.errors import Diagnostic, EvopipeError
from evopipe.spec.loader import Source
from evopipe.spec.pipeline import Pipeline

_DEFAULT_OPTIONS = CheckOptions()


class UnknownProfileError(EvopipeError, ValueError):
    """A rule profile name that does not exist."""


def check_text(
    text: str,
    path: str = "<string>",
    *,
    profile: str = "default",
    options: CheckOptions | None = None,
) -> list[Diagnostic]:
    """Parse, load and check YAML text; every problem comes back as a located diagnostic
    (the diagnostics of :func:`evopipe.check.validity.assess`)."""
    from evopipe.check.validity import assess

    return list(assess(text, path=path, profile=profile, options=options).diagnostics)


def check_file(
    path: str | Path,
    *,
    profile: str = "default",
    options: CheckOptions | None = None,
) -> list[Diagnostic]:
    """Check a pipeline file (relative paths in it resolve from its directory)."""
    from evopipe.check.validity import assess

    return list(assess(Path(path), profile=profile, options=options).diagnostics)


def check_pipeline(
    pipeline: Pipeline,
    source: Source | None = None,
    *,
    profile: str = "default",
    options: CheckOptions | None = None,
) -> list[Diagnostic]:
    """Run every rule of ``profile`` on a loaded pipeline. Without ``source`` diagnostics carry
    ``where`` paths but no line/column."""
    from evopipe.check.rules import RULES

    check_profile(profile)
    ctx = Context(pipeline, source, options or _DEFAULT_OPTIONS, profile)
    found: list[Diagnostic] = []
    for rule in RULES:
        if rule.check is not None and profile in rule.profiles:
            found.extend(rule.check(ctx))
    return sort_diagnostics(found)


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(d.severity == "error" for d in diagnostics)


def check_profile(profile: str) -> None:
    if profile not in PROFILES:
        raise UnknownProfileError(
            f"unknown rule profile {profile!r} (profiles: {', '.join(PROFILES)})"
        )


def sort_diagnostics(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    return sorted(diagnostics, key=lambda d: (d.path, d.line, d.column, d.rule, d.message))
