"""Helpers shared by the orchestrator tests (a pipeline maker, a clock moved by hand)."""

from __future__ import annotations

from evopipe.spec import Pipeline, loads


def pipeline(name: str, prompt: str = "Say {{ inputs.text }}") -> Pipeline:
    text = f"""apiVersion: evopipe/v1
kind: Pipeline
name: {name}
inputs: {{text: {{type: string, default: hi}}}}
outputs: {{answer: "{{{{ steps.a.output }}}}"}}
steps:
  - {{id: a, kind: llm, prompt: "{prompt}"}}
"""
    return loads(text).pipeline


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
