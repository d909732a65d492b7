"""The one validity check: "is this pipeline valid, and if so, what is it?".

Genesis (drafts), evolution (offspring), evaluation, the engine's faces and the CLI all ask
:func:`assess`; :func:`evopipe.check.check_text` and :func:`~evopipe.check.check_file` are its
diagnostics-only forms. A profile (``default``, ``generated``) and :class:`CheckOptions` (the
known models, the trust policy, the base directory) are the only knobs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from evopipe.check.api import check_pipeline, check_profile, sort_diagnostics
from evopipe.check.options import CheckOptions
from evopipe.spec.errors import Diagnostic, SpecError
from evopipe.spec.loader import load_source, parse_yaml
from evopipe.spec.pipeline import Pipeline


@dataclass(frozen=True)
class Validity:
    """A verdict: the loaded pipeline (None if it did not load) and every diagnostic."""

    pipeline: Pipeline | None
    diagnostics: tuple[Diagnostic, ...]

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity == "error")

    @property
    def valid(self) -> bool:
        return self.pipeline is not None and not self.errors

    def require(self) -> Pipeline:
        """The pipeline, or :class:`SpecError` carrying the located errors."""
        if self.pipeline is None or self.errors:
            raise SpecError(list(self.errors))
        return self.pipeline


def assess(
    subject: Pipeline | str | Path,
    *,
    path: str | None = None,
    profile: str = "default",
    options: CheckOptions | None = None,
) -> Validity:
    """Check a loaded pipeline, YAML text (``path`` names it in diagnostics) or a file.

    A ``str`` is YAML text; pass a :class:`~pathlib.Path` for a file. Diagnostics carry
    file:line:column whenever the source text is known.
    """
    check_profile(profile)
    if isinstance(subject, Pipeline):
        found = check_pipeline(subject, profile=profile, options=options)
        return Validity(subject, tuple(found))
    if isinstance(subject, Path):
        return _assess_file(subject, profile, options)
    return _assess_text(subject, path or "<string>", profile, options)


def _assess_text(text: str, path: str, profile: str, options: CheckOptions | None) -> Validity:
    try:
        source = parse_yaml(text, path)
        pipeline = load_source(source)
    except SpecError as exc:
        return Validity(None, tuple(sort_diagnostics(exc.diagnostics)))
    found = check_pipeline(pipeline, source, profile=profile, options=options)
    return Validity(pipeline, tuple(found))


def _assess_file(path: Path, profile: str, options: CheckOptions | None) -> Validity:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        unreadable = Diagnostic(
            "file-unreadable",
            f"cannot read file: {reason}",
            path=str(path),
            hint="check the path and that the file is UTF-8 text",
        )
        return Validity(None, (unreadable,))
    return _assess_text(text, str(path), profile, options)
