"""Codex: ``codex exec --json [resume SESSION] PROMPT``.

Events: ``thread.started`` (``thread_id`` — the session id), ``turn.started``,
``item.started``/``item.updated``/``item.completed`` (``item.type``: ``agent_message`` with
``text``, ``command_execution``, ``file_change``, ``reasoning``, ...), ``turn.completed``
(``usage``: ``input_tokens``, ``cached_input_tokens``, ``output_tokens``), ``turn.failed``
(``error.message``) and ``error`` (``message``). Codex reports no cost.
"""

from __future__ import annotations

from typing import Any

from evopipe.steps.coding_agent.base import CliCall, CliResult, as_int

NAME = "codex"
EXIT_CODES = {1: "error"}
_TOOL_ITEMS = frozenset({"command_execution", "file_change", "mcp_tool_call", "web_search"})


def argv(call: CliCall) -> list[str]:
    args = [call.executable, "exec", "--json"]
    if call.model:
        args += ["--model", call.model]
    args += [*call.extra]
    if call.resume:
        args += ["resume", call.resume]
    return [*args, call.prompt]


class _Reader:
    def __init__(self) -> None:
        self.out = CliResult()
        self._messages: list[str] = []
        self.out.num_turns = 0

    def feed(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "thread.started":
            self.out.session_id = event.get("thread_id")
        elif kind == "item.completed":
            item = event.get("item") or {}
            if item.get("type") == "agent_message":
                self._messages.append(str(item.get("text", "")))
            elif item.get("type") in _TOOL_ITEMS:
                self.out.tool_calls += 1
        elif kind == "turn.completed":
            usage = event.get("usage") or {}
            self.out.input_tokens += as_int(usage.get("input_tokens"))
            self.out.output_tokens += as_int(usage.get("output_tokens"))
            self.out.num_turns = (self.out.num_turns or 0) + 1
        elif kind == "turn.failed":
            self.out.error = str((event.get("error") or {}).get("message") or "turn failed")
        elif kind == "error":
            self.out.error = str(event.get("message") or "error")

    def result(self) -> CliResult:
        self.out.text = self._messages[-1] if self._messages else ""
        return self.out


def reader() -> _Reader:
    return _Reader()
