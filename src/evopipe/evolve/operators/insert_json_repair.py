"""Insert a JSON-repair / answer-normalising step after a free-text answering step.

The answering step's text goes through an ``extract`` step that restates it as
``{"answer": ...}``; the outputs read the clean field. This fixes the most common failure of
small models: the right answer buried in prose or the wrong format.
"""

from __future__ import annotations

import re

from evopipe.evolve.operators.base import (
    AfterAnswer,
    OperatorContext,
    fresh_id,
    rebuild,
    spec_data,
    step_index,
)
from evopipe.spec import Pipeline
from evopipe.spec.kinds import LlmStep

PROMPT = (
    "Extract the final answer from the text below, exactly, without explanation.\n\n"
    "Text:\n{{{{ steps.{source}.output }}}}"
)
SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "string"}},
    "required": ["answer"],
}


class InsertJsonRepair(AfterAnswer):
    name = "insert_json_repair"
    kinds = ("llm",)
    needs_feedback = False
    applies_to = "a free-text llm step whose whole output is a pipeline output"

    async def rewrite(
        self, parent: Pipeline, step: LlmStep, ctx: OperatorContext
    ) -> Pipeline | None:
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
