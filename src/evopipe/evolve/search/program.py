"""Tool programs: a source value piped through a chain of toolbox calls.

A :class:`Program` reads one source (a pipeline input, ``inputs.question``, or the answering
step's output, ``steps.answer.output``) and feeds it through :class:`Call` s, each one toolbox
function with the piped value as one argument and constants for the others. It runs in
process for free (:meth:`Program.run`) and becomes ``tool`` steps of a spec
(:meth:`Program.steps`): one step per call, each reading the previous one's output.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from evopipe.steps.toolbox import call_tool


@dataclass(frozen=True)
class Call:
    """One toolbox call: ``tool(arg=<piped value>, **consts)``."""

    tool: str
    arg: str
    consts: tuple[tuple[str, Any], ...] = ()

    def args(self, value: Any) -> dict[str, Any]:
        return {self.arg: value, **dict(self.consts)}

    def __call__(self, value: Any) -> Any:
        return call_tool(self.tool, self.args(value))

    def label(self) -> str:
        extra = ", ".join(f"{k}={json.dumps(v)}" for k, v in self.consts)
        return f"{self.tool}({extra})" if extra else self.tool


@dataclass(frozen=True)
class Program:
    """``source | call | call ...``: what a chain of tool steps computes."""

    source: str
    """A template path: ``inputs.NAME`` or ``steps.ID.output``."""
    calls: tuple[Call, ...] = ()

    def then(self, call: Call) -> Program:
        return Program(self.source, (*self.calls, call))

    def run(self, value: Any) -> Any:
        """The program's answer for one source value (raises the tools' errors)."""
        for call in self.calls:
            value = call(value)
        return value

    def describe(self) -> str:
        return " | ".join([self.source, *(c.label() for c in self.calls)])

    def steps(self, base: str, taken: Iterable[str]) -> list[dict[str, Any]]:
        """``tool`` steps computing the program, ids ``<base>_<tool>`` made unique against
        ``taken``; the first reads the source, each next one the previous step's output."""
        from evopipe.evolve.operators.base import fresh_id  # (the operators import this module)

        used = [{"id": t} for t in taken]
        out: list[dict[str, Any]] = []
        upstream = self.source
        for call in self.calls:
            step_id = fresh_id({"steps": used}, f"{base}_{call.tool}")
            used.append({"id": step_id})
            args = {call.arg: f"{{{{ {upstream} }}}}", **dict(call.consts)}
            out.append({"id": step_id, "kind": "tool", "tool": call.tool, "args": args})
            upstream = f"steps.{step_id}.output"
        return out
