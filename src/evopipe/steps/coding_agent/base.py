"""What a coding-agent CLI adapter is: how to call it, how to read its event stream.

An adapter module (``claude``, ``codex``, ``gemini``) exposes ``NAME``, ``argv(call)`` and a
``Reader`` whose ``feed(event)`` takes each JSON line the CLI prints and whose ``result(exit)``
builds the :class:`CliResult`. Adapters are registered in :data:`evopipe.steps.coding_agent.
CLIS`. Event formats follow each tool's public documentation of its headless JSON stream.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class CliCall:
    """One invocation: the prompt and options, already rendered."""

    executable: str
    prompt: str
    model: str | None = None
    resume: str | None = None
    extra: tuple[str, ...] = ()


@dataclass
class CliResult:
    text: str = ""
    session_id: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    num_turns: int | None = None
    model: str | None = None
    error: str | None = None
    tool_calls: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class Reader(Protocol):
    def feed(self, event: dict[str, Any]) -> None: ...

    def result(self) -> CliResult: ...


class CliAdapter(Protocol):
    NAME: str
    EXIT_CODES: dict[int, str]

    def argv(self, call: CliCall) -> list[str]: ...

    def reader(self) -> Reader: ...


def prompt_argv(call: CliCall, *flags: str) -> list[str]:
    """``EXE -p PROMPT FLAGS [--model M] [--resume ID] EXTRA`` (Claude Code, Gemini CLI)."""
    args = [call.executable, "-p", call.prompt, *flags]
    if call.model:
        args += ["--model", call.model]
    if call.resume:
        args += ["--resume", call.resume]
    return [*args, *call.extra]


def as_int(value: Any) -> int:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0
