"""The application layer: settings, the one composition root, and the operations every face
(CLI, HTTP server, chat, MCP) and the Python API call. Faces import only this package.

>>> from evopipe.app import App, Settings
>>> with App(Settings.load(db="sqlite:///:memory:")) as app:  # doctest: +SKIP
...     result = app.runs.run_sync("examples/kinds/llm.yaml", {"text": "hi"}, model="fake")

One module per group of operations — ``runs``, ``pipelines``, ``generate``, ``evaluate``,
``evolve``, ``registry``, ``models`` — reached as ``app.runs``, ``app.pipelines``, ... . This
``__init__`` re-exports the names faces need (operations, their value types, errors, event
subscribers), so a face never reaches below this layer.
"""

from __future__ import annotations

from evopipe.app.api import PipelineHandle, load, load_text
from evopipe.app.pipelines import Resolved, UsageError
from evopipe.app.root import App
from evopipe.app.runs import EXIT_BAD_INPUT, EXIT_CODES, RunHandle, parse_inputs
from evopipe.app.settings import Settings, SettingsError
from evopipe.check.report import FileReport, reports_json, summary
from evopipe.engine.control import Decision
from evopipe.engine.events import JsonLinesSubscriber, Subscriber
from evopipe.engine.progress import ProgressDisplay
from evopipe.engine.replay import ResumeRefused
from evopipe.engine.types import Event, RunResult
from evopipe.spec.errors import Diagnostic, EvopipeError, SpecError
from evopipe.spec.fields import FieldValuesError
from evopipe.spec.pipeline import Pipeline

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_CODES",
    "App",
    "Decision",
    "Diagnostic",
    "Event",
    "EvopipeError",
    "FieldValuesError",
    "FileReport",
    "JsonLinesSubscriber",
    "Pipeline",
    "PipelineHandle",
    "ProgressDisplay",
    "Resolved",
    "ResumeRefused",
    "RunHandle",
    "RunResult",
    "Settings",
    "SettingsError",
    "SpecError",
    "Subscriber",
    "UsageError",
    "load",
    "load_text",
    "parse_inputs",
    "reports_json",
    "summary",
]
