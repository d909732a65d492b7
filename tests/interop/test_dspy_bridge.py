"""The DSPy bridge: DSPy calls evopipe models; a DSPy optimiser evolves a step; a pipeline
runs as a DSPy module."""

from __future__ import annotations

import asyncio
import random
import re
from pathlib import Path
from typing import Any

from interop_needs import need_module

dspy = need_module("dspy", reason="the dspy extra is not installed")

from evopipe.evolve.fitness import EvalRecord, ExampleResult
from evopipe.evolve.operators import OperatorContext
from evopipe.interop.dspy_bridge import DspyOptimise, PipelineModule, evopipe_lm
from evopipe.models.base import ModelRequest
from evopipe.models.testing import FakeModel, FunctionModel
from evopipe.spec.loader import load_file, loads

KINDS = Path(__file__).resolve().parents[2] / "examples" / "kinds"
ANSWERS = {"2+2": "4", "3+3": "6", "5+5": "10", "1+1": "3"}  # the model gets 1+1 wrong


class _Models:
    def __init__(self, model: Any) -> None:
        self.model = model
        self.default_model_id = model.id

    def get(self, model_id: str | None = None, *, cache_policy: Any = None) -> Any:
        return self.model


def _chat_answer(request: ModelRequest) -> str:
    """A model that follows DSPy's chat format and knows a few sums."""
    asked = re.findall(r"(\d\+\d)", request.messages[-1].content)
    answer = ANSWERS.get(asked[-1], "?") if asked else "?"
    return f"[[ ## answer ## ]]\n{answer}\n\n[[ ## completed ## ]]"


def test_dspy_programs_call_evopipe_models() -> None:
    model = FunctionModel(_chat_answer)
    with dspy.context(lm=evopipe_lm("function", _Models(model))):
        prediction = dspy.Predict("question -> answer")(question="What is 2+2?")
    assert prediction.answer == "4"
    (request,) = model.calls
    assert request.messages[0].role == "system"
    assert "answer" in request.messages[0].content
    assert "What is 2+2?" in request.messages[-1].content


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


def test_dspy_operator_writes_the_demos_bootstrapped_by_dspy() -> None:
    parent = loads(SUMS).pipeline
    feedback = EvalRecord(
        "train",
        tuple(
            ExampleResult(
                f"e{i}", 0.0, inputs={"sum": s}, expected=ANSWERS[s] if s != "1+1" else "2"
            )
            for i, s in enumerate(["2+2", "3+3", "1+1"])
        ),
    )
    operator = DspyOptimise(_Models(FunctionModel(_chat_answer)), "function", max_demos=2)
    child = asyncio.run(operator.apply(parent, OperatorContext(random.Random(0), feedback)))
    assert child is not None
    demos = [(d.input, d.output) for d in child.steps[0].demos]
    # 2+2 and 3+3 pass the metric and are bootstrapped; 1+1 (the model says 3) is not
    assert demos == [("What is 2+2?", "4"), ("What is 3+3?", "6")]
    assert child.steps[0].prompt == parent.steps[0].prompt


def test_operator_is_not_applicable_without_feedback() -> None:
    operator = DspyOptimise(_Models(FakeModel()), "fake")
    parent = loads(SUMS).pipeline
    assert asyncio.run(operator.apply(parent, OperatorContext(random.Random(0)))) is None


def test_a_pipeline_runs_as_a_dspy_module() -> None:
    module = PipelineModule(load_file(KINDS / "set.yaml").pipeline)
    prediction = module(first="Grace", last="Hopper")
    assert prediction.greeting == "Hello, Grace!"
    llm = PipelineModule(load_file(KINDS / "llm.yaml").pipeline, models=_Models(FakeModel()))
    assert llm(text="Otters.").summary.startswith("fake-")
