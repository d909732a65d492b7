"""How actions travel between the model and the loop: function calling or a JSON text protocol.

``functions``: tools are offered natively (``ModelRequest.tools``); the model's ``tool_calls``
are the actions and each result goes back as a ``tool`` message. A reply with no call finishes
the task with its text as the answer.

``text`` (models without function calling, e.g. the embedded local model): the system prompt
lists the tools and asks for exactly one JSON object per reply, ``{"tool": NAME, "args": {...}}``;
results go back as a user message starting ``Observation``. Replies are parsed leniently (code
fences, prose around the JSON, single quotes).

``json``: the text protocol with each reply constrained to the JSON Schema of an action
(:func:`action_schema`) — for models without function calling but with schema-constrained
decoding (the embedded local model's grammar), so that every reply is at least a well-formed
action.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from evopipe.engine.repair import repair_json
from evopipe.models.base import Message, ModelResponse, ToolCall, ToolSpec

Mode = Literal["functions", "text", "json"]


@dataclass(frozen=True, slots=True)
class Action:
    id: str
    name: str
    args: dict[str, Any]

    def signature(self) -> str:
        return json.dumps([self.name, self.args], sort_keys=True, default=str)


@dataclass(frozen=True, slots=True)
class Parsed:
    """A reply read as actions; ``error`` when it could not be read (shown to the model)."""

    message: Message
    actions: tuple[Action, ...]
    error: str | None = None


def action_schema(specs: Sequence[ToolSpec]) -> dict[str, Any]:
    """One action: ``{"tool": NAME, "args": {...}}`` with NAME's own argument schema."""
    return {
        "anyOf": [
            {
                "type": "object",
                "properties": {"tool": {"const": s.name}, "args": s.parameters},
                "required": ["tool", "args"],
                "additionalProperties": False,
            }
            for s in specs
        ]
    }


def text_instructions(specs: Sequence[ToolSpec], *, example: bool = True) -> str:
    """The tool list and reply format for the text protocols. ``example`` adds a sample reply
    (useful without constrained decoding; tiny models copy it verbatim, so the ``json``
    protocol, whose grammar already fixes the format, leaves it out)."""
    lines = [
        "You act by replying with exactly ONE JSON object and nothing else:",
        '{"tool": "<tool name>", "args": {<arguments>}}',
        "After each action you get an Observation. Tools:",
    ]
    for spec in specs:
        props = spec.parameters.get("properties", {})
        args = ", ".join(f"{k}: {v.get('type', 'any')}" for k, v in props.items())
        lines.append(f"- {spec.name}({args}): {spec.description}")
    if example:
        lines.append('Example reply: {"tool": "list", "args": {"path": "."}}')
    lines.append('When done, reply {"tool": "finish", "args": {"answer": ...}}.')
    return "\n".join(lines)


def parse_reply(mode: Mode, response: ModelResponse, turn: int) -> Parsed:
    if mode == "functions":
        message = Message("assistant", response.text, tool_calls=response.tool_calls)
        if not response.tool_calls:
            action = Action(f"t{turn}-final", "finish", {"answer": response.text})
            return Parsed(message, (action,))
        actions = tuple(
            Action(c.id or f"t{turn}-{i}", c.name, dict(c.arguments))
            for i, c in enumerate(response.tool_calls, 1)
        )
        fixed = tuple(ToolCall(a.name, a.args, a.id) for a in actions)
        return Parsed(Message("assistant", response.text, tool_calls=fixed), actions)
    message = Message("assistant", response.text)
    try:
        value, _ = repair_json(response.text)
    except ValueError:
        value = None
    if isinstance(value, dict):
        name = value.get("tool", value.get("action", value.get("name")))
        args = value.get("args", value.get("arguments", {}))
        if isinstance(name, str) and isinstance(args, dict):
            return Parsed(message, (Action(f"t{turn}", name, args),))
    error = 'reply with exactly one JSON object {"tool": "<name>", "args": {...}}'
    return Parsed(message, (), error)


def observations(
    mode: Mode, results: Sequence[tuple[Action, str]], note: str, error: str | None = None
) -> list[Message]:
    """The messages carrying this turn's results (and what remains of the budget) back."""
    if mode == "functions":
        out = [
            Message("tool", text, tool_call_id=action.id, name=action.name)
            for action, text in results
        ]
        if out:
            last = out[-1]
            out[-1] = Message(
                "tool", f"{last.content}\n\n{note}", last.tool_calls, last.tool_call_id, last.name
            )
        else:
            out.append(Message("user", f"Error: {error}\n\n{note}"))
        return out
    if error is not None:
        return [Message("user", f"Observation: error: {error}\n\n{note}")]
    body = "\n\n".join(f"Observation ({a.name}):\n{text}" for a, text in results)
    return [Message("user", f"{body}\n\n{note}")]


def to_data(message: Message) -> dict[str, Any]:
    data: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        data["tool_calls"] = [
            {"id": c.id, "name": c.name, "arguments": c.arguments} for c in message.tool_calls
        ]
    if message.tool_call_id:
        data["tool_call_id"] = message.tool_call_id
    if message.name:
        data["name"] = message.name
    return data


def from_data(data: dict[str, Any]) -> Message:
    calls = tuple(
        ToolCall(c["name"], dict(c.get("arguments") or {}), str(c.get("id", "")))
        for c in data.get("tool_calls") or ()
    )
    return Message(
        data["role"],
        str(data.get("content", "")),
        tool_calls=calls,
        tool_call_id=str(data.get("tool_call_id", "")),
        name=str(data.get("name", "")),
    )
