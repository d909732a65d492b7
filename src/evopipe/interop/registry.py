"""The tables of importers and exporters, and the two entry points over them."""

from __future__ import annotations

from collections.abc import Callable

from evopipe.interop import github_actions, langgraph, pipeline_ex, wave
from evopipe.interop.base import Translation
from evopipe.spec.errors import SpecError
from evopipe.spec.loader import Source, parse_yaml
from evopipe.spec.pipeline import Pipeline

Importer = Callable[[Source], Translation]
Exporter = Callable[[Pipeline, str], str]
"""(pipeline, its path as the exported artefact should name it) → the artefact's text."""

IMPORTERS: dict[str, Importer] = {
    pipeline_ex.FORMAT: pipeline_ex.translate,
    wave.FORMAT: wave.translate,
}
"""Foreign format name (as typed after ``evopipe import``) → translator."""


def import_text(fmt: str, text: str, path: str = "<string>") -> Translation:
    """Translate a foreign pipeline's text; a YAML error comes back as a diagnostic."""
    try:
        importer = IMPORTERS[fmt]
    except KeyError:
        raise ValueError(f"unknown import format {fmt!r}; known: {', '.join(IMPORTERS)}") from None
    try:
        source = parse_yaml(text, path)
    except SpecError as exc:
        return Translation(path, None, exc.diagnostics)
    return importer(source)


EXPORTERS: dict[str, Exporter] = {
    github_actions.FORMAT: github_actions.export,
    langgraph.FORMAT: langgraph.export,
}
"""Target name (as typed after ``evopipe export``) → exporter."""


def export_pipeline(target: str, pipeline: Pipeline, path: str) -> str:
    try:
        exporter = EXPORTERS[target]
    except KeyError:
        raise ValueError(
            f"unknown export target {target!r}; known: {', '.join(EXPORTERS)}"
        ) from None
    return exporter(pipeline, path)
