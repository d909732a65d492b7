"""The router's intent stage on a model: choose one candidate (or none) with a confidence.

The model answers JSON constrained to a schema whose ``choice`` is an enum of the offered
names plus ``"none"``, so any model (the fake, the local one, a provider's) gives a parseable
answer.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from evopipe.models.base import InvalidOutputError, Message, Model, ModelRequest
from evopipe.orchestrate.routing import Candidate

_SYSTEM = (
    "You route a request to the one pipeline that serves it. Answer 'none' when no pipeline "
    "fits. Give your confidence between 0 and 1."
)


class ModelChooser:
    """:class:`~evopipe.orchestrate.routing.IntentChooser` backed by a :class:`Model`."""

    def __init__(self, model: Model) -> None:
        self.model = model

    async def choose(self, text: str, candidates: Sequence[Candidate]) -> tuple[str | None, float]:
        names = [c.name for c in candidates]
        listing = "\n".join(f"- {c.name}: {c.description}" for c in candidates)
        schema: dict[str, Any] = {
            "type": "object",
            "properties": {
                "choice": {"type": "string", "enum": [*names, "none"]},
                "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            },
            "required": ["choice", "confidence"],
        }
        request = ModelRequest(
            messages=(
                Message("system", _SYSTEM),
                Message("user", f"PIPELINES:\n{listing}\n\nREQUEST:\n{text}"),
            ),
            temperature=0.0,
            output_schema=schema,
            max_tokens=64,
        )
        try:
            response = await self.model.complete(request)
        except InvalidOutputError as exc:  # e.g. a confidence of 10 out of 1: read what it said
            data = _parse(exc.raw)
        else:
            data = response.data if isinstance(response.data, dict) else _parse(response.text)
        choice = data.get("choice")
        try:
            confidence = max(0.0, min(1.0, float(data.get("confidence", 0.0))))
        except (TypeError, ValueError):
            confidence = 0.0
        if not isinstance(choice, str) or choice not in names:
            return None, confidence
        return choice, confidence


def _parse(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}
