"""Translation between evopipe and other systems: import pipeline_ex and Wave files, export
GitHub Actions workflows and LangGraph code, and an OpenTelemetry event subscriber.

Layer: above ``spec`` and ``check`` (it uses them to load and validate what it writes); nothing
below imports it. Each foreign format is one module registered in :data:`IMPORTERS` or
:data:`EXPORTERS`.
"""

from __future__ import annotations

from evopipe.interop.base import Translation
from evopipe.interop.registry import EXPORTERS, IMPORTERS, export_pipeline, import_text

__all__ = ["EXPORTERS", "IMPORTERS", "Translation", "export_pipeline", "import_text"]
