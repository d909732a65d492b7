"""``agent``: a tool-using loop over a model, in the run's workspace.

The model gets a task and tools — ``list``, ``read``, ``grep`` (always safe), ``write``/``edit``
(trusting policy), ``run`` (shell allowed; only commands matching the ``commands`` allowlist) —
plus ``finish``. It works by function calling when the model supports it, else by a JSON text
protocol whose replies are schema-constrained when the model can do that (:mod:`.protocol`).
Limits, stuck detection and per-turn journaling: :mod:`.loop`.
Confinement: :mod:`.paths` (files) and :mod:`.commands` (processes)::

    - id: fix
      kind: agent
      task: "Make the failing test pass. {{ inputs.hint }}"
      tools: [list, read, grep, edit, run]
      commands: ["python -m pytest*"]
      verify: ["python -m pytest -q"]
      limits: {max_turns: 12, max_tool_calls: 30}

Output without an output contract: ``{status, reason, answer, turns, tool_calls, input_tokens,
output_tokens, cost_usd, changed, diff, proposed_diff, verified, verify, reverted}`` (``status`` is
``finished`` or ``stopped``; ``reason`` names the limit, or ``stuck``). With a contract, the
output is the ``finish`` answer validated against it, and stopping without one fails the step.
``verify`` commands run after the loop; if one fails and ``revert_on_failure`` (default), every
file change is undone (``reverted: true``) — the diff that was proposed stays in the output.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evopipe.engine.llmcall import contract_schema
from evopipe.engine.policy import PolicyError
from evopipe.spec.kinds import AgentStep
from evopipe.steps.agent import snapshot
from evopipe.steps.agent.commands import network_isolation, parse_command, run_command
from evopipe.steps.agent.loop import (
    Counters,
    LoopState,
    Setup,
    first_messages,
    remaining_note,
    restore,
    run_loop,
)
from evopipe.steps.agent.paths import PathRefused, confined
from evopipe.steps.agent.protocol import Mode, text_instructions
from evopipe.steps.agent.tools import TOOLS, Workbench, check_gates, finish_spec
from evopipe.steps.base import StepContext, StepFailed, StepResult

kind = "agent"
config_model = AgentStep

SYSTEM = (
    "You are a careful software agent working in a repository through tools. Paths are "
    "relative to the working directory. Inspect before you change; make the smallest change "
    "that does the task; when commands are available, check your work with them. Call "
    "`finish` with your answer when done."
)


async def run(ctx: StepContext, config: AgentStep) -> StepResult:
    enabled = tuple(dict.fromkeys(config.tools))
    check_gates(ctx.step_id, enabled, ctx.policy, config.commands)
    if config.verify:
        ctx.policy.check_shell(ctx.step_id)
    root = _workdir(ctx, config)
    prefix = await _net_prefix(ctx, config, enabled)
    wb = Workbench(root, ctx.policy, tuple(config.commands), config.command_timeout_s, prefix)
    writes = bool({"write", "edit", "run"} & set(enabled)) or bool(config.verify)
    before = snapshot.take(root, ctx.step_id) if writes else None
    schema = contract_schema(ctx, config.output)
    setup = _setup(ctx, config, enabled, schema, wb)
    task = str(ctx.render(config.task, where="task"))
    extra = str(ctx.render(config.system, where="system")) if config.system else ""
    system = "\n\n".join(
        p
        for p in (
            SYSTEM,
            extra,
            _instructions(setup),
        )
        if p
    )
    state = LoopState(first_messages(system, task, remaining_note(Counters(), config.limits)))
    restore(ctx, state)
    state = await run_loop(ctx, setup, state)
    report = await _report(ctx, config, state, root, before, prefix)
    if before is not None:
        snapshot.discard(root, ctx.step_id)
    meta = {k: v for k, v in report.items() if k not in ("answer", "diff", "proposed_diff")}
    if schema is None:
        return StepResult(output=report, meta=meta)
    if state.reason != "finished":
        raise StepFailed(ctx.step_id, f"agent stopped ({state.reason}) without a valid answer")
    return StepResult(output=state.answer, meta=meta)


def _instructions(setup: Setup) -> str:
    if setup.mode == "functions":
        return ""
    return text_instructions(setup.specs, example=setup.mode == "text")


def _workdir(ctx: StepContext, config: AgentStep) -> Path:
    sub = str(ctx.render(config.workdir, where="workdir"))
    try:
        root = confined(ctx.workspace, sub) if sub not in ("", ".") else ctx.workspace
    except PathRefused as exc:
        raise StepFailed(ctx.step_id, f"workdir: {exc}") from None
    if not root.is_dir():
        raise StepFailed(ctx.step_id, f"workdir {sub!r} is not a directory in the workspace")
    return root.resolve()


async def _net_prefix(ctx: StepContext, config: AgentStep, enabled: tuple[str, ...]) -> list[str]:
    if ("run" not in enabled and not config.verify) or ctx.policy.agent_network:
        return []
    prefix = await network_isolation()
    if prefix is None:
        raise PolicyError(
            ctx.step_id,
            "cannot cut agent commands off the network here (no working `unshare --net`)",
            hint="set `agent_network = true` under [policy] to run them with network access",
        )
    return prefix


def _setup(
    ctx: StepContext,
    config: AgentStep,
    enabled: tuple[str, ...],
    schema: dict[str, Any] | None,
    wb: Workbench,
) -> Setup:
    mode: Mode
    if config.protocol == "auto":
        caps = ctx.services.models.get(ctx.model_id).capabilities
        mode = "functions" if caps.tools else "json" if caps.json_schema else "text"
    else:
        mode = config.protocol
    specs = (*(TOOLS[n].spec() for n in enabled), finish_spec(schema))
    return Setup(
        mode, specs, enabled, config.limits, schema, wb, config.temperature, config.max_tokens
    )


async def _report(
    ctx: StepContext,
    config: AgentStep,
    state: LoopState,
    root: Path,
    before: Path | None,
    prefix: list[str],
) -> dict[str, Any]:
    c = state.counters
    report: dict[str, Any] = {
        "status": "finished" if state.reason == "finished" else "stopped",
        "reason": state.reason,
        "answer": state.answer,
        "turns": c.turns,
        "resumed_turns": state.resumed_turns,
        "tool_calls": c.tool_calls,
        "input_tokens": c.input_tokens,
        "output_tokens": c.output_tokens,
        "cost_usd": c.cost_usd,
        "changed": snapshot.changed_files(root, before) if before is not None else [],
        "diff": snapshot.unified_diff(root, before) if before is not None else "",
        "proposed_diff": "",
        "verified": None,
        "verify": [],
        "reverted": False,
    }
    if config.verify:
        results = [
            await run_command(
                parse_command(str(ctx.render(cmd, where=f"verify[{i}]"))),
                cwd=root,
                policy=ctx.policy,
                timeout_s=config.command_timeout_s,
                prefix=prefix,
            )
            for i, cmd in enumerate(config.verify)
        ]
        report["verify"] = [
            {"command": " ".join(r.argv), "exit_code": r.exit_code, "output": r.observation()}
            for r in results
        ]
        report["verified"] = all(r.exit_code == 0 and not r.timed_out for r in results)
        if not report["verified"] and config.revert_on_failure and before is not None:
            snapshot.revert(root, before)
            report.update(reverted=True, proposed_diff=report["diff"], diff="", changed=[])
    if not report["reverted"]:
        report["proposed_diff"] = report["diff"]
    return report
