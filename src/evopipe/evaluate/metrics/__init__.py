"""Metrics: one module each, registered by name in :data:`METRICS`.

A metric spec on the command line is ``name`` or ``name[key=value;key=value]``; several specs
are separated by commas outside brackets: ``exact[ignore_punctuation=true],f1``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from evopipe.evaluate.metrics import (
    contains,
    exact,
    f1,
    json_fields,
    json_schema,
    judge,
    numeric,
    python_fn,
    regex,
)
from evopipe.evaluate.metrics.base import Case, Metric, MetricEnv, MetricError, Score

MetricFactory = Callable[[Mapping[str, Any], MetricEnv], Metric]

METRICS: dict[str, MetricFactory] = {
    exact.NAME: exact.build,
    contains.NAME: contains.build,
    regex.NAME: regex.build,
    numeric.NAME: numeric.build,
    f1.NAME: f1.build,
    json_schema.NAME: json_schema.build,
    json_fields.NAME: json_fields.build,
    python_fn.NAME: python_fn.build,
    judge.NAME: judge.build,
}
"""Metric name → factory ``build(options, env)``."""


def split_specs(text: str) -> list[str]:
    """Split ``a[x=1;y=2],b`` on commas outside brackets."""
    parts: list[str] = []
    depth, current = 0, ""
    for ch in text:
        depth += ch == "["
        depth -= ch == "]"
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return [p.strip() for p in parts if p.strip()]


def parse_spec(spec: str) -> tuple[str, dict[str, str]]:
    """``numeric[abs_tol=0.5]`` → ``("numeric", {"abs_tol": "0.5"})``."""
    name, bracket, rest = spec.strip().partition("[")
    options: dict[str, str] = {}
    if bracket:
        if not rest.endswith("]"):
            raise MetricError(f"metric spec {spec!r}: missing closing ']'")
        for item in rest[:-1].split(";"):
            if not item.strip():
                continue
            key, eq, value = item.partition("=")
            if not eq or not key.strip():
                raise MetricError(f"metric spec {spec!r}: option {item!r} is not key=value")
            options[key.strip()] = value.strip()
    return name.strip(), options


def build_metric(
    name: str, options: Mapping[str, Any] | None = None, env: MetricEnv | None = None
) -> Metric:
    """Build one metric by name; unknown names raise :class:`MetricError` listing the known."""
    factory = METRICS.get(name)
    if factory is None:
        raise MetricError(f"unknown metric {name!r}; known: {', '.join(sorted(METRICS))}")
    return factory(options or {}, env or MetricEnv())


def build_metrics(specs: str | Sequence[str], env: MetricEnv | None = None) -> list[Metric]:
    """Build metrics from CLI-style specs (a comma-separated string or a list of them)."""
    texts = [specs] if isinstance(specs, str) else list(specs)
    parsed = [parse_spec(s) for t in texts for s in split_specs(t)]
    if not parsed:
        raise MetricError("no metric given")
    return [build_metric(name, opts, env) for name, opts in parsed]


__all__ = [
    "METRICS",
    "Case",
    "Metric",
    "MetricEnv",
    "MetricError",
    "MetricFactory",
    "Score",
    "build_metric",
    "build_metrics",
    "parse_spec",
    "split_specs",
]
