"""Insert a critic-refine pair after an answering step: critique the answer, then revise it.

Works on ``llm`` answers and on ``extract`` answers (what genesis produces): the refine step of
an ``extract`` is an ``extract`` with the same output contract, so ``steps.x.output.field``
readers keep working once rewired to it."""

from __future__ import annotations

from typing import Any

from evopipe.evolve.operators.base import (
    AfterAnswer,
    OperatorContext,
    answer_after,
    fresh_id,
    spec_data,
    step_entry,
)
from evopipe.spec import Pipeline
from evopipe.spec.kinds import LlmStep

CRITIQUE = (
    "Here is a task and a proposed answer.\n\nTask:\n{prompt}\n\nProposed answer:\n"
    "{{{{ steps.{source}.output }}}}\n\nList any mistakes in the proposed answer. "
    "If it is correct, say so."
)
REFINE = (
    "Task:\n{prompt}\n\nProposed answer:\n{{{{ steps.{source}.output }}}}\n\n"
    "Critique:\n{{{{ steps.{critic}.output }}}}\n\nGive the corrected final answer only, "
    "in the same format as the proposed answer."
)

SAME_SHAPE = " Reply with JSON of the same structure as the proposed answer."


class InsertVerifier(AfterAnswer):
    name = "insert_verifier"
    needs_feedback = False
    applies_to = "an llm or extract step that the pipeline's outputs read"

    async def rewrite(
        self, parent: Pipeline, step: LlmStep, ctx: OperatorContext
    ) -> Pipeline | None:
        data = spec_data(parent)
        structured = step.output is not None  # extract steps always have a contract
        critic = fresh_id(data, f"{step.id}_critic")
        refine = fresh_id({"steps": [*data["steps"], {"id": critic}]}, f"{step.id}_refine")
        new_steps: list[dict[str, Any]] = [
            {
                "id": critic,
                "kind": "llm",
                "prompt": CRITIQUE.format(prompt=step.prompt, source=step.id),
                "model": step.model,
            },
            {
                "id": refine,
                "kind": step.kind,
                "prompt": REFINE.format(prompt=step.prompt, source=step.id, critic=critic)
                + (SAME_SHAPE if structured else ""),
                "model": step.model,
                "max_tokens": step.max_tokens,
                "output": step_entry(data, step.id).get("output"),
            },
        ]
        return answer_after(data, step.id, new_steps)
