"""Dependency graph of one raw step scope, and the unambiguous cycle fix."""

from __future__ import annotations

from evopipe.genesis.dataflow import Raw, step_ids, step_reads


def edges(steps: list[Raw]) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(all edges, edges required by data reads): step → the steps it depends on."""
    ids = set(step_ids(steps))
    every: dict[str, set[str]] = {i: set() for i in ids}
    required: dict[str, set[str]] = {i: set() for i in ids}
    for step in steps:
        sid = step.get("id")
        if not isinstance(sid, str):
            continue
        needs = step.get("needs")
        for need in needs if isinstance(needs, list) else []:
            if isinstance(need, str) and need in ids:
                every[sid].add(need)
        for read in step_reads(step):
            if read.step in ids:
                every[sid].add(read.step)
                required[sid].add(read.step)
    return every, required


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components that contain a cycle (Tarjan), in a stable order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            comp: list[str] = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                comp.append(top)
                if top == node:
                    break
            if len(comp) > 1 or node in graph.get(node, ()):
                found.append(sorted(comp))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def break_unrequired_cycles(steps: list[Raw]) -> list[str]:
    """Remove explicit ``needs`` edges inside a cycle that no template or condition requires,
    but only when the data reads alone are acyclic there (otherwise the fix is ambiguous)."""
    every, required = edges(steps)
    notes: list[str] = []
    by_id = {s["id"]: s for s in steps if isinstance(s.get("id"), str)}
    for comp in cycles(every):
        members = set(comp)
        sub_required = {n: required[n] & members for n in comp}
        if cycles(sub_required):
            continue
        for sid in comp:
            step = by_id[sid]
            needs = step.get("needs")
            if not isinstance(needs, list):
                continue
            drop = [
                n for n in needs if isinstance(n, str) and n in members and n not in required[sid]
            ]
            if drop:
                kept = [n for n in needs if n not in drop]
                if kept:
                    step["needs"] = kept
                else:
                    del step["needs"]
                notes += [f"{sid}: removed needs {n!r} (cycle, no data read)" for n in drop]
    return notes
