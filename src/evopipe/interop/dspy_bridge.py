"""DSPy bridge (opt-in: ``pip install 'evopipe[dspy]'``), both directions.

* :func:`evopipe_lm`: a ``dspy.LM`` whose engine is evopipe's model layer, so DSPy programs and
  optimisers call evopipe models (any provider, the local model, the test models).
* :class:`DspyOptimise`: an evolution operator (it satisfies evolve's ``Operator`` protocol
  structurally: interop sits below evolve) that optimises one ``llm``/``extract`` step with a
  DSPy optimiser (``BootstrapFewShot``) on the feedback minibatch and writes the demos it found
  into the step's ``demos``.
* :class:`PipelineModule`: an evopipe pipeline as a ``dspy.Module`` (inputs as keyword
  arguments, outputs as the fields of a ``dspy.Prediction``).

DSPy's settings are used through ``dspy.context`` only (no process-global configuration).
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import dspy  # type: ignore[import-untyped]
from dspy.lm15 import (  # type: ignore[import-untyped]
    Message as DspyMessage,
)
from dspy.lm15 import (
    Request,
    Response,
    TextPart,
    response_to_events,
)
from dspy.lm15 import Usage as DspyUsage

from evopipe.engine.runner import run_pipeline
from evopipe.engine.templates import Renderer
from evopipe.engine.types import ModelSource, RunOptions, Services
from evopipe.models.base import Message, ModelRequest, ModelResponse
from evopipe.spec.errors import EvopipeError
from evopipe.spec.kinds import LlmStep
from evopipe.spec.pipeline import Pipeline
from evopipe.spec.templates import references


class _Example(Protocol):
    inputs: dict[str, Any]
    expected: Any


class _Feedback(Protocol):
    @property
    def examples(self) -> Sequence[_Example]: ...


class _OperatorContext(Protocol):
    """What the operator reads of evolve's ``OperatorContext`` (interop sits below evolve)."""

    @property
    def rng(self) -> random.Random: ...

    @property
    def feedback(self) -> _Feedback | None: ...


def _model_request(request: Request) -> ModelRequest:
    messages: list[Message] = []
    if request.system is not None:
        system = request.system
        text = (
            system if isinstance(system, str) else "".join(getattr(p, "text", "") for p in system)
        )
        messages.append(Message("system", text))
    messages += [Message(m.role, m.text or "") for m in request.messages]
    config = request.config
    return ModelRequest(
        messages=tuple(messages),
        temperature=config.temperature,
        max_tokens=config.max_tokens,
        stop=tuple(config.stop),
        seed=config.seed,
    )


def _response(answer: ModelResponse) -> Response:
    usage = answer.usage
    return Response(
        id=answer.request_id,
        model=answer.model,
        message=DspyMessage.assistant([TextPart(answer.text)]),
        finish_reason="stop",
        usage=DspyUsage(
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            total_tokens=usage.input_tokens + usage.output_tokens,
        ),
    )


class EvopipeEngine:
    """DSPy's engine protocol (``complete(Request) -> Response``) over an evopipe model."""

    def __init__(self, models: ModelSource, model_id: str) -> None:
        self.models, self.model_id = models, model_id

    def complete(self, request: Request) -> Response:
        model = self.models.get(self.model_id, cache_policy="off")
        return _response(asyncio.run(model.complete(_model_request(request))))

    def stream(self, request: Request) -> Iterator[Any]:
        return iter(response_to_events(self.complete(request)))

    def close(self) -> None:
        """Nothing to release: the models belong to the caller."""


class AsyncEvopipeEngine:
    """The async form of :class:`EvopipeEngine` (DSPy's ``acall``)."""

    def __init__(self, models: ModelSource, model_id: str) -> None:
        self.models, self.model_id = models, model_id

    async def complete(self, request: Request) -> Response:
        model = self.models.get(self.model_id, cache_policy="off")
        return _response(await model.complete(_model_request(request)))

    async def stream(self, request: Request) -> AsyncIterator[Any]:
        for event in response_to_events(await self.complete(request)):
            yield event

    async def aclose(self) -> None:
        """Nothing to release."""


def evopipe_lm(model_id: str, models: ModelSource | None = None) -> Any:
    """A ``dspy.LM`` calling ``model_id`` through evopipe's model layer (no DSPy cache)."""
    if models is None:
        from evopipe.models import ModelHub

        models = ModelHub()
    return dspy.LM(
        f"evopipe/{model_id}",
        engine=EvopipeEngine(models, model_id),
        async_engine=AsyncEvopipeEngine(models, model_id),
        cache=False,
    )


