"""Was the operator model's output usable? An honest flag for the run summary.

An LLM-driven proposal (one whose operator pipeline made model calls) is **unusable** when it
produced no offspring (empty answer, failed pipeline, invalid or duplicate spec) and
**suspect** when it did but the rewritten prompt looks degenerate: it kept almost none of the
parent prompt's words, it repeats one phrase over and over, or it shrank below a fifth or grew
beyond five times the parent's length. The summary's ``meta.operator_model`` reports the
counts and ``flag: true`` when at least half of those proposals were unusable or suspect —
then the LLM operators' results (good or bad) say little about the method.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from evopipe.evolve.repository import Proposal
from evopipe.spec import Pipeline
from evopipe.spec.kinds import LlmStep

_WORD = re.compile(r"[^\W\d_]{2,}")
_TEMPLATE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)


def degenerate(old: str, new: str) -> str | None:
    """Why a prompt rewrite looks unusable, or None when it looks like a prompt."""
    if not new.strip():
        return "empty"
    if len(new) < len(old) / 5:
        return "shrank"
    if len(new) > 5 * max(len(old), 40):
        return "ballooned"
    old_words = {w.casefold() for w in _WORD.findall(_TEMPLATE.sub(" ", old))}
    new_words = [w.casefold() for w in _WORD.findall(_TEMPLATE.sub(" ", new))]
    if old_words and len(old_words & set(new_words)) < max(1, len(old_words) // 5):
        return "unrelated"
    grams = [" ".join(new_words[i : i + 3]) for i in range(len(new_words) - 2)]
    if grams and max(grams.count(g) for g in set(grams)) >= 4:
        return "repetitive"
    return None


def _changed_prompts(parent: Pipeline, child: Pipeline) -> list[tuple[str, str]]:
    before = {s.id: s.prompt for s in parent.steps if isinstance(s, LlmStep)}
    return [
        (before[s.id], s.prompt)
        for s in child.steps
        if isinstance(s, LlmStep) and s.id in before and s.prompt != before[s.id]
    ]


def operator_model_report(
    proposals: Sequence[Proposal], specs: Mapping[str, Pipeline]
) -> dict[str, Any]:
    """Counts of LLM-driven proposals: usable, unusable (by outcome), suspect (by reason)."""
    report: dict[str, Any] = {"proposals": 0, "usable": 0, "unusable": {}, "suspect": {}}
    for p in sorted(proposals, key=lambda p: (p.generation, p.slot)):
        if p.calls <= 0:
            continue
        report["proposals"] += 1
        if p.spec is None or p.outcome not in ("ok", "repaired"):
            report["unusable"][p.outcome] = report["unusable"].get(p.outcome, 0) + 1
            continue
        parent = specs.get(p.parents[0]) if p.parents else None
        reasons = (
            [r for old, new in _changed_prompts(parent, p.spec) if (r := degenerate(old, new))]
            if parent is not None
            else []
        )
        if reasons:
            report["suspect"][reasons[0]] = report["suspect"].get(reasons[0], 0) + 1
        else:
            report["usable"] += 1
    bad = report["proposals"] - report["usable"]
    report["flag"] = report["proposals"] > 0 and 2 * bad >= report["proposals"]
    return report
