"""What the feedback says about the answers a task wants (shared by the format operators).

Read from the expected answers (ground truth, not the model's prose), so operators built on
it do not depend on the operator model writing anything: a weak model cannot spoil them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from evopipe.evolve.fitness import EvalRecord
from evopipe.evolve.operators.base import llm_steps, output_steps
from evopipe.spec import Pipeline
from evopipe.spec.kinds import LlmStep

MAX_CHOICES = 6
"""At most this many distinct short answers make a closed set of choices."""
_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")


@dataclass(frozen=True)
class AnswerProfile:
    kind: str
    """``number`` (every expected answer is a number), ``choice`` (a few distinct one-word
    answers, repeated) or ``text``."""
    integer: bool = False
    choices: tuple[str, ...] = ()
    words: int = 1
    """Most words in an expected answer."""
    rambling: bool = False
    """The parent's wrong outputs are longer than the longest expected answer (extra text)."""


def profile(feedback: EvalRecord | None) -> AnswerProfile | None:
    """The answer profile of a feedback minibatch, or None without expected answers."""
    if feedback is None:
        return None
    expected = [str(e.expected).strip() for e in feedback.examples if e.expected is not None]
    if not expected:
        return None
    longest = max(len(x) for x in expected)
    wrong = [str(e.output) for e in feedback.examples if e.score < 1.0 and e.output is not None]
    rambling = bool(wrong) and sum(len(w.strip()) > longest for w in wrong) * 2 > len(wrong)
    words = max(len(x.split()) for x in expected)
    if all(_NUMBER.fullmatch(x) for x in expected):
        integer = all("." not in x for x in expected)
        return AnswerProfile("number", integer=integer, words=1, rambling=rambling)
    distinct = sorted(set(expected), key=expected.index)
    if words == 1 and len(distinct) <= MAX_CHOICES and len(distinct) < len(expected):
        return AnswerProfile("choice", choices=tuple(distinct), rambling=rambling)
    return AnswerProfile("text", words=words, rambling=rambling)


def answering_llm_steps(parent: Pipeline) -> list[LlmStep]:
    """The llm-like steps the pipeline's outputs read (the ones whose prompt decides)."""
    answering = set(output_steps(parent))
    return [s for s in llm_steps(parent) if s.id in answering]
