"""Instruction variants: restate one step's instruction in another style.

With an operator runner, ``library/operators/instruction_variant.yaml`` rewrites the prompt in
a style drawn from :data:`STYLES`; without one, the style's directive is appended as is.
"""

from __future__ import annotations

from evopipe.evolve.operators._text import keep_references
from evopipe.evolve.operators.base import OneStepOperator, OperatorContext, with_step_fields
from evopipe.spec import Pipeline
from evopipe.spec.kinds import LlmStep

STYLES: tuple[str, ...] = (
    "Answer with only the final answer, nothing else.",
    "Be concise: one short line.",
    "Think step by step, then give the final answer on the last line.",
    "Follow the output format exactly.",
    "You are an expert. Read the input carefully before answering.",
)


class InstructionVariant(OneStepOperator):
    name = "instruction"
    level = "prompt"
    needs_feedback = False

    async def rewrite(
        self, parent: Pipeline, step: LlmStep, ctx: OperatorContext
    ) -> Pipeline | None:
        style = ctx.rng.choice(STYLES)
        if ctx.run_operator is not None:
            out = await ctx.run_operator(
                "instruction_variant", {"prompt": step.prompt, "style": style}
            )
            text = out.get("prompt")
            if not isinstance(text, str) or not text.strip():
                return None
            new = keep_references(step.prompt, text)
        else:
            if style in step.prompt:
                return None
            new = f"{step.prompt.rstrip()}\n{style}"
        return with_step_fields(parent, step.id, prompt=new)