def _text(value: Any) -> str:
    if isinstance(value, dict) and len(value) == 1:
        value = next(iter(value.values()))
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _reads_only_inputs(step: LlmStep) -> bool:
    return all(ref.root == "inputs" for ref in references(step.prompt))


def _answering_steps(pipeline: Pipeline) -> list[LlmStep]:
    """Top-level llm/extract steps whose output the pipeline's outputs read, prompt reading
    only inputs (so a demo can be rendered from an example's inputs alone)."""
    read: set[str] = set()
    for value in pipeline.outputs.values():
        if isinstance(value, str):
            read |= {str(r.path[0]) for r in references(value) if r.root == "steps" and r.path}
    return [
        s
        for s in pipeline.steps
        if isinstance(s, LlmStep) and s.id in read and _reads_only_inputs(s)
    ]


@dataclass
class DspyOptimise:
    """Evolution operator: DSPy's ``BootstrapFewShot`` on one step, through evopipe models.

    The step is one whose output the pipeline returns and whose prompt reads only inputs; the
    trainset is the feedback minibatch's examples with a reference answer; the metric is an
    exact match (case and surrounding space ignored). The demos DSPy keeps become the step's
    ``demos``.
    """

    models: ModelSource
    model_id: str
    max_demos: int = 3
    name: str = "dspy"
    level: str = "prompt"
    needs_feedback: bool = True

    async def apply(self, parent: Pipeline, ctx: _OperatorContext) -> Pipeline | None:
        if ctx.feedback is None:
            return None
        steps = _answering_steps(parent)
        train = [(e.inputs, _text(e.expected)) for e in ctx.feedback.examples if e.expected]
        if not steps or not train:
            return None
        step = ctx.rng.choice(steps)
        demos = await asyncio.to_thread(self._compile, step, train)
        if not demos or demos == [d.model_dump() for d in step.demos]:
            return None
        data = parent.model_dump(mode="python", by_alias=True)
        index = next(i for i, s in enumerate(parent.steps) if s.id == step.id)
        data["steps"][index]["demos"] = demos
        return Pipeline.model_validate(data)

    def _compile(self, step: LlmStep, train: list[tuple[dict[str, Any], str]]) -> list[Any]:
        trainset = [
            dspy.Example(prompt=_render(step.prompt, inputs), answer=answer).with_inputs("prompt")
            for inputs, answer in train
        ]
        signature = dspy.Signature("prompt -> answer", step.system or "Answer the prompt.")
        optimiser = dspy.BootstrapFewShot(
            metric=_exact_match,
            max_bootstrapped_demos=self.max_demos,
            max_labeled_demos=self.max_demos,
        )
        with dspy.context(lm=evopipe_lm(self.model_id, self.models)):
            compiled = optimiser.compile(dspy.Predict(signature), trainset=trainset)
        return [
            {"input": str(d["prompt"]), "output": str(d["answer"])}
            for d in compiled.demos[: self.max_demos]
        ]


def _render(template: str, inputs: dict[str, Any]) -> str:
    return str(Renderer().render(template, {"inputs": inputs}, "prompt")).strip()


def _exact_match(example: Any, prediction: Any, trace: Any = None) -> bool:
    return str(prediction.answer).strip().lower() == str(example.answer).strip().lower()


class PipelineModule(dspy.Module):  # type: ignore[misc]
    """An evopipe pipeline as a DSPy module: ``module(**inputs)`` → ``dspy.Prediction``."""

    def __init__(
        self, pipeline: Pipeline, *, models: ModelSource | None = None, model: str | None = None
    ) -> None:
        super().__init__()
        if models is None:
            from evopipe.models import ModelHub

            models = ModelHub()
        self.pipeline, self.models, self.model = pipeline, models, model

    def forward(self, **inputs: Any) -> Any:
        return asyncio.run(self.aforward(**inputs))

    async def aforward(self, **inputs: Any) -> Any:
        services = Services(models=self.models)
        result = await run_pipeline(
            self.pipeline, inputs, services=services, options=RunOptions(model=self.model)
        )
        if result.status != "succeeded":
            raise EvopipeError(f"pipeline {self.pipeline.name!r} {result.status}: {result.error}")
        return dspy.Prediction(**result.outputs)
