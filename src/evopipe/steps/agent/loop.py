"""The agent loop: ask the model, run its actions, show the results — within limits.

One **turn** is one model call plus the actions it asked for. After every completed turn an
``agent_turn`` event is journaled with the messages the turn added and the counters; a resumed
step (after a crash or kill) replays those events instead of calling the model again, so
completed turns are never repeated (the workspace already holds their effects).

The loop stops when the model finishes (``finished``), or at the first limit reached:
``max_turns``, ``max_tool_calls``, ``max_tokens``, ``max_cost``, ``max_wall_time``; or ``stuck``:
the last ``stuck_after`` actions produced the identical action and observation, or the identical
error. Every observation ends with what remains of each limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from evopipe.engine.llmcall import validate
from evopipe.engine.policy import PolicyError
from evopipe.engine.repair import repair_json
from evopipe.models.base import InvalidOutputError, Message, ModelRequest, ModelResponse, ToolSpec
from evopipe.spec.kinds import AgentLimits
from evopipe.steps.agent import protocol
from evopipe.steps.agent.files import ToolFailed
from evopipe.steps.agent.protocol import Action, Mode
from evopipe.steps.agent.tools import FINISH, Workbench, call_tool
from evopipe.steps.base import StepContext

TURN_EVENT = "agent_turn"


@dataclass
class Counters:
    turns: int = 0
    tool_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    elapsed_s: float = 0.0

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass
class LoopState:
    messages: list[Message]
    counters: Counters = field(default_factory=Counters)
    trail: list[str] = field(default_factory=list)
    answer: Any = None
    reason: str | None = None
    resumed_turns: int = 0


@dataclass(frozen=True)
class Setup:
    """Everything the loop needs besides the context."""

    mode: Mode
    specs: tuple[ToolSpec, ...]
    enabled: tuple[str, ...]
    limits: AgentLimits
    answer_schema: dict[str, Any] | None
    workbench: Workbench
    temperature: float | None = None
    max_tokens: int | None = None


def exhausted(c: Counters, limits: AgentLimits) -> str | None:
    """The first limit reached, or None."""
    if c.turns >= limits.max_turns:
        return "max_turns"
    if c.tool_calls >= limits.max_tool_calls:
        return "max_tool_calls"
    if limits.max_tokens is not None and c.tokens >= limits.max_tokens:
        return "max_tokens"
    if limits.max_cost_usd is not None and c.cost_usd >= limits.max_cost_usd:
        return "max_cost"
    if c.elapsed_s >= limits.max_wall_s:
        return "max_wall_time"
    return None


def remaining_note(c: Counters, limits: AgentLimits) -> str:
    parts = [
        f"turns {limits.max_turns - c.turns}",
        f"tool calls {limits.max_tool_calls - c.tool_calls}",
    ]
    if limits.max_tokens is not None:
        parts.append(f"tokens {max(0, limits.max_tokens - c.tokens)}")
    if limits.max_cost_usd is not None:
        parts.append(f"cost ${max(0.0, limits.max_cost_usd - c.cost_usd):.4f}")
    parts.append(f"time {max(0.0, limits.max_wall_s - c.elapsed_s):.0f}s")
    return "[remaining: " + ", ".join(parts) + "]"


def restore(ctx: StepContext, state: LoopState) -> None:
    """Replay this step's journaled turns (since its last completed or failed attempt)."""
    turns = ctx.journaled(TURN_EVENT)
    for data in turns:
        state.messages += [protocol.from_data(m) for m in data["messages"]]
        state.counters = Counters(**data["counters"])
        state.trail = list(data["trail"])
    state.resumed_turns = len(turns)


async def run_loop(ctx: StepContext, setup: Setup, state: LoopState) -> LoopState:
    started = time.monotonic() - state.counters.elapsed_s
    limits = setup.limits
    while state.reason is None:
        state.counters.elapsed_s = time.monotonic() - started
        state.reason = exhausted(state.counters, limits)
        if state.reason is not None:
            break
        left = limits.max_wall_s - state.counters.elapsed_s
        try:
            async with asyncio.timeout(left):
                response = await ctx.complete(_request(setup, state))
        except TimeoutError:
            state.reason = "max_wall_time"
            break
        except InvalidOutputError as exc:  # json mode: a reply that is not an action
            response = ModelResponse(text=exc.raw or str(exc), model=ctx.model_id)
        await _turn(ctx, setup, state, response, started)
    state.counters.elapsed_s = time.monotonic() - started
    return state


