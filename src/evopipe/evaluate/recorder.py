"""Where evaluation results go: a small protocol, a no-op default, and an in-memory one.

The store-backed recorder lives in :mod:`evopipe.evaluate.records`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from evopipe.spec import Pipeline

if TYPE_CHECKING:
    from evopipe.evaluate.dataset import Dataset, Example
    from evopipe.evaluate.report import EvalReport, ExampleResult


@dataclass(frozen=True, slots=True)
class EvalStarted:
    """What a recorder is told when an evaluation starts."""

    eval_id: str
    pipeline: Pipeline
    pipeline_hash: str
    dataset: Dataset | Sequence[Example]
    split: str
    metrics: tuple[str, ...]
    planned: int
    """Examples that will be scored."""


class EvalRecorder(Protocol):
    """Receives an evaluation as it happens."""

    def start(self, started: EvalStarted) -> None: ...

    def add_example(self, eval_id: str, result: ExampleResult) -> None: ...

    def finish(self, eval_id: str, report: EvalReport) -> None: ...


class NullRecorder:
    """Records nothing."""

    def start(self, started: EvalStarted) -> None:
        return None

    def add_example(self, eval_id: str, result: ExampleResult) -> None:
        return None

    def finish(self, eval_id: str, report: EvalReport) -> None:
        return None


@dataclass
class MemoryRecorder:
    """Keeps everything in lists (tests, and callers who persist elsewhere)."""

    started: list[str] = field(default_factory=list)
    examples: list[tuple[str, ExampleResult]] = field(default_factory=list)
    reports: list[EvalReport] = field(default_factory=list)

    def start(self, started: EvalStarted) -> None:
        self.started.append(started.eval_id)

    def add_example(self, eval_id: str, result: ExampleResult) -> None:
        self.examples.append((eval_id, result))

    def finish(self, eval_id: str, report: EvalReport) -> None:
        self.reports.append(report)


@dataclass
class TeeRecorder:
    """Forwards every event to several recorders (e.g. the store and a progress display)."""

    recorders: Sequence[EvalRecorder]

    def start(self, started: EvalStarted) -> None:
        for r in self.recorders:
            r.start(started)

    def add_example(self, eval_id: str, result: ExampleResult) -> None:
        for r in self.recorders:
            r.add_example(eval_id, result)

    def finish(self, eval_id: str, report: EvalReport) -> None:
        for r in self.recorders:
            r.finish(eval_id, report)
