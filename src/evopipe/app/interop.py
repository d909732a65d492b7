"""Application operations for integrations: import foreign pipeline files into evopipe YAML,
export evopipe pipelines to other systems. Faces call these; the translation lives in
:mod:`evopipe.interop`."""

from __future__ import annotations

from pathlib import Path

from evopipe.interop import EXPORTERS, IMPORTERS, Translation, export_pipeline, import_text
from evopipe.spec.errors import Diagnostic, SpecError
from evopipe.spec.loader import load_file

__all__ = [
    "Diagnostic",
    "SpecError",
    "Translation",
    "export_file",
    "export_targets",
    "import_file",
    "import_formats",
]


def import_formats() -> list[str]:
    return list(IMPORTERS)


def export_targets() -> list[str]:
    return list(EXPORTERS)


def import_file(fmt: str, path: Path, *, strict: bool = False) -> Translation:
    """Translate the foreign pipeline file at ``path``; with ``strict`` a warning refuses it."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problem = Diagnostic("file-unreadable", f"cannot read file: {exc}", path=str(path))
        return Translation(str(path), None, [problem])
    result = import_text(fmt, text, str(path))
    if strict and result.ok and result.warnings:
        return Translation(result.source, None, result.diagnostics)
    return result


def export_file(target: str, path: Path) -> str:
    """The ``target`` artefact for the pipeline file at ``path`` (raises ``SpecError`` when
    the file is not a valid pipeline)."""
    loaded = load_file(path)
    return export_pipeline(target, loaded.pipeline, path.as_posix())
