"""Lineage: the genealogy of an evolution run (or one candidate's ancestry) as tree, dot, JSON."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from evopipe.evolve.genome import short_id
from evopipe.evolve.repository import EvolutionNotFoundError, EvolutionRepository, Member


@dataclass(frozen=True)
class Node:
    member: Member
    quality: float | None
    objectives: dict[str, float]


def lineage(
    repo: EvolutionRepository, ident: str, dataset_key: str | None = None
) -> dict[str, Any]:
    """Genealogy of run ``ident``, or the ancestry of candidate ``ident`` (an id prefix)."""
    try:
        info = repo.get_run(ident)
        run_id, focus = ident, None
    except EvolutionNotFoundError:
        focus = repo.find_candidate(ident)
        runs = repo.runs_with_candidate(focus)
        if not runs:
            raise
        run_id = runs[-1]
        info = repo.get_run(run_id)
    members = repo.members(run_id)
    split = info["config"]["config"].get("selection_split", "val")
    key = dataset_key or info["config"].get("dataset_key", "")
    nodes: list[dict[str, Any]] = []
    keep = _ancestry(members, focus) if focus else {m.candidate_id for m in members}
    for m in members:
        if m.candidate_id not in keep:
            continue
        record = repo.get_evaluation(m.candidate_id, key, split) if key else None
        nodes.append(
            {
                "id": m.candidate_id,
                "generation": m.generation,
                "parents": list(m.parents),
                "operators": list(m.operators),
                "quality": record.quality if record else None,
                "objectives": record.objectives() if record else {},
                "diff": m.diff,
            }
        )
    summary = info.get("summary") or {}
    return {
        "run_id": run_id,
        "pipeline": info["pipeline_name"],
        "seed_id": info["seed_id"],
        "champion_id": summary.get("champion_id"),
        "focus": focus,
        "nodes": nodes,
    }


def _ancestry(members: list[Member], focus: str) -> set[str]:
    by_id = {m.candidate_id: m for m in members}
    keep: set[str] = set()
    stack = [focus]
    while stack:
        cid = stack.pop()
        if cid in keep or cid not in by_id:
            continue
        keep.add(cid)
        stack.extend(by_id[cid].parents)
    return keep


def _label(node: dict[str, Any]) -> str:
    q = node["quality"]
    score = f"{q:.3f}" if q is not None else "?"
    ops = "+".join(node["operators"])
    return f"{short_id(node['id'])} [{ops}] quality={score} gen={node['generation']}"


def render_tree(data: dict[str, Any]) -> str:
    children: dict[str, list[dict[str, Any]]] = {}
    roots: list[dict[str, Any]] = []
    ids = {n["id"] for n in data["nodes"]}
    for node in data["nodes"]:
        parents = [p for p in node["parents"] if p in ids]
        if parents:
            children.setdefault(parents[0], []).append(node)
        else:
            roots.append(node)
    lines = [f"lineage of {data['pipeline']} (run {data['run_id']})"]

    def walk(node: dict[str, Any], prefix: str, last: bool) -> None:
        mark = "*" if node["id"] == data.get("champion_id") else " "
        lines.append(f"{prefix}{'└── ' if last else '├── '}{mark}{_label(node)}")
        kids = children.get(node["id"], [])
        for i, kid in enumerate(kids):
            walk(kid, prefix + ("    " if last else "│   "), i == len(kids) - 1)

    for i, root in enumerate(roots):
        walk(root, "", i == len(roots) - 1)
    if data.get("champion_id"):
        lines.append("* champion")
    return "\n".join(lines)


def render_dot(data: dict[str, Any]) -> str:
    out = ["digraph lineage {", "  rankdir=LR;", "  node [shape=box, fontname=monospace];"]
    for node in data["nodes"]:
        style = ", style=bold" if node["id"] == data.get("champion_id") else ""
        label = _label(node).replace('"', "'")
        out.append(f'  "{short_id(node["id"])}" [label="{label}"{style}];')
        for parent in node["parents"]:
            ops = "+".join(node["operators"])
            out.append(f'  "{short_id(parent)}" -> "{short_id(node["id"])}" [label="{ops}"];')
    out.append("}")
    return "\n".join(out)


def render_json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, sort_keys=True, default=str)


RENDERERS: dict[str, Callable[[dict[str, Any]], str]] = {
    "tree": render_tree,
    "dot": render_dot,
    "json": render_json,
}
