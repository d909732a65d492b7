"""Unit tests of the control kinds and the policy against the in-test context."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from steps_helpers import FakeContext, make_pipeline, spec

from evopipe.engine.journal import ApprovalDecision
from evopipe.engine.policy import Policy
from evopipe.engine.types import RunResult
from evopipe.spec.errors import EvopipeError
from evopipe.spec.kinds import ApprovalStep, GenerateStep, LoopStep, MapStep, PipelineStep
from evopipe.spec.pipeline import Limits, Pipeline
from evopipe.steps import approval, generate, loop, pipeline
from evopipe.steps import map as map_kind
from evopipe.steps.base import StepFailed

# -- approval ----------------------------------------------------------------------------------


async def test_approval_waits_without_a_decision(ctx: FakeContext) -> None:
    result = await approval.run(ctx, ApprovalStep(id="gate", message="ok {{ 1 + 1 }}?"))
    assert result.status == "waiting"
    assert result.meta["message"] == "ok 2?"


async def test_approval_approved(ctx: FakeContext) -> None:
    ctx.decision = ApprovalDecision(True, "lgtm", "ana")
    result = await approval.run(ctx, ApprovalStep(id="gate", message="m"))
    assert result.status == "succeeded"
    assert result.output == {"approved": True, "comment": "lgtm", "by": "ana"}


async def test_approval_rejected_fails_by_default(ctx: FakeContext) -> None:
    ctx.decision = ApprovalDecision(False, "not yet", "bo")
    with pytest.raises(StepFailed, match="rejected by bo: not yet"):
        await approval.run(ctx, ApprovalStep(id="gate", message="m"))


async def test_approval_rejected_skips_when_asked(ctx: FakeContext) -> None:
    ctx.decision = ApprovalDecision(False, None, None)
    result = await approval.run(ctx, ApprovalStep(id="gate", message="m", on_reject="skip"))
    assert result.status == "skipped"
    assert result.output["approved"] is False


# -- map ---------------------------------------------------------------------------------------


def _map(**kw: Any) -> MapStep:
    base: dict[str, Any] = {
        "id": "fan",
        "over": "{{ inputs.xs }}",
        "steps": [{"id": "u", "kind": "tool", "tool": "upper", "args": {"text": "{{ item }}"}}],
    }
    return MapStep.model_validate({**base, **kw})


async def test_map_needs_steps_or_pipeline(ctx: FakeContext) -> None:
    ctx.namespace = {"inputs": {"xs": [1]}}
    with pytest.raises(StepFailed, match="exactly one of"):
        await map_kind.run(ctx, _map(steps=None))


async def test_map_uses_the_policy_item_budget(ctx: FakeContext) -> None:
    from evopipe.engine.budget import BudgetExceeded

    ctx.policy = ctx.policy.replace(max_map_items=3)
    ctx.namespace = {"inputs": {"xs": ["a", "b", "c", "d"]}}
    with pytest.raises(BudgetExceeded) as info:
        await map_kind.run(ctx, _map())
    assert info.value.budget == "max_map_items"
    ctx.namespace = {"inputs": {"xs": ["a", "b", "c"]}}
    assert (await map_kind.run(ctx, _map())).output == ["A", "B", "C"]


async def test_map_scope_labels_are_relative(ctx: FakeContext) -> None:
    ctx.namespace = {"inputs": {"xs": ["a", "b"]}}
    await map_kind.run(ctx, _map(max_concurrency=1))
    assert ctx.scopes == ["[0]", "[1]"]


async def test_map_respects_max_concurrency(ctx: FakeContext) -> None:
    import asyncio

    running = 0
    peak = 0

    async def slow_runner(*args: Any) -> RunResult:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01)
        running -= 1
        return RunResult("sub", "succeeded", {"ok": True})

    ctx.sub_runner = slow_runner
    ctx.namespace = {"inputs": {"xs": list(range(12))}}
    config = _map(steps=None, pipeline="child.yaml", max_concurrency=3)
    result = await map_kind.run(ctx, config)
    assert result.output == [{"ok": True}] * 12
    assert peak == 3


async def test_map_item_waiting_makes_the_map_wait(ctx: FakeContext) -> None:
    async def runner(p: Any, inputs: Any, scope: Any, policy: Any) -> RunResult:
        status = "waiting" if scope == "[1]" else "succeeded"
        return RunResult("sub", status, {}, waiting_on=("gate",) if status == "waiting" else ())

    ctx.sub_runner = runner
    ctx.namespace = {"inputs": {"xs": [0, 1, 2]}}
    result = await map_kind.run(ctx, _map(steps=None, pipeline="child.yaml", max_concurrency=1))
    assert result.status == "waiting"
    assert result.meta["waiting_items"] == [1]


# -- loop --------------------------------------------------------------------------------------


async def test_loop_over_a_sub_pipeline_sees_outputs_and_previous(ctx: FakeContext) -> None:
    seen: list[Any] = []

    async def runner(p: Any, inputs: Any, scope: Any, policy: Any) -> RunResult:
        seen.append(dict(inputs))
        return RunResult("sub", "succeeded", {"score": inputs["n"] * 3})

    ctx.sub_runner = runner
    config = LoopStep.model_validate(
        {
            "id": "refine",
            "pipeline": "child.yaml",
            "inputs": {
                "n": "{{ loop.iteration }}",
                "prev": "{{ loop.previous.score if loop.previous else 0 }}",
            },
            "until": "outputs.score >= 9",
            "max_iterations": 10,
        }
    )
    result = await loop.run(ctx, config)
    assert result.output["iterations"] == 3
    assert result.output["converged"] is True
    assert result.output["outputs"] == {"score": 9}
    assert seen == [{"n": 1, "prev": 0}, {"n": 2, "prev": 3}, {"n": 3, "prev": 6}]
    assert [c["scope"] for c in ctx.sub_calls] == ["#1", "#2", "#3"]


async def test_loop_failure_names_the_iteration(ctx: FakeContext) -> None:
    async def runner(p: Any, inputs: Any, scope: Any, policy: Any) -> RunResult:
        return RunResult("sub", "failed" if scope == "#2" else "succeeded", {}, error="boom")

    ctx.sub_runner = runner
    config = LoopStep(id="l", pipeline="c.yaml", until="false", max_iterations=5)
    with pytest.raises(StepFailed, match="iteration 2 failed: boom"):
        await loop.run(ctx, config)


# -- pipeline ----------------------------------------------------------------------------------


async def test_pipeline_depth_exceeded_before_running(ctx: FakeContext) -> None:
    ctx.pipeline = spec(
        "limits: {max_depth: 2}\nsteps: [{id: a, kind: tool, tool: upper, args: {text: x}}]"
    )
    ctx.depth = 2
    with pytest.raises(StepFailed, match="depth-exceeded"):
        await pipeline.run(ctx, PipelineStep(id="p", pipeline="child.yaml"))
    assert ctx.sub_calls == []


async def test_pipeline_own_budget_overrun_names_the_budget(ctx: FakeContext) -> None:
    async def runner(*args: Any) -> RunResult:
        return RunResult("sub", "budget_exceeded", {}, error="too many", budget="max_steps")

    ctx.sub_runner = runner
    with pytest.raises(StepFailed, match="exceeded its own budget max_steps"):
        await pipeline.run(ctx, PipelineStep(id="p", pipeline="child.yaml"))


async def test_pipeline_renders_inputs(ctx: FakeContext) -> None:
    async def runner(p: Any, inputs: Any, scope: Any, policy: Any) -> RunResult:
        return RunResult("sub", "succeeded", {"echo": inputs})

    ctx.sub_runner = runner
    ctx.namespace = {"inputs": {"q": "hi"}}
    config = PipelineStep(id="p", pipeline="c.yaml", inputs={"a": "{{ inputs.q }}", "b": 2})
    result = await pipeline.run(ctx, config)
    assert result.output == {"echo": {"a": "hi", "b": 2}}
    assert ctx.sub_calls[0]["policy"] is None


# -- generate ----------------------------------------------------------------------------------

GENERATED_YAML = """apiVersion: evopipe/v1
name: gen
limits: {max_steps: 500, max_depth: 40, timeout_s: 9999}
steps: [{id: a, kind: tool, tool: upper, args: {text: x}}]
"""


@pytest.mark.parametrize(
    "produced",
    [
        GENERATED_YAML,
        spec(GENERATED_YAML),
        {
            "apiVersion": "evopipe/v1",
            "name": "gen",
            "limits": {"max_steps": 500, "max_depth": 40, "timeout_s": 9999},
            "steps": [{"id": "a", "kind": "tool", "tool": "upper", "args": {"text": "x"}}],
        },
    ],
)
async def test_generate_accepts_yaml_models_and_dicts(ctx: FakeContext, produced: Any) -> None:
    class Draft:
        pipeline = produced

    async def generator(**kw: Any) -> Any:
        return Draft() if isinstance(produced, Pipeline) else produced

    async def runner(p: Any, inputs: Any, scope: Any, policy: Any) -> RunResult:
        return RunResult("sub", "succeeded", {"a": "X"})

    ctx.hooks["generator"] = generator
    ctx.sub_runner = runner
    ctx.policy = Policy.trusting(python_allow={"json:dumps"})
    ctx.pipeline = spec(
        "limits: {max_steps: 20, max_depth: 3}\n"
        "steps: [{id: a, kind: tool, tool: upper, args: {text: x}}]"
    )
    result = await generate.run(ctx, GenerateStep(id="g", request="r"))
    assert result.output["outputs"] == {"a": "X"}
    call = ctx.sub_calls[0]
    assert call["policy"].trusted is False
    assert call["policy"].python_allow == frozenset()
    limits = call["pipeline"].limits
    assert (limits.max_steps, limits.max_depth, limits.timeout_s) == (20, 3, 9999)


async def test_generate_rejects_invalid_output(ctx: FakeContext) -> None:
    async def generator(**kw: Any) -> Any:
        return "apiVersion: evopipe/v1\nname: x\nsteps: [{id: a, kind: nope}]\n"

    ctx.hooks["generator"] = generator
    with pytest.raises(StepFailed, match="the generated pipeline is invalid"):
        await generate.run(ctx, GenerateStep(id="g", request="r"))

    async def weird(**kw: Any) -> Any:
        return 42

    ctx.hooks["generator"] = weird
    with pytest.raises(StepFailed, match="returned int, not a pipeline"):
        await generate.run(ctx, GenerateStep(id="g", request="r"))


def test_clamp_limits() -> None:
    child = Limits(max_steps=100, max_depth=10, max_tokens=None, max_cost_usd=5.0)
    parent = Limits(max_steps=10, max_depth=2, max_tokens=1000, max_cost_usd=None)
    out = generate.clamp_limits(child, parent)
    assert (out.max_steps, out.max_depth, out.max_tokens, out.max_cost_usd) == (10, 2, 1000, 5.0)


# -- policy from config ------------------------------------------------------------------------


def test_policy_from_config_needs_trust() -> None:
    section = {"python_allow": ["json:dumps"], "http_allow_hosts": ["API.example.com."]}
    assert Policy.from_config(section) == Policy.untrusted()
    trusted = Policy.from_config(section, trust=True)
    assert trusted.trusted
    assert trusted.python_allow == frozenset({"json:dumps"})
    assert trusted.http_allow_hosts == frozenset({"api.example.com"})
    assert Policy.from_config({"trusted": True}).trusted


def test_policy_from_config_rejects_typos() -> None:
    with pytest.raises(EvopipeError, match="unknown key"):
        Policy.from_config({"python_allowed": ["x:y"]}, trust=True)
    with pytest.raises(EvopipeError, match="must be a list"):
        Policy.from_config({"python_allow": "json:dumps"}, trust=True)


def test_default_pipeline_helper() -> None:
    assert make_pipeline().name == "t"


def test_policy_load_reads_user_then_project_config(tmp_path: Path) -> None:
    user = tmp_path / "user.toml"
    user.write_text('[policy]\npython_allow = ["json:dumps"]\nmax_map_items = 7\n')
    project = tmp_path / "proj"
    project.mkdir()
    (project / "evopipe.toml").write_text('default_model = "fake"\n[policy]\nmax_map_items = 9\n')
    env = {"EVOPIPE_CONFIG": str(user)}
    untrusted = Policy.load(project, env=env)
    assert not untrusted.trusted
    assert untrusted.max_map_items == 9
    trusted = Policy.load(project, trust=True, env=env)
    assert trusted.python_allow == frozenset({"json:dumps"})
    assert trusted.max_map_items == 9
    (project / "evopipe.toml").write_text("[policy\n")
    with pytest.raises(EvopipeError, match="cannot read the config"):
        Policy.load(project, env=env)
