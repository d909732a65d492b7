"""A minimal, honest StepContext for testing kinds in isolation.

It renders with the engine's real sandboxed :class:`Renderer`, evaluates conditions with the
real condition language, and runs inner steps by calling the real kind modules one after the
other (enough for map/loop unit tests). Sub-pipelines are delegated to a callable the test
provides. End-to-end behaviour through the scheduler is tested in test_steps_engine_*.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evopipe.engine.policy import Policy
from evopipe.engine.templates import Renderer
from evopipe.engine.types import RunResult, Services, StepRecord
from evopipe.spec.base import StepBase
from evopipe.spec.conditions import parse_condition
from evopipe.spec.errors import EvopipeError
from evopipe.spec.loader import loads
from evopipe.spec.pipeline import Pipeline
from evopipe.steps import ScopeResult, StepResult, get_kind

SubRunner = Callable[
    [Pipeline | str, Mapping[str, Any], str | None, Policy | None], Awaitable[RunResult]
]


class _NoModels:
    default_model_id = "fake"

    def get(self, model_id: str) -> Any:
        raise AssertionError("no model expected in this test")


def make_pipeline(text: str = "") -> Pipeline:
    return loads(
        text or "apiVersion: evopipe/v1\nname: t\nsteps:\n  - {id: a, kind: set, values: {x: 1}}\n"
    ).pipeline


@dataclass
class FakeContext:
    policy: Policy = field(default_factory=Policy.untrusted)
    workspace: Path = field(default_factory=lambda: Path("."))
    namespace: dict[str, Any] = field(default_factory=dict)
    step_id: str = "s"
    run_id: str = "run-1"
    attempt: int = 1
    depth: int = 0
    decision: Any = None
    hooks: dict[str, Any] = field(default_factory=dict)
    store: Any = None
    pipeline: Pipeline = field(default_factory=make_pipeline)
    base_dir: Path = field(default_factory=lambda: Path("."))
    sub_runner: SubRunner | None = None
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    scopes: list[str] = field(default_factory=list)
    sub_calls: list[dict[str, Any]] = field(default_factory=list)
    renderer: Renderer = field(default_factory=Renderer)

    @property
    def idempotency_key(self) -> str:
        return f"{self.run_id}:{self.step_id}"

    @property
    def model_id(self) -> str:
        return "fake"

    @property
    def services(self) -> Services:
        return Services(models=_NoModels(), store=self.store, policy=self.policy, hooks=self.hooks)

    def render(self, value: Any, extra: Mapping[str, Any] | None = None, where: str = "") -> Any:
        return self.renderer.render(value, {**self.namespace, **(extra or {})}, self.step_id)

    def evaluate(self, condition: str, extra: Mapping[str, Any] | None = None) -> bool:
        return parse_condition(condition).test({**self.namespace, **(extra or {})})

    async def complete(self, request: Any, **kw: Any) -> Any:
        raise AssertionError("no model call expected")

    async def run_pipeline(
        self,
        pipeline: Pipeline | str,
        inputs: Mapping[str, Any],
        *,
        scope: str | None = None,
        policy: Policy | None = None,
    ) -> RunResult:
        self.sub_calls.append(
            {"pipeline": pipeline, "inputs": dict(inputs), "scope": scope, "policy": policy}
        )
        assert self.sub_runner is not None, "this test set no sub-pipeline runner"
        return await self.sub_runner(pipeline, inputs, scope, policy)

    async def run_steps(
        self,
        steps: Sequence[StepBase],
        extra_namespace: Mapping[str, Any],
        *,
        scope: str,
        max_concurrency: int | None = None,
    ) -> ScopeResult:
        """Run inner steps in order with the real kind modules (no DAG, no retries)."""
        self.scopes.append(scope)
        outer_steps = dict(self.namespace.get("steps", {}))
        ns: dict[str, Any] = {**self.namespace, **extra_namespace, "steps": outer_steps}
        outputs: dict[str, Any] = {}
        records: list[StepRecord] = []
        last = None
        for step in steps:
            inner = FakeContext(
                policy=self.policy,
                workspace=self.workspace,
                namespace=ns,
                step_id=f"{self.step_id}{scope}.{step.id}",
                hooks=self.hooks,
                store=self.store,
                pipeline=self.pipeline,
                sub_runner=self.sub_runner,
                renderer=self.renderer,
            )
            try:
                result: StepResult = await get_kind(step.kind).run(inner, step)
            except EvopipeError as exc:
                records.append(StepRecord(step.id, "failed", 1, error=str(exc)))
                return ScopeResult("failed", outputs, records, last, str(exc), ns)
            if result.status == "waiting":
                return ScopeResult("waiting", outputs, records, last, None, ns)
            outputs[step.id] = result.output
            last = result.output
            outer_steps[step.id] = {"output": result.output, "status": result.status}
            records.append(StepRecord(step.id, result.status, 1, output=result.output))
        return ScopeResult("succeeded", outputs, records, last, None, ns)

    def emit(self, type: str, **data: Any) -> None:
        self.events.append((type, data))

    def journaled(self, type: str) -> list[Mapping[str, Any]]:
        """No journal: every attempt is the first (the engine's is tested in tests/engine)."""
        return []


class EngineHarness:
    """The real engine with a memory journal and test models (end-to-end kind tests)."""

    def __init__(self, tmp_path: Path, policy: Policy | None = None) -> None:
        from evopipe.engine import CollectingSubscriber, EventBus
        from evopipe.engine.journal import MemoryJournal
        from evopipe.models import ModelHub
        from evopipe.models.config import ModelsConfig

        self.tmp_path = tmp_path
        self.events = CollectingSubscriber()
        self.hooks: dict[str, Any] = {}
        self.services = Services(
            # the default model is the schema-aware fake: no test here loads the local model
            models=ModelHub(ModelsConfig(default_model="fake"), allow_network=False),
            store=MemoryJournal(),
            bus=EventBus([self.events]),
            policy=policy or Policy.untrusted(),
            base_dir=tmp_path,
            hooks=self.hooks,
        )

    def with_policy(self, policy: Policy) -> EngineHarness:
        from dataclasses import replace

        self.services = replace(self.services, policy=policy)
        return self

    async def run(
        self, pipeline: Pipeline | str, inputs: dict[str, Any] | None = None
    ) -> RunResult:
        from evopipe.engine import RunOptions
        from evopipe.engine.runner import run_pipeline

        if isinstance(pipeline, str):
            pipeline = spec(pipeline)
        options = RunOptions(workspace=self.tmp_path / "ws")
        return await run_pipeline(pipeline, inputs or {}, services=self.services, options=options)


def spec(text: str) -> Pipeline:
    import textwrap

    body = textwrap.dedent(text).strip("\n")
    if not body.startswith("apiVersion"):
        body = "apiVersion: evopipe/v1\nname: t\n" + body
    return loads(body).pipeline
