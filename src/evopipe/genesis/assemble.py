"""Deterministic assembly: build a spec from small model decisions and a library pattern.

A weak model cannot be trusted to write a whole pipeline, but it can pick a pattern and name
steps. The best fitting pattern is adapted (renamed, described, annotated); when no pattern
matched the request at all and the model proposed steps, a plan-do chain is built from them.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from evopipe.genesis.patterns import Pattern, get_pattern
from evopipe.genesis.repairs import ident, slug
from evopipe.genesis.retrieval import Hit

FALLBACK_PATTERN = "generic-chain"


def choose_pattern(analysis: Mapping[str, Any] | None, hits: Sequence[Hit]) -> Pattern:
    """The pattern the model named if it is among the retrieved ones, else the best hit, else
    the generic chain."""
    named = str((analysis or {}).get("pattern", "")).strip().lower()
    for hit in hits:
        if named and named == hit.pattern.name:
            return hit.pattern
    if hits:
        return hits[0].pattern
    return get_pattern(FALLBACK_PATTERN)


def request_name(request: str) -> str:
    words = [w for w in re.findall(r"[a-z0-9]+", request.lower()) if len(w) > 2][:6]
    return slug("-".join(words), "generated-pipeline")


def adapt_pattern(
    pattern: Pattern, request: str, analysis: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The pattern's document, renamed and annotated for ``request``."""
    data: dict[str, Any] = copy.deepcopy(yaml.safe_load(pattern.text))
    data["name"] = request_name(request)
    functionality = str((analysis or {}).get("functionality") or "").strip()
    data["description"] = (request.strip() or functionality)[:300]
    meta = dict(data.get("metadata") or {})
    meta.update({"origin": "genesis", "pattern": pattern.name, "request": request[:500]})
    data["metadata"] = meta
    return data


def chain_from_steps(request: str, steps: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """A linear chain of extract steps from the model's step list (None if it is unusable)."""
    planned = [
        (ident(str(s.get("id") or ""), f"step_{i + 1}"), str(s.get("purpose") or "").strip())
        for i, s in enumerate(steps)
        if isinstance(s, Mapping)
    ]
    planned = [(sid, purpose) for sid, purpose in planned if purpose][:6]
    ids = [sid for sid, _ in planned]
    if not planned or len(set(ids)) != len(ids):
        return None
    out_steps: list[dict[str, Any]] = []
    previous: str | None = None
    for sid, purpose in planned:
        purpose = purpose.replace("{", "(").replace("}", ")")
        prompt = f"{purpose}\n\nTASK:\n{{{{ inputs.task }}}}"
        if previous:
            prompt += f"\n\nPREVIOUS RESULT:\n{{{{ steps.{previous}.output.result }}}}"
        out_steps.append(
            {
                "id": sid,
                "kind": "extract",
                "prompt": prompt,
                "output": {
                    "schema": {
                        "type": "object",
                        "properties": {"result": {"type": "string"}},
                        "required": ["result"],
                    }
                },
            }
        )
        previous = sid
    return {
        "apiVersion": "evopipe/v1",
        "kind": "Pipeline",
        "name": request_name(request),
        "description": request.strip()[:300],
        "metadata": {"origin": "genesis", "pattern": None, "request": request[:500]},
        "inputs": {"task": {"type": "string", "description": "The material to work on."}},
        "steps": out_steps,
        "outputs": {"result": f"{{{{ steps.{previous}.output.result }}}}"},
    }


def assemble(
    request: str, analysis: Mapping[str, Any] | None, hits: Sequence[Hit]
) -> dict[str, Any]:
    """Adapt the best pattern; build a chain from the model's steps when nothing matched."""
    if not hits and analysis and isinstance(analysis.get("steps"), list):
        chain = chain_from_steps(request, analysis["steps"])
        if chain is not None:
            return chain
    return adapt_pattern(choose_pattern(analysis, hits), request, analysis)
