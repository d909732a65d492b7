"""Selection: NSGA-II survivors over the objectives, GEPA-style per-example parent sampling.

See docs/decisions/0004-selection.md for why both are used: survivors are kept by Pareto rank
and crowding distance over the run's objectives (so cheap-but-decent and good-but-dear
candidates both survive); parents are drawn in proportion to the number of examples on which a
candidate is among the best (so a candidate that alone solves a few hard examples keeps being
mutated even when its mean is not the highest).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

from evopipe.evolve.fitness import OBJECTIVES

Point = Mapping[str, float]


def oriented(objectives: Point, names: Sequence[str]) -> tuple[float, ...]:
    """Objective values turned so that higher is better for every name."""
    return tuple(
        objectives[n] if OBJECTIVES.get(n, "max") == "max" else -objectives[n] for n in names
    )


def dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    return all(x >= y for x, y in zip(a, b, strict=True)) and any(
        x > y for x, y in zip(a, b, strict=True)
    )


def nondominated_sort(points: Mapping[str, Sequence[float]]) -> list[list[str]]:
    """Fronts of ids, best first (NSGA-II's fast non-dominated sort, ids sorted in a front)."""
    ids = sorted(points)
    dominated_by: dict[str, list[str]] = {i: [] for i in ids}
    count = dict.fromkeys(ids, 0)
    for i in ids:
        for j in ids:
            if i != j and dominates(points[i], points[j]):
                dominated_by[i].append(j)
            elif i != j and dominates(points[j], points[i]):
                count[i] += 1
    fronts: list[list[str]] = []
    current = [i for i in ids if count[i] == 0]
    while current:
        fronts.append(sorted(current))
        nxt: list[str] = []
        for i in current:
            for j in dominated_by[i]:
                count[j] -= 1
                if count[j] == 0:
                    nxt.append(j)
        current = nxt
    return fronts


def crowding(front: Sequence[str], points: Mapping[str, Sequence[float]]) -> dict[str, float]:
    """NSGA-II crowding distance of each id in a front (boundary points: infinity)."""
    distance = dict.fromkeys(front, 0.0)
    if len(front) <= 2:
        return dict.fromkeys(front, float("inf"))
    dims = len(points[front[0]])
    for d in range(dims):
        ordered = sorted(front, key=lambda i: (points[i][d], i))
        low, high = points[ordered[0]][d], points[ordered[-1]][d]
        distance[ordered[0]] = distance[ordered[-1]] = float("inf")
        if high == low:
            continue
        for k in range(1, len(ordered) - 1):
            gap = points[ordered[k + 1]][d] - points[ordered[k - 1]][d]
            distance[ordered[k]] += gap / (high - low)
    return distance


def survivors(points: Mapping[str, Sequence[float]], size: int) -> list[str]:
    """Keep ``size`` ids: whole fronts first, the last one cut by crowding distance."""
    kept: list[str] = []
    for front in nondominated_sort(points):
        if len(kept) + len(front) <= size:
            kept.extend(front)
            continue
        dist = crowding(front, points)
        kept.extend(sorted(front, key=lambda i: (-dist[i], i))[: size - len(kept)])
        break
    return kept


def pareto_front(points: Mapping[str, Sequence[float]]) -> list[str]:
    fronts = nondominated_sort(points)
    return fronts[0] if fronts else []


def per_example_weights(scores: Mapping[str, Mapping[str, float]]) -> dict[str, int]:
    """GEPA: for each example the candidates with its best score; weight = examples won.

    Candidates dominated on the per-example vector by another one are dropped.
    """
    ids = sorted(scores)
    examples = sorted({e for s in scores.values() for e in s})
    wins = dict.fromkeys(ids, 0)
    for ex in examples:
        best = max(scores[i].get(ex, 0.0) for i in ids)
        for i in ids:
            if scores[i].get(ex, 0.0) == best:
                wins[i] += 1
    vectors = {i: tuple(scores[i].get(e, 0.0) for e in examples) for i in ids}
    keep = [i for i in ids if not any(dominates(vectors[j], vectors[i]) for j in ids if j != i)]
    return {i: wins[i] for i in keep if wins[i] > 0} or {i: 1 for i in keep}


def sample_parent(scores: Mapping[str, Mapping[str, float]], rng: random.Random) -> str:
    """Draw one parent in proportion to its per-example Pareto weight (deterministic per rng)."""
    weights = per_example_weights(scores)
    ids = sorted(weights)
    return rng.choices(ids, weights=[weights[i] for i in ids], k=1)[0]
