"""The plain result types of a run: what happened, as frozen data (picklable, JSON-ready).

No live objects here: a :class:`RunResult` can be returned from another process or thread
(an executor, a server worker) and sent as JSON (:meth:`RunResult.to_json`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

RunStatus = Literal["succeeded", "failed", "budget_exceeded", "waiting", "cancelled"]
StepStatus = Literal["pending", "succeeded", "failed", "skipped", "waiting", "cancelled", "not_run"]
"""``pending``: not started yet, the run can still get to it (it is running or waiting);
``not_run``: never started, and the run ended (failed, cancelled, over budget) before it."""

RUN_STATUSES: tuple[RunStatus, ...] = (
    "succeeded",
    "failed",
    "budget_exceeded",
    "waiting",
    "cancelled",
)


@dataclass(frozen=True, slots=True)
class UsageTotals:
    """Token, cost and call counts of a run tree."""

    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = 0.0
    """``None`` when a call had no known price (unknown, never a silent 0)."""
    calls: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": None if self.cost_usd is None else round(self.cost_usd, 10),
            "calls": self.calls,
        }


@dataclass(frozen=True, slots=True)
class StepRecord:
    """What happened to one step of a run."""

    id: str
    status: StepStatus
    attempts: int = 0
    duration_ms: float = 0.0
    cached: bool = False
    output: Any = None
    error: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = 0.0

    def to_json(self, *, with_output: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "status": self.status,
            "attempts": self.attempts,
            "duration_ms": round(self.duration_ms, 3),
            "cached": self.cached,
        }
        if self.error is not None:
            out["error"] = self.error
        if with_output:
            out["output"] = self.output
        return out


@dataclass(frozen=True)
class RunResult:
    """The outcome of a run (also of a sub-pipeline run)."""

    run_id: str
    status: RunStatus
    outputs: dict[str, Any] = field(default_factory=dict)
    usage: UsageTotals = field(default_factory=UsageTotals)
    steps: list[StepRecord] = field(default_factory=list)
    error: str | None = None
    budget: str | None = None
    """Name of the exceeded budget when ``status == "budget_exceeded"``."""
    spec_hash: str = ""
    waiting_on: tuple[str, ...] = ()
    """Ids of approval steps the run waits on when ``status == "waiting"``."""

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"

    def __repr__(self) -> str:  # short: results can hold thousands of steps
        extra = f", error={self.error!r}" if self.error else ""
        return (
            f"RunResult(run_id={self.run_id!r}, status={self.status!r}, "
            f"steps={len(self.steps)}, outputs={list(self.outputs)!r}{extra})"
        )

    def step(self, step_id: str) -> StepRecord:
        for record in self.steps:
            if record.id == step_id:
                return record
        raise KeyError(step_id)

    def to_json(self) -> dict[str, Any]:
        """The ``evopipe run --json`` document."""
        out: dict[str, Any] = {
            "run_id": self.run_id,
            "status": self.status,
            "outputs": self.outputs,
            "usage": self.usage.to_json(),
            "steps": [s.to_json() for s in self.steps],
        }
        if self.error is not None:
            out["error"] = self.error
        if self.budget is not None:
            out["budget"] = self.budget
        if self.waiting_on:
            out["waiting_on"] = list(self.waiting_on)
        return out
