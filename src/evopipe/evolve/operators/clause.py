"""Instruction assembly: append a clause from a table, chosen by what the answers look like.

No operator model writes anything: the clauses are fixed text (:data:`CLAUSES`), each with the
answer profile it applies to (:mod:`._answers`), so a weak operator model cannot garble the
prompt. The seeded RNG picks among the clauses that apply and that the prompt lacks; a
``{choices}`` slot is filled with the answers seen in the feedback.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from evopipe.evolve.operators._answers import AnswerProfile, answering_llm_steps, profile
from evopipe.evolve.operators.base import OperatorContext, rebuild, spec_data, step_index
from evopipe.spec import Pipeline


@dataclass(frozen=True)
class Clause:
    text: str
    applies: Callable[[AnswerProfile], bool]

    def render(self, answers: AnswerProfile) -> str:
        return self.text.format(choices=", ".join(answers.choices))


CLAUSES: tuple[Clause, ...] = (
    Clause("Answer with a single number and nothing else.", lambda p: p.kind == "number"),
    Clause("Write the number in digits (for example 7, not seven).", lambda p: p.kind == "number"),
    Clause("Answer with exactly one of: {choices}.", lambda p: p.kind == "choice"),
    Clause("Reply with one word only.", lambda p: p.kind == "choice"),
    Clause("Give only the final answer, with no explanation.", lambda p: p.rambling),
    Clause(
        "Write the answer on one line, words separated by single spaces.",
        lambda p: p.kind == "text" and p.words > 1,
    ),
    Clause("Read the whole input carefully before answering.", lambda p: True),
)
"""The clause table. Each entry is tested against the profiles it should (and should not)
apply to (``tests/evolve/test_evolve_weak_operators.py``)."""


class ClauseAssembly:
    name = "clause"
    level = "prompt"
    needs_feedback = True

    def __init__(self, clauses: tuple[Clause, ...] = CLAUSES) -> None:
        self.clauses = clauses

    async def apply(self, parent: Pipeline, ctx: OperatorContext) -> Pipeline | None:
        answers = profile(ctx.feedback)
        steps = answering_llm_steps(parent)
        if answers is None or not steps:
            return None
        step = ctx.rng.choice(steps)
        fitting = [c.render(answers) for c in self.clauses if c.applies(answers)]
        fresh = [text for text in fitting if text not in step.prompt]
        if not fresh:
            return None
        data = spec_data(parent)
        data["steps"][step_index(data, step.id)]["prompt"] = (
            f"{step.prompt.rstrip()}\n{ctx.rng.choice(fresh)}"
        )
        return rebuild(data)
