"""One evolution as the dashboard shows it: the genealogy (operators on edges, fitness on
nodes, the champion marked), best and median fitness per generation, the Pareto points
(quality against cost and latency), each operator's success rate, the offspring check
outcomes and the spend in order of generation."""

from __future__ import annotations

import json
import statistics
from collections import Counter
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

if TYPE_CHECKING:
    from evopipe.app.root import App

__all__ = ["evolution_view"]


def _generations(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_gen: dict[int, list[float]] = {}
    for node in nodes:
        if node["quality"] is not None:
            by_gen.setdefault(int(node["generation"]), []).append(float(node["quality"]))
    return [
        {"generation": g, "best": max(qs), "median": statistics.median(qs), "count": len(qs)}
        for g, qs in sorted(by_gen.items())
    ]


def _operators(proposals: list[dict[str, Any]]) -> list[dict[str, Any]]:
    tried: Counter[str] = Counter()
    made: Counter[str] = Counter()
    for p in proposals:
        tried[p["operator"]] += 1
        made[p["operator"]] += 1 if p["child_id"] else 0
    return [
        {"operator": op, "tried": n, "offspring": made[op], "rate": made[op] / n}
        for op, n in sorted(tried.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


def _spend(proposals: list[dict[str, Any]], evaluated: list[Any]) -> list[dict[str, Any]]:
    """Cumulative calls and cost by generation: operator calls plus evaluation calls."""
    per_gen: dict[int, list[float]] = {}
    rows = [(p["generation"], p["calls"], p["cost_usd"]) for p in proposals]
    for generation, calls, cost in [*rows, *evaluated]:
        slot = per_gen.setdefault(int(generation), [0.0, 0.0])
        slot[0] += float(calls or 0)
        slot[1] += float(cost or 0.0)
    out, calls_so_far, cost_so_far = [], 0.0, 0.0
    for g, (c, usd) in sorted(per_gen.items()):
        calls_so_far, cost_so_far = calls_so_far + c, cost_so_far + usd
        out.append({"generation": g, "calls": calls_so_far, "cost_usd": cost_so_far})
    return out


def evolution_view(app: App, evolution_id: str) -> dict[str, Any]:
    tree = json.loads(app.evolutions.lineage(evolution_id, "json"))
    nodes: list[dict[str, Any]] = tree["nodes"]
    with app.store.begin() as conn:
        proposals = [
            dict(r._mapping)
            for r in conn.execute(
                text(
                    "SELECT generation, slot, operator, outcome, child_id, calls, cost_usd "
                    "FROM evo_proposals WHERE run_id = :r ORDER BY generation, slot"
                ),
                {"r": tree["run_id"]},
            )
        ]
        evaluated = conn.execute(
            text(
                "SELECT m.generation, SUM(v.calls), SUM(v.cost_usd) FROM evo_evaluations v "
                "JOIN evo_members m ON m.candidate_id = v.candidate_id WHERE m.run_id = :r "
                "GROUP BY m.generation"
            ),
            {"r": tree["run_id"]},
        ).all()
        run = (
            conn.execute(
                text("SELECT status, config_json, created_at FROM evo_runs WHERE run_id = :r"),
                {"r": tree["run_id"]},
            )
            .one()
            ._mapping
        )
    edges = [
        {"source": parent, "target": n["id"], "label": "+".join(n["operators"]) or "seed"}
        for n in nodes
        for parent in n["parents"]
    ]
    pareto = [
        {
            "id": n["id"],
            "quality": n["quality"],
            "cost": n["objectives"].get("cost"),
            "latency": n["objectives"].get("latency"),
        }
        for n in nodes
        if n["quality"] is not None
    ]
    outcomes = Counter(p["outcome"] for p in proposals)
    return {
        "run_id": tree["run_id"],
        "pipeline": tree["pipeline"],
        "status": run["status"],
        "created_at": run["created_at"],
        "champion_id": tree["champion_id"],
        "nodes": [{k: v for k, v in n.items() if k != "diff"} for n in nodes],
        "edges": edges,
        "generations": _generations(nodes),
        "pareto": pareto,
        "operators": _operators(proposals),
        "outcomes": [{"outcome": k, "count": v} for k, v in outcomes.most_common()],
        "spend": _spend(proposals, [tuple(r) for r in evaluated]),
    }
