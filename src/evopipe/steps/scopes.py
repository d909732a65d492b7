"""Running one inner scope — a map item or a loop iteration — as inner steps or a sub-pipeline.

Shared by :mod:`evopipe.steps.map` and :mod:`evopipe.steps.loop`. A scope's failure becomes the
step's failure (naming the item or iteration, and the budget when a sub-pipeline overran its
own ``limits``; an overrun of the run's budgets ends the whole run), a waiting scope (an approval
inside) is reported so the caller can pause.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from evopipe.spec.pipeline import Pipeline
from evopipe.steps.base import StepContext, StepFailed
from evopipe.steps.pipeline import check_depth


class ScopedConfig(Protocol):
    """What map and loop configs share: inner steps or a sub-pipeline, plus its inputs."""

    @property
    def steps(self) -> list[Any] | None: ...

    @property
    def pipeline(self) -> str | Pipeline | None: ...

    @property
    def inputs(self) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class ScopeOutcome:
    """A finished scope: its outputs (step id → output, or the sub-pipeline's outputs), its
    default result and the namespace templates like ``collect``/``until`` see."""

    outputs: dict[str, Any]
    default: Any
    namespace: Mapping[str, Any] = field(default_factory=dict)
    waiting: bool = False

    def result(self, ctx: StepContext, collect: str | None) -> Any:
        """``collect`` rendered in this scope's namespace, else the default result."""
        if collect is None:
            return self.default
        return ctx.render(collect, extra=self.namespace, where="collect")


async def run_scope(
    ctx: StepContext,
    config: ScopedConfig,
    extra: Mapping[str, Any],
    *,
    scope: str,
    what: str,
) -> ScopeOutcome:
    """Run ``config``'s inner steps (or sub-pipeline) once with ``extra`` in the namespace."""
    if config.steps is not None:
        # the config's own list object: the engine caches inner plans per list
        inner = await ctx.run_steps(config.steps, extra, scope=scope)
        _raise_for(ctx, inner.status, inner.error, getattr(inner, "budget", None), what)
        namespace = {**extra, **inner.namespace}
        return ScopeOutcome(
            dict(inner.outputs), inner.last_output, namespace, waiting=inner.status == "waiting"
        )
    assert config.pipeline is not None
    check_depth(ctx)
    inputs = ctx.render(config.inputs, extra=extra, where="inputs")
    result = await ctx.run_pipeline(config.pipeline, inputs, scope=scope)
    _raise_for(ctx, result.status, result.error, result.budget, what)
    namespace = {**extra, "outputs": result.outputs}
    return ScopeOutcome(
        dict(result.outputs), dict(result.outputs), namespace, waiting=result.status == "waiting"
    )


def _raise_for(
    ctx: StepContext, status: str, error: str | None, budget: str | None, what: str
) -> None:
    if status in ("succeeded", "waiting"):
        return
    if status == "budget_exceeded":
        raise StepFailed(ctx.step_id, f"{what} exceeded its own budget {budget}: {error}")
    if status == "cancelled":
        raise asyncio.CancelledError(f"{what} of step {ctx.step_id!r} was cancelled")
    raise StepFailed(ctx.step_id, f"{what} failed: {error or status}")


def first_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first real error inside a task group's exception group (cancellations last)."""
    leaves: list[BaseException] = []

    def walk(exc: BaseException) -> None:
        if isinstance(exc, BaseExceptionGroup):
            for sub in exc.exceptions:
                walk(sub)
        else:
            leaves.append(exc)

    walk(group)
    real = [e for e in leaves if not isinstance(e, asyncio.CancelledError)]
    return (real or leaves)[0]
