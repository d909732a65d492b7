"""Scoring functions the python-metric tests allowlist."""

from __future__ import annotations

from typing import Any


def half(prediction: Any, expected: Any, inputs: dict[str, Any]) -> float:
    return 0.5


def with_feedback(prediction: Any, expected: Any, inputs: dict[str, Any]) -> tuple[float, str]:
    return (1.0, "same") if prediction == expected else (0.0, "different")


async def async_len(prediction: Any, expected: Any, inputs: dict[str, Any]) -> dict[str, Any]:
    return {"score": min(1.0, len(str(prediction)) / 10)}


def out_of_range(prediction: Any, expected: Any, inputs: dict[str, Any]) -> float:
    return 2.0