def _request(setup: Setup, state: LoopState) -> ModelRequest:
    max_tokens = setup.max_tokens
    if setup.limits.max_tokens is not None:
        left = max(1, setup.limits.max_tokens - state.counters.tokens)
        max_tokens = left if max_tokens is None else min(max_tokens, left)
    return ModelRequest(
        messages=tuple(state.messages),
        tools=setup.specs if setup.mode == "functions" else (),
        output_schema=protocol.action_schema(setup.specs) if setup.mode == "json" else None,
        temperature=setup.temperature,
        max_tokens=max_tokens,
    )


async def _turn(
    ctx: StepContext, setup: Setup, state: LoopState, response: ModelResponse, started: float
) -> None:
    c = state.counters
    c.turns += 1
    c.input_tokens += response.usage.input_tokens
    c.output_tokens += response.usage.output_tokens
    c.cost_usd += response.cost_usd or 0.0
    parsed = protocol.parse_reply(setup.mode, response, c.turns)
    results: list[tuple[Action, str]] = []
    if parsed.error is not None:
        _record(state, setup, "error:" + parsed.error)
    for action in parsed.actions:
        if state.reason is not None:  # a limit or finish earlier in this turn
            results.append((action, "not run: the loop has stopped"))
            continue
        results.append((action, await _act(setup, state, action)))
    c.elapsed_s = time.monotonic() - started
    note = remaining_note(c, setup.limits)
    added = [parsed.message, *protocol.observations(setup.mode, results, note, parsed.error)]
    state.messages += added
    ctx.emit(
        TURN_EVENT,
        turn=c.turns,
        messages=[protocol.to_data(m) for m in added],
        counters=asdict(c),
        trail=state.trail[-setup.limits.stuck_after :],
    )
    await asyncio.sleep(0)  # let the journal writer commit the turn before the next call


async def _act(setup: Setup, state: LoopState, action: Action) -> str:
    if action.name == FINISH:
        return _finish(setup, state, action)
    c = state.counters
    if c.tool_calls >= setup.limits.max_tool_calls:
        state.reason = "max_tool_calls"
        return "not run: tool call limit reached"
    c.tool_calls += 1
    try:
        text = await call_tool(setup.workbench, action.name, action.args, setup.enabled)
        _record(state, setup, "ok:" + action.signature() + "\n" + text)
    except (ToolFailed, PolicyError) as exc:
        text = f"error: {exc}"
        _record(state, setup, "error:" + str(exc))
    if state.reason is None and c.tool_calls >= setup.limits.max_tool_calls:
        state.reason = "max_tool_calls"
    return text


def _finish(setup: Setup, state: LoopState, action: Action) -> str:
    answer = action.args.get("answer")
    schema = setup.answer_schema
    if schema is not None:
        if isinstance(answer, str):
            with contextlib.suppress(ValueError):
                answer, _ = repair_json(answer)
        errors = validate(answer, schema)
        if errors:
            problem = "answer does not match the output schema: " + "; ".join(errors[:5])
            _record(state, setup, "error:" + problem)
            return f"error: {problem}"
    elif not isinstance(answer, str):
        answer = json.dumps(answer, ensure_ascii=False)
    state.answer = answer
    state.reason = "finished"
    return "finished"


def _record(state: LoopState, setup: Setup, key: str) -> None:
    state.trail.append(key)
    n = setup.limits.stuck_after
    recent = state.trail[-n:]
    if len(recent) == n and len(set(recent)) == 1 and state.reason is None:
        state.reason = "stuck"


def first_messages(system: str, task: str, note: str) -> list[Message]:
    return [Message("system", system), Message("user", f"{task}\n\n{note}")]
