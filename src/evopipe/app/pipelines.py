"""Pipeline operations: resolve a target (file, library pipeline, registered name), decide
validity (one check for every face), and publish the format's JSON Schema."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from evopipe.app.group import OperationGroup
from evopipe.check.validity import Validity, assess
from evopipe.spec.errors import EvopipeError
from evopipe.spec.pipeline import Pipeline

if TYPE_CHECKING:
    from evopipe.check.report import FileReport


class UsageError(EvopipeError):
    """Bad input to an operation (unknown pipeline, malformed ``key=value``)."""


@dataclass(frozen=True)
class Resolved:
    """A pipeline ready to run, and where it came from."""

    pipeline: Pipeline
    path: Path | None = None
    origin: str = "file"
    """``file``, ``library`` (shipped with evopipe), ``registry`` (``NAME`` or ``NAME@N``)."""

    @property
    def source(self) -> str | None:
        """The file the run is recorded as started from (resume detects edits to it)."""
        return str(self.path.resolve()) if self.path is not None else None


class Pipelines(OperationGroup):
    def resolve(self, target: str | Path | Pipeline) -> Resolved:
        """A loaded pipeline; a file path; the name of a library pipeline; a registered
        name (its champion) or ``NAME@N`` (version N). Files are checked before use."""
        if isinstance(target, Pipeline):
            return Resolved(target, None, "object")
        path = library_path(str(target))
        if path is not None:
            origin = "file" if Path(target).is_file() else "library"
            base = path.parent.resolve()
            validity = assess(path, options=self.app.check_options(base))
            return Resolved(validity.require(), path, origin)
        return self._registered(str(target))

    def _registered(self, target: str) -> Resolved:
        name, _, number = target.partition("@")
        if self.app.settings.persist or number:
            from evopipe.orchestrate.registry import Registry, RegistryError

            registry = Registry(self.app.store)
            try:
                if number:
                    if not number.isdigit():
                        raise UsageError(f"bad version in {target!r}: use NAME@N (N a number)")
                    return Resolved(registry.version(name, int(number)).spec, None, "registry")
                champion = registry.champion(name)
            except RegistryError as exc:
                raise UsageError(str(exc)) from None
            if champion is not None:
                return Resolved(champion.spec, None, "registry")
        raise UsageError(
            f"no pipeline file or library pipeline named {target!r}, and no champion "
            f"registered under {name!r} (promote one first)"
        )

    def assess(
        self,
        subject: Pipeline | str | Path,
        *,
        path: str | None = None,
        profile: str = "default",
        base_dir: Path | None = None,
    ) -> Validity:
        """The one validity check, with this session's known models and trust policy."""
        options = self.app.check_options(base_dir)
        return assess(subject, path=path, profile=profile, options=options)

    def validate(
        self, paths: Sequence[str | Path], *, profile: str = "default"
    ) -> list[FileReport]:
        """``evopipe validate``: every file (directories expanded), one report each."""
        from evopipe.check.report import validate_paths

        return validate_paths(list(paths), profile=profile, options=self.app.check_options())

    @staticmethod
    def schema_text() -> str:
        """The pipeline format's JSON Schema (for editors)."""
        from evopipe.spec.schema import pipeline_json_schema_text

        return pipeline_json_schema_text()


def library_path(target: str) -> Path | None:
    """A pipeline file path as given, or a pipeline shipped in ``evopipe/library``."""
    path = Path(target)
    if path.is_file():
        return path
    library = resources.files("evopipe.library")
    for candidate in (f"{target}.yaml", f"{target}/pipeline.yaml", target):
        entry = library.joinpath(candidate)
        if entry.is_file():
            return Path(str(entry))
    return None
