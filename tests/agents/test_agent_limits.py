"""Each limit stops the agent at exactly the limit; stuck detection; what the model is shown."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from agents_helpers import call, run_agent, scripted

from evopipe.models.base import ModelRequest, ModelResponse, ToolCall, Usage
from evopipe.models.testing import FunctionModel

AGENT = """
steps:
  - id: ag
    kind: agent
    task: look around
    tools: [list, read, grep]
    limits: {LIMITS}
"""


def agent(limits: str) -> str:
    return AGENT.replace("{LIMITS}", limits)


def reader(tokens: int = 10, cost: float = 0.0, delay: float = 0.0) -> FunctionModel:
    """Always reads a.py again with a fresh line range (never stuck), fixed usage per call."""

    async def fn(request: ModelRequest) -> ModelResponse:
        if delay:
            await asyncio.sleep(delay)
        n = sum(1 for m in request.messages if m.role == "assistant")
        args = {"path": "a.py", "start_line": 1, "end_line": n + 1}
        return ModelResponse(
            text="",
            model="agentmodel",
            usage=Usage(tokens, 0),
            cost_usd=cost,
            tool_calls=(ToolCall("read", args, f"c{n}"),),
        )

    return FunctionModel(fn, model_id="agentmodel")


async def test_max_turns_stops_at_exactly_the_limit(ws: Any) -> None:
    model = reader()
    result = await run_agent(agent("{max_turns: 3}"), ws, model)
    out = result.step("ag").output
    assert (out["status"], out["reason"], out["turns"]) == ("stopped", "max_turns", 3)
    assert len(model.calls) == 3


async def test_max_tool_calls_stops_at_exactly_the_limit(ws: Any) -> None:
    # each turn asks for two calls: the 3rd turn's second call would be the 6th > 5
    def fn(request: ModelRequest) -> dict[str, Any]:
        n = len(model.calls)
        return {
            "tool_calls": [
                {"name": "read", "arguments": {"path": "a.py", "end_line": 2 * n}},
                {"name": "read", "arguments": {"path": "a.py", "end_line": 2 * n + 1}},
            ]
        }

    model = FunctionModel(fn, model_id="agentmodel")
    result = await run_agent(agent("{max_tool_calls: 5}"), ws, model)
    out = result.step("ag").output
    assert (out["reason"], out["tool_calls"], out["turns"]) == ("max_tool_calls", 5, 3)
    last_results = [m for m in model.calls[-1].messages if m.role == "tool"]
    assert len(model.calls) == 3
    assert len(last_results) == 4


async def test_max_tokens_stops_at_exactly_the_limit(ws: Any) -> None:
    model = reader(tokens=10)
    result = await run_agent(agent("{max_tokens: 30}"), ws, model)
    out = result.step("ag").output
    assert (out["reason"], out["turns"], out["input_tokens"]) == ("max_tokens", 3, 30)
    # the model is told what remains and asked for no more than that
    assert [c.max_tokens for c in model.calls] == [30, 20, 10]


async def test_max_cost_stops_at_exactly_the_limit(ws: Any) -> None:
    model = reader(cost=0.25)
    result = await run_agent(agent("{max_cost_usd: 0.75}"), ws, model)
    out = result.step("ag").output
    assert (out["reason"], out["turns"], out["cost_usd"]) == ("max_cost", 3, 0.75)


async def test_max_wall_time_stops_at_the_limit(ws: Any) -> None:
    model = reader(delay=0.1)
    start = time.monotonic()
    result = await run_agent(agent("{max_wall_s: 0.35}"), ws, model)
    elapsed = time.monotonic() - start
    out = result.step("ag").output
    assert out["reason"] == "max_wall_time"
    assert out["turns"] == 3  # the 4th call was cut off at 0.35 s
    assert 0.35 <= elapsed < 0.35 + 0.5


async def test_the_model_sees_what_remains(ws: Any) -> None:
    model = reader(tokens=10, cost=0.25)
    await run_agent(agent("{max_turns: 5, max_tokens: 100, max_cost_usd: 2}"), ws, model)
    first = model.calls[0].messages[-1].content
    third = model.calls[2].messages[-1].content
    assert "[remaining: turns 5, tool calls 50, tokens 100, cost $2.0000, time" in first
    assert "[remaining: turns 3, tool calls 48, tokens 80, cost $1.5000, time" in third


async def test_repeated_identical_action_and_observation_is_stuck(ws: Any) -> None:
    model = scripted(*[call("read", path="a.py")] * 10)
    result = await run_agent(agent("{stuck_after: 3}"), ws, model)
    out = result.step("ag").output
    assert (out["reason"], out["turns"], out["tool_calls"]) == ("stuck", 3, 3)


async def test_repeated_error_is_stuck_even_with_different_actions(ws: Any) -> None:
    # the arguments differ every time, the error does not
    model = scripted(*[call("delete", path=f"f{i}") for i in range(10)])
    result = await run_agent(agent("{stuck_after: 4}"), ws, model)
    out = result.step("ag").output
    assert (out["reason"], out["turns"]) == ("stuck", 4)


async def test_same_action_with_changing_observation_is_not_stuck(ws: Any) -> None:
    # the action repeats but the file changes between calls: progress, not a loop
    responses = []
    for i in range(4):
        responses += [call("write", path="a.py", content=f"x = {i}\n"), call("read", path="a.py")]
    model = scripted(*responses, call("finish", answer="ok"))
    result = await run_agent(
        AGENT.replace("[list, read, grep]", "[read, write]").replace("{LIMITS}", "{}"), ws, model
    )
    assert result.step("ag").output["reason"] == "finished"


@pytest.mark.parametrize("limit", ["max_turns: 0", "max_tool_calls: 0", "stuck_after: 1"])
def test_bad_limits_are_spec_errors(limit: str) -> None:
    from agents_helpers import spec

    from evopipe.spec.errors import SpecError

    with pytest.raises(SpecError):
        spec(agent("{" + limit + "}"))


async def test_per_call_output_cap_is_combined_with_the_token_budget(ws: Any) -> None:
    model = reader(tokens=10)
    text = agent("{max_tokens: 30}").replace("    limits:", "    max_tokens: 15\n    limits:")
    await run_agent(text, ws, model)
    assert [c.max_tokens for c in model.calls] == [15, 15, 10]
