"""Plain-language notes on an evolution run: why it stopped, which operators produced nothing.

They go in the run summary (``notes``) and the normal ``evopipe evolve`` output prints them, so
a user does not need ``--json`` to learn that an operator never applied or that the selection
split was too small to tell candidates apart.
"""

from __future__ import annotations

from collections.abc import Mapping

from evopipe.evolve.operators import OPERATORS

SMALL_SPLIT = 20
"""Below this many selection rows, a perfect score says little about the pipeline."""

_OUTCOMES = {
    "none": "it did not apply",
    "invalid": "its children failed the checker",
    "duplicate": "its children duplicated existing candidates",
    "failed": "its operator pipeline failed",
}


def run_notes(
    *,
    stop: str,
    seed_quality: float,
    selection: tuple[str, int | None],
    attempts: Mapping[str, Mapping[str, int]],
    generations: int,
) -> list[str]:
    """Notes on a finished run (an empty list when there is nothing to say)."""
    notes: list[str] = []
    split, size = selection
    rows = f"{size} {split} row(s)" if size is not None else f"the {split} split"
    if stop == "perfect":
        who = "the seed already" if seed_quality >= 1.0 else "a candidate"
        notes.append(
            f"stopped early: {who} scores 1.000 on all {rows}; nothing is left to improve there"
            + (
                " — too few rows to tell candidates apart: add harder rows"
                if size is not None and size < SMALL_SPLIT
                else ""
            )
        )
    for name in sorted(attempts):
        notes.extend(_idle_operator(name, attempts[name]))
    if generations == 0:
        notes.append("no generation ran (budget or generations = 0)")
    return notes


def _idle_operator(name: str, outcomes: Mapping[str, int]) -> list[str]:
    if outcomes.get("ok") or outcomes.get("repaired"):
        return []
    tries = sum(outcomes.values())
    reasons = ", ".join(
        f"{_OUTCOMES.get(outcome, outcome)} x{n}" for outcome, n in sorted(outcomes.items())
    )
    needs = getattr(OPERATORS.get(name), "applies_to", "")
    hint = f"; it needs {needs}" if needs and outcomes.get("none") else ""
    return [
        f"{name} produced no child in {tries} tr{'y' if tries == 1 else 'ies'}: {reasons}{hint}"
    ]
