"""Insert a deterministic tool step in place of the answering llm step.

Two recipe families:

- **extract** recipes replace the answering llm step (one the outputs read) by two steps:
  ``<id>_items`` (kind ``extract``: the model lists the items as JSON) and ``<id>_<tool>`` (kind
  ``tool``: the allowlisted toolbox function computes the answer, e.g. counts the items);
- **direct** recipes replace it by a single ``tool`` step that reads the pipeline input the llm
  prompt read (``text: "{{ inputs.question }}"``): no model call at all, e.g.
  ``count_listed`` sums the quantities of an English enumeration.

The outputs are rewired to the final tool step. A direct recipe costs nothing to try, so it is
screened first on the feedback examples (the tool runs on their inputs, no model call). When it
answers more of them correctly than the parent did, it is inserted: evidence already in hand
beats a paid guess (an extract offspring costs model calls per example, and on a small model
often fails). Otherwise the recipe is drawn from the seeded RNG among the extract recipes
matching the feedback's answer kind (number or text). The price: for such a parent the extract
recipes are not explored (another parent, or a run without the direct recipe, still gets
them). Deterministic for a given seed and feedback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from evopipe.evolve.fitness import EvalRecord, ExampleResult
from evopipe.evolve.operators._text import rewire
from evopipe.evolve.operators.base import (
    AfterAnswer,
    OperatorContext,
    fresh_id,
    rebuild,
    spec_data,
    step_index,
)
from evopipe.spec import Pipeline
from evopipe.spec.errors import EvopipeError, TemplateError
from evopipe.spec.kinds import LlmStep
from evopipe.spec.templates import references
from evopipe.steps.toolbox import call_tool


@dataclass(frozen=True)
class Recipe:
    """How to decompose an answer into a model-listed collection and a toolbox function."""

    tool: str
    field: str
    item_schema: dict[str, Any]
    instruction: str
    answers: str = "number"
    """What the recipe's answer looks like: ``number`` or ``text`` (matched to feedback)."""
    join: bool = False
    """Join the tool's list result with spaces (a sorted word list → one answer string)."""

    def schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {self.field: {"type": "array", "items": self.item_schema}},
            "required": [self.field],
        }

    def build(self, step: LlmStep, data: dict[str, Any]) -> list[dict[str, Any]]:
        """The steps replacing ``step``: extract, tool (and a join when asked); last answers."""
        items_id = fresh_id(data, f"{step.id}_items")
        tool_id = fresh_id(data, f"{step.id}_{self.tool}")
        extract = {
            "id": items_id,
            "kind": "extract",
            "prompt": f"{self.instruction}\n\n{step.prompt}",
            "system": step.system,
            "model": step.model,
            "temperature": step.temperature,
            "max_tokens": EXTRACT_MAX_TOKENS,
            "retry": {"max_attempts": 1},
            "output": {"schema": self.schema(), "max_retries": 0},
        }
        tool: dict[str, Any] = {"id": tool_id, "kind": "tool", "tool": self.tool}
        tool["args"] = tool_args(self, items_id)
        new_steps = [extract, tool]
        if self.join:
            join_id = fresh_id({"steps": [*data["steps"], tool]}, f"{step.id}_join")
            new_steps.append(
                {
                    "id": join_id,
                    "kind": "tool",
                    "tool": "join",
                    "args": {"items": f"{{{{ steps.{tool_id}.output }}}}", "sep": " "},
                }
            )
        return new_steps


@dataclass(frozen=True)
class DirectRecipe:
    """A toolbox function that answers straight from one string input of the pipeline."""

    tool: str
    arg: str = "text"
    """The tool's argument that receives the input text."""
    answers: str = "number"

    def source(self, step: LlmStep, parent: Pipeline) -> str | None:
        """The string input the llm prompt reads (the first one), or None."""
        try:
            refs = references(step.prompt)
        except TemplateError:
            return None
        for ref in refs:
            if ref.root != "inputs" or len(ref.path) != 1:
                continue
            name = str(ref.path[0])
            schema = parent.inputs.get(name)
            if isinstance(schema, dict) and schema.get("type", "string") == "string":
                return name
        return None

    def hits(self, source: str, examples: tuple[ExampleResult, ...]) -> int:
        """How many feedback examples the tool answers right on its own (no model call)."""
        right = 0
        for example in examples:
            text = example.inputs.get(source)
            if not isinstance(text, str):
                continue
            try:
                got = call_tool(self.tool, {self.arg: text})
            except EvopipeError:
                continue
            right += _same(got, example.expected)
        return right

    def build(self, step: LlmStep, data: dict[str, Any], source: str) -> list[dict[str, Any]]:
        tool_id = fresh_id(data, f"{step.id}_{self.tool}")
        args = {self.arg: f"{{{{ inputs.{source} }}}}"}
        return [{"id": tool_id, "kind": "tool", "tool": self.tool, "args": args}]


