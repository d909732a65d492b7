"""Runtime for graphs written by ``evopipe export langgraph``.

The exported module holds the LangGraph graph: one node per step, edges from the step
dependencies (a node with several dependencies waits for all of them), the state (inputs and
step records). Each node runs its step with evopipe's own kind implementation through
:class:`NodeContext`, so a node gives the same output as ``evopipe run`` for the same model
answers. The engine's skip rule is applied per node (a switch routed elsewhere, a false
``when``, or every dependency skipped), so skipped steps read as ``output: null``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from evopipe.engine.inputs import resolve_inputs
from evopipe.engine.plan import build_plan
from evopipe.engine.policy import Policy
from evopipe.engine.templates import Renderer
from evopipe.engine.types import ModelSource, Services
from evopipe.models.base import ModelRequest, ModelResponse
from evopipe.spec.base import StepBase
from evopipe.spec.conditions import parse_condition
from evopipe.spec.loader import loads
from evopipe.spec.pipeline import Pipeline
from evopipe.steps import get_kind
from evopipe.steps.base import ScopeResult, StepFailed

SUPPORTED_KINDS = frozenset({"llm", "extract", "set", "switch", "tool"})
"""Kinds a node can run on its own (the others need the engine's scopes, store or policy)."""

Node = Callable[[Mapping[str, Any]], Awaitable[dict[str, Any]]]


def merge_steps(left: Mapping[str, Any], right: Mapping[str, Any]) -> dict[str, Any]:
    """State reducer: step records written by parallel nodes are merged."""
    return {**left, **right}


class NodeContext:
    """The :class:`~evopipe.steps.base.StepContext` a node runs its step with."""

    def __init__(self, runtime: Runtime, step: StepBase, namespace: Mapping[str, Any]) -> None:
        self._rt, self._step, self._ns = runtime, step, namespace

    run_id = property(lambda self: self._rt.run_id)
    step_id = property(lambda self: self._step.id)
    attempt = property(lambda self: 1)
    idempotency_key = property(lambda self: f"{self._rt.run_id}:{self._step.id}")
    services = property(lambda self: self._rt.services)
    policy = property(lambda self: self._rt.services.policy)
    workspace = property(lambda self: self._rt.services.base_dir)
    base_dir = property(lambda self: self._rt.services.base_dir)
    pipeline = property(lambda self: self._rt.pipeline)
    depth = property(lambda self: 0)
    decision = property(lambda self: None)
    namespace = property(lambda self: self._ns)

    @property
    def model_id(self) -> str:
        """Step pin, else persona pin, else the runtime's ``model``, else ``defaults.model``."""
        pinned = getattr(self._step, "model", None)
        persona = self._rt.pipeline.personas.get(getattr(self._step, "persona", None) or "")
        return str(
            pinned
            or (persona.model if persona is not None else None)
            or self._rt.model
            or self._rt.pipeline.defaults.model
            or self._rt.services.models.default_model_id
        )

    def render(self, value: Any, extra: Mapping[str, Any] | None = None, where: str = "") -> Any:
        return self._rt.renderer.render(value, {**self._ns, **(extra or {})}, where)

    def evaluate(self, condition: str, extra: Mapping[str, Any] | None = None) -> bool:
        return parse_condition(condition).test({**self._ns, **(extra or {})})

    async def complete(
        self, request: ModelRequest, *, model_id: str | None = None, cache: bool | None = None
    ) -> ModelResponse:
        model = self._rt.services.models.get(model_id or self.model_id, cache_policy="off")
        return await model.complete(request)

    async def run_pipeline(self, *args: Any, **kwargs: Any) -> Any:
        raise StepFailed(self._step.id, "sub-pipelines are not available in an exported graph")

    async def run_steps(self, *args: Any, **kwargs: Any) -> ScopeResult:
        raise StepFailed(self._step.id, "inner steps are not available in an exported graph")

    def emit(self, type: str, **data: Any) -> None:
        """Events of an exported graph are not journaled."""

    def journaled(self, type: str) -> list[Mapping[str, Any]]:
        """Nothing is journaled in an exported graph, so nothing is replayed."""
        return []


class Runtime:
    """The pipeline (from the exported spec), the models and the renderer the nodes share."""

    def __init__(
        self,
        spec: Mapping[str, Any],
        *,
        models: ModelSource | None = None,
        model: str | None = None,
        run_id: str = "langgraph",
    ) -> None:
        self.pipeline: Pipeline = loads(json.dumps(spec)).pipeline
        if models is None:
            from evopipe.models import ModelHub

            models = ModelHub()
        self.services = Services(models=models, policy=Policy.untrusted(), base_dir=Path.cwd())
        self.renderer = Renderer()
        self.model = model
        self.run_id = run_id
        self._steps = {s.id: s for s in self.pipeline.steps}

    def start(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The initial state: inputs with defaults applied (and checked), no step records."""
        return {"inputs": resolve_inputs(self.pipeline, inputs), "steps": {}}

    def namespace(self, state: Mapping[str, Any]) -> dict[str, Any]:
        return {"inputs": state["inputs"], "steps": state["steps"], "run": {"id": self.run_id}}

    def node(self, step_id: str, *, deps: Sequence[str], gates: Sequence[str]) -> Node:
        """The node function running step ``step_id``."""
        step = self._steps[step_id]
        kind = get_kind(step.kind)

        async def run_node(state: Mapping[str, Any]) -> dict[str, Any]:
            records = state["steps"]
            ns = self.namespace(state)
            if self._skipped(step, records, ns, deps, gates):
                return {"steps": {step_id: {"output": None, "status": "skipped"}}}
            result = await kind.run(NodeContext(self, step, ns), step)
            return {"steps": {step_id: {"output": result.output, "status": "succeeded"}}}

        run_node.__name__ = step_id
        return run_node

    def _skipped(
        self,
        step: StepBase,
        records: Mapping[str, Any],
        ns: Mapping[str, Any],
        deps: Sequence[str],
        gates: Sequence[str],
    ) -> bool:
        for gate in gates:
            output = records[gate]["output"]
            if output is None or step.id not in output["activated"]:
                return True
        if step.when is not None:
            return not parse_condition(step.when).test(ns)
        return bool(deps) and all(records[d]["status"] == "skipped" for d in deps)

    def outputs(self, state: Mapping[str, Any]) -> dict[str, Any]:
        """The pipeline's outputs rendered from the final state."""
        ns = self.namespace(state)
        if not self.pipeline.outputs:
            last = build_plan(self.pipeline).last
            return {last: state["steps"][last]["output"]}
        return {
            name: self.renderer.render(value, ns, f"outputs.{name}")
            for name, value in self.pipeline.outputs.items()
        }
