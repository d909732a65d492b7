"""Search for a tool program that answers the feedback examples, and insert it as ``tool`` steps.

The operator enumerates small programs over the toolbox (:mod:`evopipe.evolve.search`) from
two kinds of source:

- a **string input** of the pipeline (``inputs.question``): the program replaces the answering
  step; model steps nothing reads any more are dropped (the pipeline may make no model call);
- the **answering step's output** (``steps.answer.output``): a mixed program — the model keeps
  the part tools cannot do, tools post-process its answer (parse the number it wrote, map
  ``True`` onto ``Yes``...).

Every program is checked for free on the parent's feedback examples (inputs, the parent's
outputs, expected answers: no model call). The best one is inserted only when it answers more
of them than the parent did; otherwise the operator yields nothing and the loop tries the
next one. Deterministic: the same parent and feedback give the same program (the search
budget counts programs; its time cap is only a safeguard).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from typing import Any

from evopipe.evolve.fitness import ExampleResult
from evopipe.evolve.genome import step_dependencies
from evopipe.evolve.operators._text import rewire
from evopipe.evolve.operators.base import OperatorContext, rebuild, spec_data, step_index
from evopipe.evolve.search import (
    ERROR,
    Found,
    Program,
    SearchBudget,
    mine,
    productions,
    search,
)
from evopipe.evolve.search.grammar import Production
from evopipe.spec import Pipeline
from evopipe.spec.kinds import LlmStep

_OUTPUT = re.compile(r"^\{\{\s*(steps\.([A-Za-z_][\w-]*)\.output(?:\.[A-Za-z_]\w*)*)\s*\}\}$")


def answer_path(parent: Pipeline) -> tuple[str, str] | None:
    """(step id, template path) of the pipeline's only output when it reads one step's output
    or a field of it (``{{ steps.X.output }}``, ``{{ steps.X.output.answer }}``)."""
    if len(parent.outputs) != 1:
        return None
    (value,) = parent.outputs.values()
    m = _OUTPUT.match(value.strip()) if isinstance(value, str) else None
    if m is None or m.group(2) not in {s.id for s in parent.steps}:
        return None
    return m.group(2), m.group(1)


def answering_step(parent: Pipeline) -> str | None:
    """The step whose whole output is the pipeline's only output (``{{ steps.X.output }}``)."""
    found = answer_path(parent)
    return found[0] if found is not None and found[1] == f"steps.{found[0]}.output" else None


def sources(
    parent: Pipeline, answer: str, examples: Sequence[ExampleResult]
) -> dict[str, list[Any]]:
    """Template path → value per example: every string input, then the answer ``answer`` (the
    path the pipeline's output reads, whose value is what the feedback recorded as output)."""
    out: dict[str, list[Any]] = {}
    for name, schema in parent.inputs.items():
        if isinstance(schema, dict) and schema.get("type", "string") == "string":
            values = [e.inputs.get(name) for e in examples]
            out[f"inputs.{name}"] = [v if isinstance(v, str) else ERROR for v in values]
    out[answer] = [ERROR if e.error is not None or e.output is None else e.output for e in examples]
    return out


def grammar_for(values: dict[str, list[Any]], expected: Sequence[Any]) -> list[Production]:
    """The productions for constants mined from each text source (duplicates dropped)."""
    grammar: list[Production] = []
    for column in values.values():
        texts = [v for v in column if isinstance(v, str)]
        for prod in productions(mine(texts, expected)):
            if prod not in grammar:
                grammar.append(prod)
    return grammar


class ToolSearch:
    name = "tool_search"
    level = "structure"
    needs_feedback = True

    def __init__(self, budget: SearchBudget | None = None) -> None:
        self.budget = budget or SearchBudget()

    async def find(self, parent: Pipeline, examples: Sequence[ExampleResult]) -> Found | None:
        """The search's result on these examples (None when the parent has no answering step)."""
        found = answer_path(parent)
        if found is None or not examples:
            return None
        values = sources(parent, found[1], examples)
        expected = [e.expected for e in examples]
        grammar = grammar_for(values, expected)
        return await asyncio.to_thread(search, values, expected, grammar, self.budget)

    async def apply(self, parent: Pipeline, ctx: OperatorContext) -> Pipeline | None:
        if ctx.feedback is None:
            return None
        examples = ctx.feedback.examples
        found = await self.find(parent, examples)
        parent_hits = sum(e.score for e in examples)
        if found is None or found.program is None or found.hits <= parent_hits:
            return None
        answer = answer_path(parent)
        assert answer is not None
        return insert_program(parent, answer[0], found.program)


def insert_program(parent: Pipeline, answer: str, program: Program) -> Pipeline:
    """``parent`` with ``program``'s tool steps answering: in place of the answering step when
    it reads an input, after it when it reads the step's output. Dead model steps are dropped."""
    data = spec_data(parent)
    new_steps = program.steps(answer, (s["id"] for s in data["steps"]))
    at = step_index(data, answer)
    if program.source.startswith("steps."):
        data["steps"][at + 1 : at + 1] = new_steps
    else:
        data["steps"][at : at + 1] = new_steps
    final = new_steps[-1]["id"]
    fresh = {s["id"] for s in new_steps}
    data["outputs"] = {name: f"{{{{ steps.{final}.output }}}}" for name in data["outputs"]}
    for i, step in enumerate(data["steps"]):
        if step["id"] not in fresh:
            data["steps"][i] = {
                **rewire(step, answer, final),
                "needs": [final if n == answer else n for n in step.get("needs", [])],
            }
    return _drop_dead_model_steps(rebuild(data))


def _drop_dead_model_steps(pipeline: Pipeline) -> Pipeline:
    """Remove model steps that neither the outputs nor any other step read (repeatedly)."""
    while True:
        deps = step_dependencies(pipeline)
        read = {d for ds in deps.values() for d in ds}
        outputs = str(pipeline.outputs)
        dead = [
            s.id
            for s in pipeline.steps
            if isinstance(s, LlmStep) and s.id not in read and f"steps.{s.id}." not in outputs
        ]
        if not dead or len(dead) == len(pipeline.steps):
            return pipeline
        data = spec_data(pipeline)
        data["steps"] = [s for s in data["steps"] if s["id"] not in dead]
        pipeline = rebuild(data)
