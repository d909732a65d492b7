"""Insert a self-consistency ensemble: sample an answering step several times, then vote.

An ``extract`` answer (genesis output) is sampled and voted on with its own output contract."""

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

SIZES = (3, 5)
VOTE = (
    "Several attempts answered the same task:\n{answers}\n\nReply with the answer given most "
    "often, exactly as written, and nothing else."
)


class InsertEnsemble(AfterAnswer):
    name = "insert_ensemble"
    needs_feedback = False
    applies_to = "an llm or extract step that the pipeline's outputs read"

    async def rewrite(
        self, parent: Pipeline, step: LlmStep, ctx: OperatorContext
    ) -> Pipeline | None:
        size = ctx.rng.choice(SIZES)
        data = spec_data(parent)
        base = step_entry(data, step.id)
        samples: list[dict[str, Any]] = []
        for k in range(1, size):
            sid = fresh_id({"steps": data["steps"] + samples}, f"{step.id}_s{k}")
            temperature = step.temperature if step.temperature else 0.7
            samples.append({**base, "id": sid, "temperature": temperature, "seed": k})
        ids = [step.id] + [s["id"] for s in samples]
        answers = "\n".join(f"- {{{{ steps.{i}.output }}}}" for i in ids)
        vote_id = fresh_id({"steps": data["steps"] + samples}, f"{step.id}_vote")
        vote = {
            "id": vote_id,
            "kind": step.kind,  # an extract votes with the same contract: readers keep fields
            "prompt": VOTE.format(answers=answers),
            "model": step.model,
            "temperature": 0.0,
            "output": base.get("output"),
        }
        return answer_after(data, step.id, [*samples, vote])
