"""Gemini CLI: ``gemini -p PROMPT --output-format stream-json``.

Events: ``init`` (``session_id``, ``model``), ``message`` (``role``, ``content``, ``delta`` for
streamed chunks), ``tool_use``, ``tool_result``, ``error`` (``severity``, ``message``; non-fatal
unless the run fails) and a final ``result`` (``status``, ``stats``: ``input_tokens``,
``output_tokens``, ``total_tokens``, ``tool_calls``, ``duration_ms``). Exit codes: 0 success,
1 general error, 42 input error, 53 turn limit exceeded. Gemini reports no cost.
"""

from __future__ import annotations

from typing import Any

from evopipe.steps.coding_agent.base import CliCall, CliResult, as_int, prompt_argv

NAME = "gemini"
EXIT_CODES = {1: "general error or API failure", 42: "input error", 53: "turn limit exceeded"}


def argv(call: CliCall) -> list[str]:
    return prompt_argv(call, "--output-format", "stream-json")


class _Reader:
    def __init__(self) -> None:
        self.out = CliResult()
        self._chunks: list[str] = []
        self._errors: list[str] = []

    def feed(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "init":
            self.out.session_id = event.get("session_id")
            self.out.model = event.get("model")
        elif kind == "message" and event.get("role") == "assistant":
            if not event.get("delta"):
                self._chunks = []
            self._chunks.append(str(event.get("content", "")))
        elif kind == "tool_use":
            self.out.tool_calls += 1
        elif kind == "error":
            self._errors.append(str(event.get("message", "")))
        elif kind == "result":
            stats = event.get("stats") or {}
            self.out.input_tokens = as_int(stats.get("input_tokens"))
            self.out.output_tokens = as_int(stats.get("output_tokens"))
            if event.get("status", "success") != "success":
                detail = (event.get("error") or {}).get("message") or "; ".join(self._errors)
                self.out.error = f"{event.get('status')}: {detail}".strip(": ")

    def result(self) -> CliResult:
        self.out.text = "".join(self._chunks)
        return self.out


def reader() -> _Reader:
    return _Reader()