def _same(got: Any, expected: Any) -> bool:
    a, b = str(got).strip(), str(expected).strip()
    if _NUMBER.fullmatch(a) and _NUMBER.fullmatch(b):
        return float(a) == float(b)
    return a.casefold() == b.casefold()


RECIPES: tuple[Recipe, ...] = (
    Recipe(
        tool="count",
        field="objects",
        item_schema={"type": "string"},
        instruction=(
            "List every single object the question asks about, one entry per object: write an "
            "object as many times as there are of it (two apples -> apple, apple). Leave out "
            "objects that do not belong to the category asked about."
        ),
    ),
    Recipe(
        tool="sum",
        field="numbers",
        item_schema={"type": "number"},
        instruction=(
            "List the quantity of every item the question asks about (a cat -> 1, three "
            "dogs -> 3). Leave out items that do not belong to the category asked about."
        ),
    ),
    Recipe(
        tool="sort",
        field="words",
        item_schema={"type": "string"},
        instruction="List every word or item that must be put in order, exactly as written.",
        answers="text",
        join=True,
    ),
)


DIRECT_RECIPES: tuple[DirectRecipe, ...] = (DirectRecipe(tool="count_listed"),)


EXTRACT_MAX_TOKENS = 120
"""Enough for a list of a few dozen short items; bounds what a looping model can cost (the
inserted extract is not re-asked: a truncated list rarely comes back whole)."""


def tool_args(recipe: Recipe, source: str) -> dict[str, Any]:
    """The tool step's arguments: the listed collection, kept as JSON (single expression).

    Field names avoid ``items``/``keys``/``values``: in a template, ``output.items`` is the
    mapping's method, not its field."""
    return {"items": f"{{{{ steps.{source}.output.{recipe.field} }}}}"}


def answer_kind(feedback: EvalRecord | None) -> str | None:
    """``number`` when every expected answer of the feedback is a number, else ``text``."""
    if feedback is None or not feedback.examples:
        return None
    numeric = all(_NUMBER.fullmatch(str(e.expected).strip()) for e in feedback.examples)
    return "number" if numeric else "text"


_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")


class InsertTool(AfterAnswer):
    name = "insert_tool"
    kinds = ("llm",)
    needs_feedback = True

    def __init__(
        self,
        recipes: tuple[Recipe, ...] = RECIPES,
        direct: tuple[DirectRecipe, ...] = DIRECT_RECIPES,
    ) -> None:
        self.recipes = recipes
        self.direct = direct

    async def rewrite(
        self, parent: Pipeline, step: LlmStep, ctx: OperatorContext
    ) -> Pipeline | None:
        kind = answer_kind(ctx.feedback)
        data = spec_data(parent)
        screened = self._screen(step, parent, ctx.feedback, kind)
        if screened is not None:
            recipe, source = screened
            new_steps = recipe.build(step, data, source)
        else:
            recipes = [r for r in self.recipes if kind is None or r.answers == kind]
            if not recipes:
                return None
            new_steps = ctx.rng.choice(recipes).build(step, data)
        return _splice(data, step.id, new_steps)

    def _screen(
        self, step: LlmStep, parent: Pipeline, feedback: EvalRecord | None, kind: str | None
    ) -> tuple[DirectRecipe, str] | None:
        """The direct recipe that beats the parent most on the feedback examples (with the
        input it reads), if any."""
        if feedback is None or not feedback.examples:
            return None
        parent_right = sum(e.score for e in feedback.examples)
        best: tuple[int, DirectRecipe, str] | None = None
        for recipe in self.direct:
            source = recipe.source(step, parent)
            if recipe.answers != kind or source is None:
                continue
            right = recipe.hits(source, feedback.examples)
            if right > parent_right and (best is None or right > best[0]):
                best = (right, recipe, source)
        return None if best is None else (best[1], best[2])


def _splice(data: dict[str, Any], old: str, new_steps: list[dict[str, Any]]) -> Pipeline:
    """Replace step ``old`` by ``new_steps``; whatever read it now reads the last new step."""
    at = step_index(data, old)
    final = new_steps[-1]["id"]
    data["steps"][at : at + 1] = new_steps
    data["outputs"] = rewire(data["outputs"], old, final)
    fresh = {s["id"] for s in new_steps}
    for i, other in enumerate(data["steps"]):
        if other["id"] not in fresh:
            data["steps"][i] = rewire(other, old, final)
    return rebuild(data)
