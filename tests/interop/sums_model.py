"""The DSPy tests' double: a model that knows a few sums (and gets 1+1 wrong), answering in
DSPy's chat format when DSPy asks and plainly when a pipeline step does; a model source of it;
a one-step pipeline that asks for a sum."""

from __future__ import annotations

import re
from typing import Any

from evopipe.models.base import ModelRequest

ANSWERS = {"2+2": "4", "3+3": "6", "5+5": "10", "4+4": "8", "6+6": "12", "1+1": "3"}
SUMS = """\
apiVersion: evopipe/v1
name: sums
inputs:
  sum: {type: string}
outputs:
  answer: "{{ steps.solve.output }}"
steps:
  - id: solve
    kind: llm
    prompt: "What is {{ inputs.sum }}?"
"""


class OneModel:
    """A model source serving one model for every id."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.default_model_id = model.id

    def get(self, model_id: str | None = None, *, cache_policy: Any = None) -> Any:
        return self.model


def sums_answer(request: ModelRequest) -> str:
    asked = re.findall(r"(\d\+\d)", request.messages[-1].content)
    answer = ANSWERS.get(asked[-1], "?") if asked else "?"
    if "[[ ## " in request.messages[0].content:  # DSPy's chat adapter
        return f"[[ ## answer ## ]]\n{answer}\n\n[[ ## completed ## ]]"
    return answer
