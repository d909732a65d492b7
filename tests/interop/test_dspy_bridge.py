"""The DSPy bridge: DSPy calls evopipe models; a DSPy optimiser evolves a step; a pipeline
runs as a DSPy module."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

from interop_needs import need_module

dspy = need_module("dspy", reason="the dspy extra is not installed")

from sums_model import ANSWERS, SUMS, OneModel, sums_answer

from evopipe.evolve.fitness import EvalRecord, ExampleResult
from evopipe.evolve.operators import OperatorContext
from evopipe.interop.dspy_bridge import DspyOptimise, PipelineModule, evopipe_lm
from evopipe.models.testing import FakeModel, FunctionModel
from evopipe.spec.loader import load_file, loads

KINDS = Path(__file__).resolve().parents[2] / "examples" / "kinds"


def test_dspy_programs_call_evopipe_models() -> None:
    model = FunctionModel(sums_answer)
    with dspy.context(lm=evopipe_lm("function", OneModel(model))):
        prediction = dspy.Predict("question -> answer")(question="What is 2+2?")
    assert prediction.answer == "4"
    (request,) = model.calls
    assert request.messages[0].role == "system"
    assert "answer" in request.messages[0].content
    assert "What is 2+2?" in request.messages[-1].content


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
    operator = DspyOptimise(OneModel(FunctionModel(sums_answer)), "function", max_demos=2)
    child = asyncio.run(operator.apply(parent, OperatorContext(random.Random(0), feedback)))
    assert child is not None
    demos = [(d.input, d.output) for d in child.steps[0].demos]
    # 2+2 and 3+3 pass the metric and are bootstrapped; 1+1 (the model says 3) is not
    assert demos == [("What is 2+2?", "4"), ("What is 3+3?", "6")]
    assert child.steps[0].prompt == parent.steps[0].prompt


def test_operator_is_not_applicable_without_feedback() -> None:
    operator = DspyOptimise(OneModel(FakeModel()), "fake")
    parent = loads(SUMS).pipeline
    assert asyncio.run(operator.apply(parent, OperatorContext(random.Random(0)))) is None


def test_a_pipeline_runs_as_a_dspy_module() -> None:
    module = PipelineModule(load_file(KINDS / "set.yaml").pipeline)
    prediction = module(first="Grace", last="Hopper")
    assert prediction.greeting == "Hello, Grace!"
    llm = PipelineModule(load_file(KINDS / "llm.yaml").pipeline, models=OneModel(FakeModel()))
    assert llm(text="Otters.").summary.startswith("fake-")
