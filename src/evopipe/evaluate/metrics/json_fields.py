"""``json_fields``: the fraction of expected JSON fields the prediction gets right.

Both sides are parsed as JSON objects (strings are parsed; a fenced block is tolerated). The
fields compared are the ``fields`` option (``a|b|c``, dotted paths allowed) or every key of the
expected object. Values compare equal after the text normalisation of ``exact`` when both are
strings, and exactly otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from evopipe.evaluate.metrics.base import (
    Case,
    Metric,
    MetricEnv,
    Score,
    TextOptions,
    as_json,
    normalise,
    parse_options,
)

NAME = "json_fields"
_MISSING = object()


class JsonFieldsOptions(TextOptions):
    fields: str | None = None


def _get(data: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return _MISSING
    return data


def _equal(got: Any, want: Any, opts: TextOptions) -> bool:
    if isinstance(got, str) and isinstance(want, str):
        return normalise(got, opts) == normalise(want, opts)
    if isinstance(got, int | float) and isinstance(want, int | float):
        return not isinstance(got, bool) and float(got) == float(want)
    return bool(got == want)


@dataclass(frozen=True)
class JsonFields:
    opts: JsonFieldsOptions
    name: str = NAME

    async def score(self, case: Case) -> Score:
        try:
            want = as_json(case.expected)
        except (json.JSONDecodeError, TypeError):
            return Score(0.0, "expected value is not JSON")
        try:
            got = as_json(case.prediction)
        except (json.JSONDecodeError, TypeError) as exc:
            return Score(0.0, f"answer is not JSON: {exc}")
        paths = self.opts.fields.split("|") if self.opts.fields else list(_keys(want))
        if not paths:
            return Score(1.0)
        wrong = []
        for path in paths:
            g, w = _get(got, path), _get(want, path)
            if g is _MISSING or not _equal(g, w, self.opts):
                wrong.append(f"{path}: expected {w!r}, got {'<missing>' if g is _MISSING else g!r}")
        value = 1 - len(wrong) / len(paths)
        return Score(value, "; ".join(wrong[:5]) or None)


def _keys(value: Any) -> list[str]:
    return list(value) if isinstance(value, dict) else []


def build(options: Mapping[str, Any], env: MetricEnv) -> Metric:
    return JsonFields(parse_options(JsonFieldsOptions, NAME, options))
