"""Helpers of the nursery and factory tests: a shouting pipeline and a model that shouts."""

from __future__ import annotations

from evopipe.engine import Services
from evopipe.evaluate.dataset import Dataset, from_rows
from evopipe.models import InMemoryCache, ModelHub, ModelRequest, ModelsConfig
from evopipe.models.testing import FunctionModel
from evopipe.spec import Pipeline, loads


def shout_yaml(name: str = "shout", retry: str = "{max_attempts: 1}") -> str:
    return f"""\
apiVersion: evopipe/v1
kind: Pipeline
name: {name}
description: Shout the text back in capitals
inputs:
  text: {{type: string}}
outputs:
  answer: "{{{{ steps.shout.output }}}}"
steps:
  - id: shout
    kind: llm
    prompt: "SHOUT: {{{{ inputs.text }}}}"
    retry: {retry}
"""


def shout(retry: str = "{max_attempts: 1}", name: str = "shout") -> Pipeline:
    return loads(shout_yaml(name, retry)).pipeline


FRAGILE = "{max_attempts: 1}"
"""No retry: the first injected fault fails the example."""
STURDY = "{max_attempts: 8, backoff_s: 0, jitter: false}"
"""Retries without waiting: injected faults are absorbed."""


def shouter(request: ModelRequest) -> str:
    return request.messages[-1].content.removeprefix("SHOUT: ").upper()


def services() -> Services:
    hub = ModelHub(ModelsConfig(default_model="function"), cache=InMemoryCache())
    hub.add(FunctionModel(shouter, model_id="function"), "function")
    return Services(models=hub)


def words() -> Dataset:
    rows = [
        {"text": w, "expected": w.upper()}
        for w in ("alpha", "beta", "gamma", "delta", "eps", "zeta")
    ]
    return from_rows(rows, name="words")
