from __future__ import annotations

import random

from evopipe.evolve.selection import (
    crowding,
    dominates,
    nondominated_sort,
    oriented,
    pareto_front,
    per_example_weights,
    sample_parent,
    survivors,
)


def test_orientation_turns_minimised_objectives_around() -> None:
    assert oriented({"quality": 0.5, "cost": 2.0}, ["quality", "cost"]) == (0.5, -2.0)


def test_nondominated_sort_and_front() -> None:
    pts = {"a": (1.0, -1.0), "b": (0.5, -0.1), "c": (0.4, -2.0), "d": (0.9, -1.5)}
    assert dominates(pts["a"], pts["d"])
    fronts = nondominated_sort(pts)
    assert fronts[0] == ["a", "b"]
    assert set(fronts[1]) == {"d"}
    assert pareto_front(pts) == ["a", "b"]


def test_crowding_keeps_the_extremes() -> None:
    pts = {"a": (0.0, 1.0), "b": (0.5, 0.5), "c": (0.45, 0.55), "d": (1.0, 0.0)}
    dist = crowding(["a", "b", "c", "d"], pts)
    assert dist["a"] == dist["d"] == float("inf")
    assert survivors(pts, 3)[:2] == ["a", "d"]
    assert len(survivors(pts, 3)) == 3


def test_gepa_weights_favour_specialists_and_drop_dominated() -> None:
    scores = {
        "generalist": {"e1": 1.0, "e2": 1.0, "e3": 0.0},
        "specialist": {"e1": 0.0, "e2": 0.0, "e3": 1.0},
        "dominated": {"e1": 1.0, "e2": 0.0, "e3": 0.0},
    }
    weights = per_example_weights(scores)
    assert weights == {"generalist": 2, "specialist": 1}
    draws = [sample_parent(scores, random.Random(s)) for s in range(200)]
    assert "dominated" not in draws
    assert draws.count("generalist") > draws.count("specialist") > 0
    assert sample_parent(scores, random.Random(7)) == sample_parent(scores, random.Random(7))
