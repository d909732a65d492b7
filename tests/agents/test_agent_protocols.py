"""Function calling vs the text protocol, output contracts, the test models driving the agent,
and the tool-call messages the SDK adapters send."""

from __future__ import annotations

import json
from pathlib import Path

from agents_helpers import call, run_agent, scripted

from evopipe.models.base import Capabilities, Message, ModelRequest, ToolCall
from evopipe.models.testing import FunctionModel

NO_TOOLS = Capabilities(json_schema=False, tools=False, network=False)


def texter(*replies: str) -> FunctionModel:
    queue = list(replies)
    return FunctionModel(lambda r: queue.pop(0), model_id="agentmodel", capabilities=NO_TOOLS)


async def test_text_protocol_for_models_without_function_calling(ws: Path) -> None:
    model = texter(
        'I will read it.\n```json\n{"tool": "read", "args": {"path": "a.py"}}\n```',
        "{'tool': 'edit', 'args': {'path': 'a.py', 'old': 'x = 1', 'new': 'x = 2'}}",
        '{"tool": "finish", "args": {"answer": "set x to 2"}}',
    )
    text = "steps:\n  - {id: ag, kind: agent, task: set x to 2, tools: [read, edit]}\n"
    result = await run_agent(text, ws, model)
    out = result.step("ag").output
    assert (out["reason"], out["answer"], out["tool_calls"]) == ("finished", "set x to 2", 2)
    assert (ws / "a.py").read_text() == "x = 2\n"
    first = model.calls[0]
    assert first.tools == ()  # no native tools offered
    assert '{"tool": "<tool name>", "args": {<arguments>}}' in first.messages[0].content
    assert "- edit(path: string, old: string, new: string)" in first.messages[0].content
    assert model.calls[1].messages[-1].content.startswith("Observation (read):\n   1| x = 1")


async def test_unreadable_text_reply_is_an_error_observation(ws: Path) -> None:
    model = texter("let me think", '{"tool": "finish", "args": {"answer": "ok"}}')
    text = "steps:\n  - {id: ag, kind: agent, task: t}\n"
    result = await run_agent(text, ws, model)
    assert result.step("ag").output["reason"] == "finished"
    assert "exactly one JSON object" in model.calls[1].messages[-1].content


async def test_protocol_can_be_forced(ws: Path) -> None:
    model = scripted('{"tool": "finish", "args": {"answer": "forced"}}')
    text = "steps:\n  - {id: ag, kind: agent, task: t, protocol: text}\n"
    result = await run_agent(text, ws, model)
    assert result.step("ag").output["answer"] == "forced"
    assert model.calls[0].tools == ()


async def test_plain_text_reply_finishes_under_function_calling(ws: Path) -> None:
    model = scripted("the answer")
    result = await run_agent("steps:\n  - {id: ag, kind: agent, task: t}\n", ws, model)
    out = result.step("ag").output
    assert (out["reason"], out["answer"], out["turns"]) == ("finished", "the answer", 1)
    names = [t.name for t in model.calls[0].tools]
    assert names == ["list", "read", "grep", "finish"]


CONTRACT = """
steps:
  - id: ag
    kind: agent
    task: report
    output:
      schema:
        type: object
        required: [issues]
        properties:
          issues: {type: array, items: {type: string}}
"""


async def test_output_contract_validates_the_answer(ws: Path) -> None:
    model = scripted(
        call("finish", answer={"problems": []}),
        call("finish", answer=json.dumps({"issues": ["x is global"]})),
    )
    result = await run_agent(CONTRACT, ws, model)
    assert result.ok
    assert result.step("ag").output == {"issues": ["x is global"]}
    assert "does not match the output schema" in model.calls[1].messages[-1].content
    finish = next(t for t in model.calls[0].tools if t.name == "finish")
    assert finish.parameters["properties"]["answer"]["required"] == ["issues"]


async def test_stopping_without_a_valid_answer_fails_a_contract_step(ws: Path) -> None:
    model = scripted(*[call("finish", answer={"problems": []})] * 5)
    result = await run_agent(CONTRACT, ws, model)
    assert result.status == "failed"
    assert "agent stopped (stuck)" in (result.error or "")


async def test_the_schema_fake_drives_the_agent(ws: Path) -> None:
    text = "steps:\n  - {id: ag, kind: agent, task: look, tools: [list, read, grep]}\n"
    result = await run_agent(text, ws, model_id="fake")
    out = result.step("ag").output
    assert out["status"] == "finished"
    assert out["turns"] == 2
    assert out["tool_calls"] + (out["answer"] is not None) >= 1


def test_adapters_send_tool_calls_and_results_natively() -> None:
    from evopipe.models.adapters.anthropic import _messages
    from evopipe.models.adapters.google import _content
    from evopipe.models.adapters.openai import _message

    call_msg = Message("assistant", "", tool_calls=(ToolCall("read", {"path": "a"}, "c1"),))
    result = Message("tool", "x = 1", tool_call_id="c1", name="read")
    assert _message(call_msg)["tool_calls"][0]["function"] == {
        "name": "read",
        "arguments": '{"path": "a"}',
    }
    assert _message(result) == {"role": "tool", "tool_call_id": "c1", "content": "x = 1"}
    two = [call_msg, result, Message("tool", "y", tool_call_id="c2", name="read")]
    sent = _messages(two)
    assert sent[0]["content"][0] == {
        "type": "tool_use",
        "id": "c1",
        "name": "read",
        "input": {"path": "a"},
    }
    assert [b["tool_use_id"] for b in sent[1]["content"]] == ["c1", "c2"]
    assert len(sent) == 2
    function_call = {"function_call": {"name": "read", "args": {"path": "a"}}}
    assert _content(call_msg)["parts"] == [function_call]
    assert _content(result)["parts"][0]["function_response"]["name"] == "read"


def test_tool_messages_change_the_cache_key_but_plain_ones_keep_theirs() -> None:
    plain = ModelRequest((Message("user", "hi"),))
    assert plain.cache_key_data()["messages"] == [["user", "hi"]]
    a = ModelRequest((Message("tool", "1", tool_call_id="c1"),))
    b = ModelRequest((Message("tool", "1", tool_call_id="c2"),))
    assert a.cache_key_data() != b.cache_key_data()


async def test_json_protocol_constrains_replies_to_an_action_schema(ws: Path) -> None:
    import jsonschema

    caps = Capabilities(json_schema=True, tools=False, network=False)
    replies = ["not json at all", '{"tool": "finish", "args": {"answer": "done"}}']
    model = FunctionModel(lambda r: replies.pop(0), model_id="agentmodel", capabilities=caps)
    result = await run_agent("steps:\n  - {id: ag, kind: agent, task: t}\n", ws, model)
    out = result.step("ag").output
    assert (out["reason"], out["answer"], out["turns"]) == ("finished", "done", 2)
    schema = model.calls[0].output_schema
    assert schema is not None
    assert model.calls[0].tools == ()
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid({"tool": "read", "args": {"path": "a.py"}})
    assert not validator.is_valid({"tool": "read", "args": {}})  # path is required
    assert not validator.is_valid({"tool": "delete", "args": {}})
    # the reply that was not an action came back as an error observation, not a step failure
    assert "exactly one JSON object" in model.calls[1].messages[-1].content
