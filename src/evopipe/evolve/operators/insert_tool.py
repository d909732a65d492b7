"""Insert a deterministic tool step: an extract step lists the parts, a ``tool`` step computes.

The answering llm step (one the outputs read) is replaced by two steps: ``<id>_items``
(kind ``extract``: the model lists the items as JSON) and ``<id>_<tool>`` (kind ``tool``: the
allowlisted toolbox function computes the answer, e.g. counts the items); the outputs are
rewired to the tool step. Which recipe is tried is drawn from the seeded RNG.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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

    def schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {self.field: {"type": "array", "items": self.item_schema}},
            "required": [self.field],
        }


RECIPES: tuple[Recipe, ...] = (
    Recipe(
        tool="count",
        field="items",
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
        field="items",
        item_schema={"type": "string"},
        instruction="List every word or item that must be put in order, exactly as written.",
    ),
)


def tool_args(recipe: Recipe, source: str) -> dict[str, Any]:
    """The tool step's arguments: the listed collection, kept as JSON (single expression)."""
    return {"items": f"{{{{ steps.{source}.output.{recipe.field} }}}}"}


class InsertTool:
    name = "insert_tool"
    level = "structure"
    needs_feedback = False

    def __init__(self, recipes: tuple[Recipe, ...] = RECIPES) -> None:
        self.recipes = recipes

    async def apply(self, parent: Pipeline, ctx: OperatorContext) -> Pipeline | None:
        answering = set(output_steps(parent))
        steps = [s for s in llm_steps(parent) if s.id in answering and s.kind == "llm"]
        if not steps:
            return None
        step = ctx.rng.choice(steps)
        recipe = ctx.rng.choice(self.recipes)
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
            "output": {"schema": recipe.schema()},
        }
        tool: dict[str, Any] = {"id": tool_id, "kind": "tool", "tool": recipe.tool}
        tool["args"] = tool_args(recipe, items_id)
        data["steps"][at : at + 1] = [extract, tool]
        data["outputs"] = rewire(data["outputs"], step.id, tool_id)
        for i, other in enumerate(data["steps"]):
            if other["id"] not in (items_id, tool_id):
                data["steps"][i] = rewire(other, step.id, tool_id)
        return rebuild(data)
