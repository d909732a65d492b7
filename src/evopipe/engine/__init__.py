"""The engine: spec → immutable plan → asyncio DAG scheduler, with a durable journal.

Public entry points: :func:`run_pipeline` / :func:`run_pipeline_sync`, the context object
:class:`Services`, :class:`RunOptions` and :class:`RunResult`.
"""

from evopipe.engine.events import CollectingSubscriber, EventBus, JsonLinesSubscriber, Subscriber
from evopipe.engine.executor import Executor, LocalExecutor, StepCall
from evopipe.engine.runner import resume_run, run_pipeline, run_pipeline_sync
from evopipe.engine.types import (
    Event,
    RunOptions,
    RunResult,
    RunStatus,
    Services,
    StepRecord,
    StepStatus,
    UsageTotals,
)

__all__ = [
    "CollectingSubscriber",
    "Event",
    "EventBus",
    "Executor",
    "JsonLinesSubscriber",
    "LocalExecutor",
    "RunOptions",
    "RunResult",
    "RunStatus",
    "Services",
    "StepCall",
    "StepRecord",
    "StepStatus",
    "Subscriber",
    "UsageTotals",
    "resume_run",
    "run_pipeline",
    "run_pipeline_sync",
]
