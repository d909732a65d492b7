"""Dependency facts shared by the structural and data-flow rules, computed once per check."""

from __future__ import annotations

from dataclasses import dataclass

from evopipe.check.context import Context, Read
from evopipe.check.scopes import Scope
from evopipe.spec.kinds import SwitchStep
from evopipe.spec.loader import PathKey

Edge = tuple[str, PathKey]
"""(id of the step depended on, location of the entry that says so)."""


@dataclass(frozen=True, eq=False)
class StepRead:
    """A ``steps.<id>`` read resolved to the scope that holds ``<id>``.

    ``reader`` is the step of that scope whose dependency the read becomes (None for reads that
    happen after the scope finished: pipeline ``outputs``, map ``collect``, loop ``until``).
    ``scope`` is None when no visible scope holds the id.
    """

    read: Read
    target: str
    scope: Scope | None
    reader: str | None


def step_reads(ctx: Context) -> list[StepRead]:
    """Every ``steps.<id>`` read of every site, resolved through the site's scope chain."""
    cached = ctx.memo.get("step_reads")
    if cached is None:
        cached = [_resolve(read) for read in ctx.reads if _step_id(read) is not None]
        ctx.memo["step_reads"] = cached
    return list(cached)


def _step_id(read: Read) -> str | None:
    ref = read.ref
    if ref.root != "steps" or not ref.path or not isinstance(ref.path[0], str):
        return None
    return ref.path[0]


def _resolve(read: Read) -> StepRead:
    target = read.ref.path[0]
    assert isinstance(target, str)
    for scope, reader in read.site.chain:
        if target in scope.ids:
            return StepRead(read, target, scope, reader)
    return StepRead(read, target, None, None)


def visible(scope: Scope, step_id: str) -> bool:
    """Is ``step_id`` a step of this scope or of an enclosing, non-isolated one?"""
    return any(step_id in s.ids for s, _ in scope.chain_for(None))


def explicit_deps(ctx: Context, scope: Scope) -> dict[str, list[Edge]]:
    """Step id → dependencies written down: ``needs`` (same scope) and switch routes
    (a routed step depends on its switch). First occurrence of duplicate ids only."""
    key = f"deps:{id(scope)}"
    cached = ctx.memo.get(key)
    if cached is not None:
        return dict(cached)
    deps: dict[str, list[Edge]] = {sid: [] for sid in scope.ids}
    for index, step in enumerate(scope.steps):
        if scope.ids[step.id] != index:
            continue
        where = scope.step_where(index)
        for j, need in enumerate(step.needs):
            if need in scope.ids:
                deps[step.id].append((need, (*where, "needs", j)))
        if isinstance(step, SwitchStep):
            for target, loc in route_entries(step, where):
                if target in deps:
                    deps[target].append((step.id, loc))
    ctx.memo[key] = deps
    return dict(deps)


def route_entries(step: SwitchStep, where: PathKey) -> list[tuple[str, PathKey]]:
    """Each target a switch names, with the location of that entry."""
    out: list[tuple[str, PathKey]] = []
    for i, case in enumerate(step.cases):
        out.extend((t, (*where, "cases", i, "then", j)) for j, t in enumerate(case.then))
    out.extend((t, (*where, "default", j)) for j, t in enumerate(step.default))
    return out


def scope_cycles(ctx: Context, scope: Scope) -> list[tuple[list[str], PathKey]]:
    """:func:`find_cycles` of a scope's written dependencies, computed once per check."""
    key = f"cycles:{id(scope)}"
    cached = ctx.memo.get(key)
    if cached is None:
        cached = find_cycles(explicit_deps(ctx, scope))
        ctx.memo[key] = cached
    return list(cached)


def find_cycles(deps: dict[str, list[Edge]]) -> list[tuple[list[str], PathKey]]:
    """Cycles of a dependency graph: (ids around the cycle, location of the closing edge)."""
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    found: list[tuple[list[str], PathKey]] = []
    for start in deps:
        if state.get(start):
            continue
        stack: list[tuple[str, int]] = [(start, 0)]
        path: list[str] = [start]
        state[start] = 1
        while stack:
            node, i = stack[-1]
            edges = deps.get(node, [])
            if i >= len(edges):
                stack.pop()
                path.pop()
                state[node] = 2
                continue
            stack[-1] = (node, i + 1)
            dep, where = edges[i]
            if state.get(dep) == 1:
                found.append(([*path[path.index(dep) :], dep], where))
            elif not state.get(dep):
                state[dep] = 1
                stack.append((dep, 0))
                path.append(dep)
    return found
