"""``judge``: an LLM judge pipeline grades the answer (0-10, scaled to [0, 1]) with feedback.

The judge is package data (``evopipe/library/judges/judge.yaml``): loaded read-only and pinned
by its canonical spec hash, so an optimiser cannot change what it is scored by. A different or
edited judge (``judge=PATH``) is refused unless its hash is given explicitly
(``judge_hash=...``). The judge runs on its own model (``model=...``; else the services'
default), through the same engine as any pipeline.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evopipe.engine import Services
from evopipe.evaluate.bridge import run_one
from evopipe.evaluate.caching import eval_services
from evopipe.evaluate.metrics.base import (
    Case,
    Metric,
    MetricEnv,
    MetricError,
    MetricOptions,
    Score,
    as_text,
    parse_options,
)
from evopipe.spec import Pipeline, load_file, spec_hash

NAME = "judge"
JUDGE_PATH = Path(__file__).resolve().parents[2] / "library" / "judges" / "judge.yaml"
JUDGE_HASH = "7eae0ebd4c0e8ee0bff762096fed7b834794a0df5015770eedf23c66550de766"
"""Canonical spec hash of the shipped judge; a test pins it against the file."""
MAX_GRADE = 10


class JudgeOptions(MetricOptions):
    model: str | None = None
    rubric: str | None = None
    judge: str | None = None
    judge_hash: str | None = None
    question: str | None = None


class JudgeChangedError(MetricError):
    """The judge pipeline's hash is not the one it is pinned to."""


def load_judge(path: str | Path | None = None, expected_hash: str | None = None) -> Pipeline:
    """Load a judge and verify its hash (the shipped one by default)."""
    source = Path(path) if path else JUDGE_PATH
    pinned = expected_hash or (JUDGE_HASH if path is None else None)
    if pinned is None:
        raise JudgeChangedError(
            f"judge {source}: a custom judge needs its hash (judge_hash=...) to be accepted"
        )
    pipeline = load_file(source).pipeline
    actual = spec_hash(pipeline)
    if actual != pinned:
        raise JudgeChangedError(
            f"judge {source}: hash {actual[:12]} differs from the pinned {pinned[:12]}; "
            "refusing a changed judge (pass judge_hash=<new hash> to accept it explicitly)"
        )
    return pipeline


def with_model(pipeline: Pipeline, model: str | None) -> Pipeline:
    """The judge with its default model set (a run setting; the pinned file is unchanged)."""
    if not model:
        return pipeline
    return pipeline.model_copy(
        update={"defaults": pipeline.defaults.model_copy(update={"model": model})}
    )


@dataclass(frozen=True)
class Judge:
    pipeline: Pipeline
    opts: JudgeOptions
    services: Any
    name: str = NAME

    def _inputs(self, case: Case) -> dict[str, Any]:
        if self.opts.question and self.opts.question in case.inputs:
            question = as_text(case.inputs[self.opts.question])
        elif len(case.inputs) == 1:
            question = as_text(next(iter(case.inputs.values())))
        else:
            question = json.dumps(dict(case.inputs), ensure_ascii=False, default=str)
        inputs = {
            "question": question,
            "answer": as_text(case.prediction),
            "reference": as_text(case.expected),
        }
        if self.opts.rubric:
            inputs["rubric"] = self.opts.rubric
        return inputs

    async def score(self, case: Case) -> Score:
        outcome = await run_one(self.pipeline, self._inputs(case), self.services)
        usage = {
            "cost_usd": outcome.cost_usd,
            "paid_usd": outcome.paid_usd,
            "calls": float(outcome.calls),
        }
        if not outcome.ok:
            raise MetricError(f"judge failed: {outcome.error}")
        grade = outcome.outputs.get("score")
        if isinstance(grade, str) and grade.strip().lstrip("-").isdigit():
            grade = int(grade)
        if not isinstance(grade, int | float) or isinstance(grade, bool):
            raise MetricError(f"judge returned a non-numeric score {grade!r}")
        value = min(MAX_GRADE, max(0, float(grade))) / MAX_GRADE
        feedback = outcome.outputs.get("feedback")
        return Score(value, None if feedback in (None, "") else str(feedback), usage)


def build(options: Mapping[str, Any], env: MetricEnv) -> Metric:
    opts = parse_options(JudgeOptions, NAME, options)
    if env.services is None:
        raise MetricError("metric 'judge' needs services (a model hub) to run the judge")
    pipeline = with_model(load_judge(opts.judge, opts.judge_hash), opts.model)
    services = env.services
    if isinstance(services, Services):
        services = eval_services(services)
    return Judge(pipeline, opts, services)
