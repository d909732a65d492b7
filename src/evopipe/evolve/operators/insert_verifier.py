"""Insert a critic-refine pair after an answering step: critique the answer, then revise it."""

from __future__ import annotations

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


class InsertVerifier:
    name = "insert_verifier"
    level = "structure"
    needs_feedback = False

    async def apply(self, parent: Pipeline, ctx: OperatorContext) -> Pipeline | None:
        answering = set(output_steps(parent))
        steps = [s for s in llm_steps(parent) if s.id in answering and s.kind == "llm"]
        if not steps:
            return None
        step = ctx.rng.choice(steps)
        data = spec_data(parent)
        at = step_index(data, step.id)
        critic = fresh_id(data, f"{step.id}_critic")
        refine = fresh_id({"steps": [*data["steps"], {"id": critic}]}, f"{step.id}_refine")
        new_steps = [
            {
                "id": critic,
                "kind": "llm",
                "prompt": CRITIQUE.format(prompt=step.prompt, source=step.id),
                "model": step.model,
            },
            {
                "id": refine,
                "kind": "llm",
                "prompt": REFINE.format(prompt=step.prompt, source=step.id, critic=critic),
                "model": step.model,
                "max_tokens": step.max_tokens,
            },
        ]
        data["steps"][at + 1 : at + 1] = new_steps
        data["outputs"] = rewire(data["outputs"], step.id, refine)
        return rebuild(data)
