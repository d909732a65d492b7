"""The generator hook for the engine's ``generate`` step kind.

The engine never imports genesis; whoever builds the :class:`~evopipe.engine.Services` injects
``hooks={"generator": make_generator(models)}``. The ``generate`` step then calls::

    await generator(request=..., model_id=..., max_repair_rounds=..., base_dir=...)

and runs the returned pipeline under the untrusted policy. One generator holds one
:class:`MetaBudget`: every generation made through it (nested ones included) counts against
the same meta limits, so build one generator per top-level run tree.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

from evopipe.engine import Services
from evopipe.engine.types import Generator, ModelSource
from evopipe.genesis.conform import conform_inputs
from evopipe.genesis.driver import Strategy, agenerate
from evopipe.genesis.limits import MetaBudget, MetaLimits
from evopipe.spec import Pipeline


def make_generator(
    models: ModelSource,
    *,
    limits: MetaLimits | None = None,
    store: Any = None,
    strategy: Strategy | None = None,
) -> Generator:
    """A ``generate``-kind hook generating with ``models`` under one shared meta budget."""
    budget = MetaBudget(limits or MetaLimits())

    async def generator(
        *,
        request: str,
        model_id: str | None = None,
        max_repair_rounds: int = 3,
        base_dir: Path | None = None,
        depth: int | None = None,
        input_names: Collection[str] | None = None,
        **_: Any,
    ) -> Pipeline:
        """Generate a validated pipeline; raise GenerationError / MetaLimitExceeded
        (``depth-exceeded`` when ``depth`` passes ``max_depth``). ``input_names``: what the
        caller will pass (see :func:`~evopipe.genesis.conform.conform_inputs`)."""
        level = depth or 0  # the engine also bounds nesting with limits.max_depth
        budget.check(level)
        services = Services(models=models, store=store)
        result = await agenerate(
            request,
            model=model_id,
            services=services,
            max_rounds=max_repair_rounds,
            strategy=strategy,
            budget=budget,
            depth=level,
        )
        if input_names is None:
            return result.pipeline
        return conform_inputs(result.pipeline, input_names)

    return generator
