"""What a run executes *with*: the services object and the per-run options.

The plain result types (:class:`RunResult`, :class:`StepRecord`, :class:`UsageTotals`) live in
:mod:`evopipe.engine.results` and the event type in :mod:`evopipe.engine.event_types`; they
are re-exported here so that older imports keep working. Unlike those, :class:`Services`
holds live objects (a model hub, a store, caches) and never crosses a process boundary: what
an executor ships to run a step elsewhere is :class:`evopipe.engine.executor.StepCall`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from evopipe.engine.event_types import Event as Event  # re-exported (moved)
from evopipe.engine.policy import Policy
from evopipe.engine.results import RUN_STATUSES as RUN_STATUSES  # re-exported (moved)
from evopipe.engine.results import RunResult as RunResult
from evopipe.engine.results import RunStatus as RunStatus
from evopipe.engine.results import StepRecord as StepRecord
from evopipe.engine.results import StepStatus as StepStatus
from evopipe.engine.results import UsageTotals as UsageTotals
from evopipe.models.base import Model

if TYPE_CHECKING:
    from evopipe.engine.events import EventBus
    from evopipe.engine.executor import Executor
    from evopipe.engine.plan import PlanCache
    from evopipe.engine.templates import Renderer


def _renderer() -> Renderer:
    from evopipe.engine.templates import Renderer

    return Renderer()


def _local_executor() -> Executor:
    from evopipe.engine.executor import LocalExecutor

    return LocalExecutor()


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
    executor: Executor = field(default_factory=lambda: _local_executor())
    """Runs each step attempt (:mod:`evopipe.engine.executor`; default: in this loop)."""


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
