"""Meta-metrics of an evolution run: how well the evolver itself is doing.

- improvement velocity: fitness (quality) gained per 100 calls spent;
- operator success rates: of the offspring an operator produced, the share that beat its parent;
- innovation: structures in the final front that the seed did not have;
- generation rate: generations per minute of wall time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from evopipe.evolve.genome import structure_signature
from evopipe.evolve.repository import Proposal
from evopipe.spec import Pipeline


def operator_stats(
    data: tuple[Sequence[Proposal], Mapping[str, float]],
) -> dict[str, dict[str, Any]]:
    """Per operator: proposals, outcomes, offspring evaluated, improved, success rate."""
    proposals, quality = data
    stats: dict[str, dict[str, Any]] = {}
    for p in sorted(proposals, key=lambda p: (p.generation, p.slot)):
        s = stats.setdefault(
            p.operator,
            {"proposed": 0, "evaluated": 0, "improved": 0, "outcomes": {}},
        )
        s["proposed"] += 1
        s["outcomes"][p.outcome] = s["outcomes"].get(p.outcome, 0) + 1
        if p.child_id is not None and p.child_id in quality:
            s["evaluated"] += 1
            parent_q = max((quality.get(x, 0.0) for x in p.parents), default=0.0)
            if quality[p.child_id] > parent_q:
                s["improved"] += 1
    for s in stats.values():
        s["success_rate"] = s["improved"] / s["evaluated"] if s["evaluated"] else 0.0
    return stats


def check_counts(proposals: Sequence[Proposal]) -> dict[str, int]:
    """How many offspring were checked fine, repaired, or discarded as invalid."""
    counts = {"ok": 0, "repaired": 0, "invalid": 0, "duplicate": 0, "none": 0, "failed": 0}
    for p in proposals:
        counts[p.outcome] = counts.get(p.outcome, 0) + 1
    return counts


def meta_metrics(
    *,
    seed_quality: float,
    best_quality: float,
    calls: int,
    generations: int,
    wall_s: float,
    front_structures: Sequence[Pipeline],
    seed: Pipeline,
    proposals: Sequence[Proposal],
    quality: Mapping[str, float],
) -> dict[str, Any]:
    seed_shape = structure_signature(seed)
    shapes = {structure_signature(p) for p in front_structures}
    return {
        "improvement": best_quality - seed_quality,
        "improvement_velocity_per_100_calls": (
            (best_quality - seed_quality) / (calls / 100) if calls else 0.0
        ),
        "operator_stats": operator_stats((proposals, quality)),
        "offspring_checks": check_counts(proposals),
        "innovation": len(shapes - {seed_shape}),
        "generation_rate_per_min": generations / (wall_s / 60) if wall_s > 0 else 0.0,
        "wall_s": wall_s,
    }
