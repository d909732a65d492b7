"""The executor seam: every step attempt — top level, map items, loop iterations, sub-pipelines
— runs through ``services.executor.run_step(kind=..., ctx=..., config=...)``.

:class:`LocalExecutor` (the default) runs the kind in this event loop. An executor that runs
steps elsewhere (Ray, the HTTP server's workers) ships a :class:`StepCall` — plain, picklable
data: the step's config, its resolved template namespace, the run's settings — and on the other
side runs the kind with a :class:`CallContext` built from it. What is not data stays with the
host: model calls (budgets, cache, usage accounting), inner scopes and sub-pipelines (so that
their steps come back through the executor), events and the workspace go through ``host``, a
:class:`~evopipe.steps.base.StepContext` of the engine (a remote executor proxies it).

:class:`PickleExecutor` is the test double of a remote executor: it pickles each step's
:class:`StepCall` and result through a round trip, so a test can show that what crosses the
seam suffices.
"""

from __future__ import annotations

import pickle
from collections import ChainMap
from collections.abc import Awaitable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from evopipe.engine.policy import Policy
from evopipe.spec.base import StepBase
from evopipe.spec.pipeline import Pipeline
from evopipe.steps.base import StepContext, StepKind, StepResult

if TYPE_CHECKING:
    from evopipe.engine.calls import CallRecord
    from evopipe.engine.journal import ApprovalDecision
    from evopipe.steps.base import StepServices


class Executor(Protocol):
    """Runs one step attempt and returns its result (one method, keyword-only). An
    ``async def run_step`` satisfies it; the engine awaits what it returns."""

    def run_step(
        self, *, kind: StepKind, ctx: StepContext, config: StepBase
    ) -> Awaitable[StepResult]: ...


class HostContext(StepContext, Protocol):
    """What the engine's own step context offers an executor that runs a step's model calls
    away from it (:class:`~evopipe.engine.context.EngineContext` has these)."""

    def may_call(self, model_id: str) -> None:
        """Raise unless the run's budget lets a call to ``model_id`` go out."""
        ...

    def count_calls(self, records: Iterable[CallRecord]) -> None:
        """Count calls made elsewhere (usage, ``model_call`` events, budget)."""
        ...

    def cache_policy(self, cache: bool | None = None) -> Any:
        """The response-cache policy of the step's calls (None: the hub's own)."""
        ...


class LocalExecutor:
    """The default: the kind runs in the run's own event loop. Returns the kind's own
    coroutine (no wrapper coroutine: the seam costs one method call per step)."""

    __slots__ = ()

    def run_step(
        self, *, kind: StepKind, ctx: StepContext, config: StepBase
    ) -> Awaitable[StepResult]:
        return kind.run(ctx, config)


@dataclass(frozen=True, slots=True)
class RunSettings:
    """The run-level settings one step needs (plain data)."""

    run_id: str
    depth: int
    base_dir: Path
    policy: Policy
    pipeline: Pipeline
    """The step's pipeline (defaults, personas)."""
    settings: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StepCall:
    """Everything needed to run one step attempt elsewhere: picklable, no live objects."""

    kind: str
    config: StepBase
    step_id: str
    attempt: int
    model_id: str
    idempotency_key: str
    namespace: dict[str, Any]
    """The resolved template namespace (``inputs``, ``steps``, ``run``, ``item`` ...)."""
    run: RunSettings
    decision: ApprovalDecision | None = None

    @classmethod
    def from_context(cls, ctx: StepContext, config: StepBase) -> StepCall:
        namespace = {k: _plain(v) for k, v in ctx.namespace.items()}
        run = RunSettings(
            ctx.run_id,
            ctx.depth,
            ctx.base_dir,
            ctx.policy,
            ctx.pipeline,
            dict(ctx.services.settings),
        )
        return cls(
            config.kind,
            config,
            ctx.step_id,
            ctx.attempt,
            ctx.model_id,
            ctx.idempotency_key,
            namespace,
            run,
            ctx.decision,
        )


def _plain(value: Any) -> Any:
    return dict(value) if isinstance(value, ChainMap) else value


def plain_result(result: StepResult) -> StepResult:
    """``result`` with plain containers only (``meta`` may be a read-only mapping proxy)."""
    return replace(result, meta=dict(result.meta))


class CallContext:
    """A :class:`~evopipe.steps.base.StepContext` rebuilt from a :class:`StepCall`: the data
    comes from the call, model calls, inner scopes, events and the workspace from ``host``."""

    def __init__(self, call: StepCall, host: StepContext) -> None:
        self.call = call
        self.host = host
        # What is not data goes back to the host (a remote executor proxies these calls).
        self.complete = host.complete
        self.run_pipeline = host.run_pipeline
        self.run_steps = host.run_steps
        self.emit = host.emit
        self.journaled = host.journaled

    run_id = property(lambda self: self.call.run.run_id)
    step_id = property(lambda self: self.call.step_id)
    attempt = property(lambda self: self.call.attempt)
    idempotency_key = property(lambda self: self.call.idempotency_key)
    model_id = property(lambda self: self.call.model_id)
    policy = property(lambda self: self.call.run.policy)
    base_dir = property(lambda self: self.call.run.base_dir)
    pipeline = property(lambda self: self.call.run.pipeline)
    depth = property(lambda self: self.call.run.depth)
    decision = property(lambda self: self.call.decision)
    namespace = property(lambda self: self.call.namespace)

    @property
    def services(self) -> StepServices:
        return self.host.services

    @property
    def workspace(self) -> Path:
        return self.host.workspace

    def render(self, value: Any, extra: Mapping[str, Any] | None = None, where: str = "") -> Any:
        from evopipe.engine.context import render_in

        ns = {**self.call.namespace, **extra} if extra else self.call.namespace
        return render_in(self.services.renderer, ns, self.step_id, value, where)

    def evaluate(self, condition: str, extra: Mapping[str, Any] | None = None) -> bool:
        from evopipe.engine.context import evaluate_in

        ns = {**self.call.namespace, **extra} if extra else self.call.namespace
        return evaluate_in(ns, self.step_id, condition)


class PickleExecutor:
    """Test double of a remote executor: each :class:`StepCall` and each result crosses a
    pickle round trip; the kind is looked up by name on the far side."""

    def __init__(self) -> None:
        self.calls = 0

    async def run_step(self, *, kind: StepKind, ctx: StepContext, config: StepBase) -> StepResult:
        from evopipe.steps import get_kind

        wire = pickle.dumps(StepCall.from_context(ctx, config))
        self.calls += 1
        call: StepCall = pickle.loads(wire)
        result = await get_kind(call.kind).run(CallContext(call, ctx), call.config)
        back: StepResult = pickle.loads(pickle.dumps(plain_result(result)))
        return back
