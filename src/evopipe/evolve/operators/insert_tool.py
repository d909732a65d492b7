"""Insert a deterministic tool step: an extract step lists the parts, a ``tool`` step computes.

The answering llm step (one the outputs read) is replaced by two steps: ``<id>_items``
(kind ``extract``: the model lists the items as JSON) and ``<id>_<tool>`` (kind ``tool``: the
allowlisted toolbox function computes the answer, e.g. counts the items); the outputs are
rewired to the tool step. Which recipe is tried is drawn from the seeded RNG.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from evopipe.evolve.fitness import EvalRecord
from evopipe.evolve.operators._text import rewire
from evopipe.evolve.operators.base import (
    OperatorContext,
    fresh_id,
    llm_steps,
    output_steps,
    rebuild,
    spec_data,
    step_index,
)
from evopipe.spec import Pipeline


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


class InsertTool:
    name = "insert_tool"
    level = "structure"
    needs_feedback = True

    def __init__(self, recipes: tuple[Recipe, ...] = RECIPES) -> None:
        self.recipes = recipes

    async def apply(self, parent: Pipeline, ctx: OperatorContext) -> Pipeline | None:
        answering = set(output_steps(parent))
        steps = [s for s in llm_steps(parent) if s.id in answering and s.kind == "llm"]
        if not steps:
            return None
        step = ctx.rng.choice(steps)
        kind = answer_kind(ctx.feedback)
        recipes = [r for r in self.recipes if kind is None or r.answers == kind]
        if not recipes:
            return None
        recipe = ctx.rng.choice(recipes)
        data = spec_data(parent)
        at = step_index(data, step.id)
        items_id = fresh_id(data, f"{step.id}_items")
        tool_id = fresh_id(data, f"{step.id}_{recipe.tool}")
        extract = {
            "id": items_id,
            "kind": "extract",
            "prompt": f"{recipe.instruction}\n\n{step.prompt}",
            "system": step.system,
            "model": step.model,
            "temperature": step.temperature,
            "max_tokens": EXTRACT_MAX_TOKENS,
            "retry": {"max_attempts": 1},
            "output": {"schema": recipe.schema(), "max_retries": 0},
        }
        tool: dict[str, Any] = {"id": tool_id, "kind": "tool", "tool": recipe.tool}
        tool["args"] = tool_args(recipe, items_id)
        new_steps = [extract, tool]
        final = tool_id
        if recipe.join:
            final = fresh_id({"steps": [*data["steps"], tool]}, f"{step.id}_join")
            new_steps.append(
                {
                    "id": final,
                    "kind": "tool",
                    "tool": "join",
                    "args": {"items": f"{{{{ steps.{tool_id}.output }}}}", "sep": " "},
                }
            )
        data["steps"][at : at + 1] = new_steps
        data["outputs"] = rewire(data["outputs"], step.id, final)
        fresh = {s["id"] for s in new_steps}
        for i, other in enumerate(data["steps"]):
            if other["id"] not in fresh:
                data["steps"][i] = rewire(other, step.id, final)
        return rebuild(data)
