"""The engine's public value types: services, options, results, events.

These are the contracts other layers code against (``run_pipeline(pipeline, inputs, *,
services, options) -> RunResult``). They are plain frozen dataclasses with no behaviour beyond
conversion to JSON, so importing them is cheap and never pulls in the scheduler.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, Protocol

from evopipe.engine.policy import Policy
from evopipe.models.base import Model

if TYPE_CHECKING:
    from evopipe.engine.events import EventBus
    from evopipe.engine.plan import PlanCache
    from evopipe.engine.templates import Renderer

_EMPTY: Mapping[str, Any] = MappingProxyType({})

RunStatus = Literal["succeeded", "failed", "budget_exceeded", "waiting", "cancelled"]
StepStatus = Literal["pending", "succeeded", "failed", "skipped", "waiting", "cancelled"]

RUN_STATUSES: tuple[RunStatus, ...] = (
    "succeeded",
    "failed",
    "budget_exceeded",
    "waiting",
    "cancelled",
)


def _renderer() -> Renderer:
    from evopipe.engine.templates import Renderer

    return Renderer()


def _plan_cache() -> PlanCache:
    from evopipe.engine.plan import PlanCache

    return PlanCache()


class ModelSource(Protocol):
    """What the engine needs of a model hub (``evopipe.models.ModelHub`` satisfies it)."""

    @property
    def default_model_id(self) -> str: ...

    def get(self, model_id: str | None = None, *, cache_policy: Any = None) -> Model:
        """The model (wrapped by the response cache per ``cache_policy``: auto/always/off)."""
        ...


Generator = Callable[..., Awaitable[Any]]
"""Hook for the ``generate`` kind: ``await generator(request=..., model_id=..., ...)``; genesis
injects it through :attr:`Services.hooks` (the engine never imports genesis)."""


@dataclass(frozen=True)
class Services:
    """The context object a run executes with: no process-global state anywhere else.

    ``store`` is a journal (``evopipe.store.Store`` or :class:`evopipe.engine.journal.
    MemoryJournal`); None means the run is not journaled (and cannot be resumed).
    ``hooks`` carries callables from upper layers, e.g. ``{"generator": ...}``.
    """

    models: ModelSource
    store: Any = None
    bus: EventBus | None = None
    policy: Policy = field(default_factory=Policy.untrusted)
    base_dir: Path = field(default_factory=Path.cwd)
    settings: Mapping[str, Any] = field(default_factory=dict)
    hooks: Mapping[str, Any] = field(default_factory=dict)
    plans: PlanCache = field(default_factory=lambda: _plan_cache())
    """Compiled plans, reused by every run made with these services."""
    renderer: Renderer = field(default_factory=lambda: _renderer())
    """Compiled templates (Jinja2 sandbox), shared by every run made with these services."""


@dataclass(frozen=True)
class RunOptions:
    """Per-run choices. Limits given here tighten (never loosen) the pipeline's own."""

    run_id: str | None = None
    model: str | None = None
    """Model for every step that does not pin one (overrides ``defaults.model``)."""
    cache: bool = True
    max_concurrency: int | None = None
    max_steps: int | None = None
    max_tokens: int | None = None
    max_cost_usd: float | None = None
    timeout_s: float | None = None
    fork_from: str | None = None
    """Copy the outputs of unchanged completed steps from this run's journal."""
    workspace: Path | None = None
    durability: Literal["turn", "step"] = "turn"
    """Journal group commit: once per event-loop turn (default) or at every step end."""
    cancel_poll_s: float = 0.2
    """How often a journaled run polls the store's cancel flag (kill switch)."""
    source: str | None = None
    """Path of the pipeline file (recorded so that ``evopipe resume`` can detect edits)."""
    labels: Mapping[str, Any] = field(default_factory=dict)


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


@dataclass(slots=True)
class Event:
    """One thing that happened in a run; the journal is the ordered list of a run's events.

    ``seq`` numbers are assigned per run, from 1, without gaps. ``step_id`` is a path for
    events of inner scopes (``fanout[3].summarise``, ``sub/extract``). Treat events as
    immutable (not frozen only because frozen dataclasses are slower to create, and the engine
    makes one or two per step).
    """

    type: str
    run_id: str
    seq: int
    step_id: str | None = None
    data: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    ts: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "type": self.type,
            "run_id": self.run_id,
            "step_id": self.step_id,
            "ts": self.ts,
            "data": dict(self.data),
        }
