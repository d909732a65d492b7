"""Claude Code: ``claude -p PROMPT --output-format stream-json --verbose``.

Events (one JSON object per line): ``system`` (subtype ``init``: ``session_id``, ``model``),
``assistant``/``user`` messages (``message.content`` blocks: ``text``, ``tool_use``,
``tool_result``), and a final ``result``: ``subtype`` (``success``, ``error_max_turns``,
``error_during_execution``), ``is_error``, ``result`` (the answer), ``session_id``,
``num_turns``, ``total_cost_usd``, ``usage`` (``input_tokens``, ``output_tokens``, cache counts).
"""

from __future__ import annotations

from typing import Any

from evopipe.steps.coding_agent.base import CliCall, CliResult, as_int, prompt_argv

NAME = "claude"
EXIT_CODES = {1: "error"}


def argv(call: CliCall) -> list[str]:
    return prompt_argv(call, "--output-format", "stream-json", "--verbose")


class _Reader:
    def __init__(self) -> None:
        self.out = CliResult()
        self._texts: list[str] = []

    def feed(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if isinstance(event.get("session_id"), str):
            self.out.session_id = event["session_id"]
        if kind == "system" and event.get("subtype") == "init":
            self.out.model = event.get("model")
        elif kind == "assistant":
            for block in (event.get("message") or {}).get("content") or ():
                if block.get("type") == "text":
                    self._texts.append(str(block.get("text", "")))
                elif block.get("type") == "tool_use":
                    self.out.tool_calls += 1
        elif kind == "result":
            self._final(event)

    def _final(self, event: dict[str, Any]) -> None:
        usage = event.get("usage") or {}
        self.out.input_tokens = (
            as_int(usage.get("input_tokens"))
            + as_int(usage.get("cache_creation_input_tokens"))
            + as_int(usage.get("cache_read_input_tokens"))
        )
        self.out.output_tokens = as_int(usage.get("output_tokens"))
        cost = event.get("total_cost_usd")
        self.out.cost_usd = float(cost) if isinstance(cost, (int, float)) else None
        self.out.num_turns = event.get("num_turns")
        self.out.text = str(event.get("result") or "")
        if event.get("is_error") or event.get("subtype", "success") != "success":
            self.out.error = f"{event.get('subtype', 'error')}: {self.out.text}".strip(": ")

    def result(self) -> CliResult:
        if not self.out.text:
            self.out.text = "\n".join(self._texts)
        return self.out


def reader() -> _Reader:
    return _Reader()
