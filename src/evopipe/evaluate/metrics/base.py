"""The metric contract: one async ``score`` per example → a :class:`Score` in [0, 1].

A metric module defines an options model and a ``build(options, env)`` factory; the table in
:mod:`evopipe.evaluate.metrics` maps names to factories.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from evopipe.spec.errors import EvopipeError


class MetricError(EvopipeError):
    """A metric is unknown, misconfigured, or failed on an example."""


@dataclass(frozen=True, slots=True)
class Score:
    """A score in [0, 1] with optional textual feedback (what was wrong, for reflection)."""

    value: float
    feedback: str | None = None
    usage: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0.0 <= self.value <= 1.0:
            raise MetricError(f"score {self.value} is outside [0, 1]")


@dataclass(frozen=True, slots=True)
class Case:
    """What a metric sees: the prediction, the expected value, and the example's context."""

    prediction: Any
    expected: Any
    inputs: Mapping[str, Any] = field(default_factory=dict)
    outputs: Mapping[str, Any] = field(default_factory=dict)
    example_id: str = ""


@dataclass(frozen=True)
class MetricEnv:
    """What building a metric may need: services for judges, the python allowlist."""

    services: Any = None
    python_allow: frozenset[str] = frozenset()
    base_dir: str = "."


class Metric(Protocol):
    """Scores one example. ``name`` identifies the metric in reports."""

    @property
    def name(self) -> str: ...

    async def score(self, case: Case) -> Score: ...


class MetricOptions(BaseModel):
    """Base of metric option models: unknown options are an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)


OptionsT = TypeVar("OptionsT", bound=MetricOptions)


def parse_options(model: type[OptionsT], metric: str, options: Mapping[str, Any]) -> OptionsT:
    """Validate raw (often string) options into ``model``; errors name the metric."""
    try:
        return model.model_validate(dict(options))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'options'}: {e['msg']}" for e in exc.errors()
        )
        raise MetricError(f"metric {metric!r}: {problems}") from None


class TextOptions(MetricOptions):
    """Normalisation applied to both sides before comparing text."""

    ignore_case: bool = True
    collapse_whitespace: bool = True
    ignore_punctuation: bool = False
    strip: bool = True


_PUNCT = re.compile(f"[{re.escape(string.punctuation)}]")
_SPACE = re.compile(r"\s+")


def as_text(value: Any) -> str:
    """Text form of a value: strings as they are, everything else as compact JSON."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def normalise(value: Any, opts: TextOptions) -> str:
    text = as_text(value)
    if opts.ignore_case:
        text = text.casefold()
    if opts.ignore_punctuation:
        text = _PUNCT.sub(" " if opts.collapse_whitespace else "", text)
    if opts.collapse_whitespace:
        text = _SPACE.sub(" ", text)
    if opts.strip:
        text = text.strip()
    return text


@dataclass(frozen=True)
class TextMatch:
    """A pass/fail metric over the normalised prediction and expected value.

    ``matches(got, want)`` decides; on a miss, ``miss`` (a template over ``got`` and ``want``)
    is the feedback, with the prediction cut to 200 characters.
    """

    name: str
    opts: TextOptions
    matches: Callable[[str, str], bool]
    miss: str

    async def score(self, case: Case) -> Score:
        got, want = normalise(case.prediction, self.opts), normalise(case.expected, self.opts)
        if self.matches(got, want):
            return Score(1.0)
        return Score(0.0, self.miss.format(got=got[:200], want=want))


def as_json(value: Any) -> Any:
    """Parse a JSON string (tolerating a fenced code block); other values pass through."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    fence = re.match(r"^```(?:json)?\s*(.*?)\s*```$", text, re.S)
    if fence:
        text = fence.group(1)
    return json.loads(text)
