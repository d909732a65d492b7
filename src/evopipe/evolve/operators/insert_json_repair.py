"""Insert a JSON-repair / answer-normalising step after a free-text answering step.

The answering step's text goes through an ``extract`` step that restates it as
``{"answer": ...}``; the outputs read the clean field. This fixes the most common failure of
small models: the right answer buried in prose or the wrong format.
"""

from __future__ import annotations

import re

from evopipe.evolve.operators.base import (
    OperatorContext,
    answering_steps,
    fresh_id,
    pick,
    rebuild,
    spec_data,
    step_index,
)
from evopipe.spec import Pipeline

PROMPT = (
    "Extract the final answer from the text below, exactly, without explanation.\n\n"
    "Text:\n{{{{ steps.{source}.output }}}}"
)
SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "string"}},
    "required": ["answer"],
}


class InsertJsonRepair:
    name = "insert_json_repair"
    level = "structure"
    needs_feedback = False
    applies_to = "a free-text llm step whose whole output is a pipeline output"

    async def apply(self, parent: Pipeline, ctx: OperatorContext) -> Pipeline | None:
        step = pick(ctx, answering_steps(parent, kinds=("llm",)))
        if step is None:
            return None
        data = spec_data(parent)
        at = step_index(data, step.id)
        fix = fresh_id(data, f"{step.id}_fix")
        data["steps"].insert(
            at + 1,
            {
                "id": fix,
                "kind": "extract",
                "prompt": PROMPT.format(source=step.id),
                "model": step.model,
                "temperature": 0.0,
                "max_tokens": 64,
                "output": {"schema": SCHEMA},
            },
        )
        whole = re.compile(rf"^\s*{{{{\s*steps\.{re.escape(step.id)}\.output\s*}}}}\s*$")
        outputs = {
            key: f"{{{{ steps.{fix}.output.answer }}}}"
            if isinstance(value, str) and whole.match(value)
            else value
            for key, value in data["outputs"].items()
        }
        if outputs == data["outputs"]:
            return None
        data["outputs"] = outputs
        return rebuild(data)
