"""Output-format constraint: the answering ``llm`` step becomes an ``extract`` step whose JSON
Schema admits only answers of the shape the task wants.

From the expected answers of the feedback (:mod:`._answers`): numbers → ``{"answer":
integer|number}``; a closed set of one-word answers seen repeatedly (``Yes``/``No``) →
``{"answer": {"enum": [...]}}``. The pipeline output reads ``steps.<id>.output.answer``. A weak
model then cannot answer off-format (an adapter with constrained decoding cannot even emit
it); nothing is asked of the operator model. Free-text answers get no constraint.
"""

from __future__ import annotations

from typing import Any

from evopipe.evolve.operators._answers import AnswerProfile, profile
from evopipe.evolve.operators._text import rewire
from evopipe.evolve.operators.base import OperatorContext, rebuild, spec_data, step_index
from evopipe.evolve.operators.tool_search import answering_step
from evopipe.spec import Pipeline


def answer_schema(answers: AnswerProfile) -> dict[str, Any] | None:
    """The JSON Schema of ``{"answer": ...}`` for this profile, or None (free text)."""
    if answers.kind == "number":
        value: dict[str, Any] = {"type": "integer" if answers.integer else "number"}
    elif answers.kind == "choice":
        value = {"type": "string", "enum": list(answers.choices)}
    else:
        return None
    return {"type": "object", "properties": {"answer": value}, "required": ["answer"]}


class FormatConstraint:
    name = "format_constraint"
    level = "prompt"
    needs_feedback = True

    async def apply(self, parent: Pipeline, ctx: OperatorContext) -> Pipeline | None:
        answers = profile(ctx.feedback)
        answer = answering_step(parent)
        if answers is None or answer is None:
            return None
        schema = answer_schema(answers)
        data = spec_data(parent)
        at = step_index(data, answer)
        step = data["steps"][at]
        if schema is None or step["kind"] != "llm":
            return None
        step["kind"] = "extract"
        step["output"] = {"schema": schema, "max_retries": 1}
        # whatever read the step's output now reads its ``answer`` field
        old, new = f"{answer}.output", f"{answer}.output.answer"
        data["outputs"] = rewire(data["outputs"], old, new)
        data["steps"] = [s if i == at else rewire(s, old, new) for i, s in enumerate(data["steps"])]
        return rebuild(data)
