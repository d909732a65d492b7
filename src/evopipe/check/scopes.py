"""Scopes and sites: where each step lives and which templates/conditions read what.

A *scope* is a list of steps that form one DAG: the pipeline's ``steps``, the inner ``steps`` of
a map or loop body, or the steps of an inline sub-pipeline (an *isolated* scope: it sees only its
own inputs). A *site* is one template or condition string together with the names it may use
(its roots) and the chain of (scope, reading step) pairs from the innermost scope outwards, which
is how a ``steps.<id>`` read is resolved: the innermost scope that has the id wins, and the read
becomes a dependency of the reading step at that level (an inner step reading an outer step makes
the map/loop step that contains it depend on that outer step, as the planner does).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel

from evopipe.spec.base import StepBase
from evopipe.spec.kinds import LoopStep, MapStep, PipelineStep
from evopipe.spec.loader import PathKey
from evopipe.spec.pipeline import Pipeline

BASE_ROOTS = frozenset({"inputs", "steps", "run"})
"""Names every template may read."""

_NOT_TEMPLATES = frozenset(
    {"id", "kind", "description", "needs", "when", "retry", "timeout_s", "cache", "output"}
)
_TEMPLATE_MARKS = ("{{", "{%")


@dataclass(eq=False)
class Scope:
    """One list of steps forming a DAG."""

    steps: tuple[StepBase, ...]
    where: PathKey
    """Location of the ``steps`` list."""
    pipeline: Pipeline
    """The document whose ``inputs`` and ``personas`` apply here."""
    roots: frozenset[str]
    parent: Scope | None = None
    container: str | None = None
    """Id of the map/loop step (in ``parent``) owning this body."""
    isolated: bool = True
    """An inline or top-level pipeline: outer steps are not visible."""
    depth: int = 0
    """Sub-pipeline nesting depth (0 = the checked file)."""
    ids: dict[str, int] = field(default_factory=dict)
    """Step id → index of its first occurrence."""

    def step_where(self, index: int) -> PathKey:
        return (*self.where, index)

    def chain_for(self, reader: str | None) -> tuple[tuple[Scope, str | None], ...]:
        """(scope, reading step) pairs from this scope outwards, for resolving ``steps.<id>``."""
        out: list[tuple[Scope, str | None]] = [(self, reader)]
        scope = self
        while not scope.isolated and scope.parent is not None:
            out.append((scope.parent, scope.container))
            scope = scope.parent
        return tuple(out)


@dataclass(frozen=True, eq=False)
class Site:
    """One template or condition string and the context it is evaluated in."""

    where: PathKey
    text: str
    kind: Literal["template", "condition"]
    roots: frozenset[str]
    chain: tuple[tuple[Scope, str | None], ...]
    pipeline: Pipeline

    @property
    def scope(self) -> Scope:
        return self.chain[0][0]


@dataclass(frozen=True, eq=False)
class StepAt:
    """A step with its scope and location."""

    scope: Scope
    index: int
    step: StepBase

    @property
    def where(self) -> PathKey:
        return self.scope.step_where(self.index)


@dataclass(eq=False)
class Analysis:
    """Every scope, step and site of a pipeline document (inline sub-pipelines included)."""

    root: Scope
    scopes: list[Scope] = field(default_factory=list)
    steps: list[StepAt] = field(default_factory=list)
    sites: list[Site] = field(default_factory=list)
    all_ids: set[str] = field(default_factory=set)


def analyse(pipeline: Pipeline) -> Analysis:
    """Walk a pipeline into scopes, steps and sites."""
    root = _new_scope(pipeline.steps, ("steps",), pipeline, BASE_ROOTS, None, None, True, 0)
    analysis = Analysis(root)
    _walk_pipeline(analysis, root, ())
    return analysis


def _new_scope(
    steps: list[Any],
    where: PathKey,
    pipeline: Pipeline,
    roots: frozenset[str],
    parent: Scope | None,
    container: str | None,
    isolated: bool,
    depth: int,
) -> Scope:
    scope = Scope(tuple(steps), where, pipeline, roots, parent, container, isolated, depth)
    for i, step in enumerate(scope.steps):
        scope.ids.setdefault(step.id, i)
    return scope


def _walk_pipeline(analysis: Analysis, scope: Scope, where: PathKey) -> None:
    """Register a pipeline's scope, its outputs and its steps."""
    for name, value in scope.pipeline.outputs.items():
        for loc, text in template_strings(value, (*where, "outputs", name)):
            _site(analysis, loc, text, "template", scope.roots, scope.chain_for(None), scope)
    _walk_scope(analysis, scope)


def _walk_scope(analysis: Analysis, scope: Scope) -> None:
    analysis.scopes.append(scope)
    sites = analysis.sites
    roots, pipeline = scope.roots, scope.pipeline
    for index, step in enumerate(scope.steps):
        analysis.all_ids.add(step.id)
        analysis.steps.append(StepAt(scope, index, step))
        where = (*scope.where, index)
        chain = scope.chain_for(step.id)
        for loc, text in _step_conditions(step, where):
            sites.append(Site(loc, text, "condition", roots, chain, pipeline))
        for loc, text in _own_templates(step, where):
            sites.append(Site(loc, text, "template", roots, chain, pipeline))
        nested = _NESTED.get(step.kind)
        if nested is not None:
            nested(analysis, scope, step, where)


def _site(
    analysis: Analysis,
    where: PathKey,
    text: str,
    kind: Literal["template", "condition"],
    roots: frozenset[str],
    chain: tuple[tuple[Scope, str | None], ...],
    scope: Scope,
) -> None:
    analysis.sites.append(Site(where, text, kind, roots, chain, scope.pipeline))


def _step_conditions(step: StepBase, where: PathKey) -> Iterator[tuple[PathKey, str]]:
    """Conditions evaluated in the step's own scope (``until`` is handled with the body)."""
    if step.when is None and type(step).conditions is StepBase.conditions:
        return  # the common case: no condition at all
    for loc, text in step.conditions().items():
        if loc == "until":
            continue
        yield (*where, *_dotted_to_path(loc)), text


@cache
def _dotted_to_path(loc: str) -> PathKey:
    """``cases[1].when`` → ``("cases", 1, "when")``."""
    out: list[str | int] = []
    for part in loc.split("."):
        name, _, rest = part.partition("[")
        if name:
            out.append(name)
        if rest:
            out.extend(int(i) for i in rest.rstrip("]").split("]["))
    return tuple(out)


def _own_templates(step: StepBase, where: PathKey) -> Iterator[tuple[PathKey, str]]:
    for name, alias in _template_fields(type(step)):
        value = getattr(step, name)
        if value:
            yield from template_strings(value, (*where, alias))


@cache
def _template_fields(cls: type[StepBase]) -> tuple[tuple[str, str], ...]:
    """(attribute, key in the file) of the fields of a step kind that may hold templates."""
    nested = cls.nested_fields()
    return tuple(
        (name, info.alias or name)
        for name, info in cls.model_fields.items()
        if name not in _NOT_TEMPLATES and name not in nested
    )


def template_strings(value: Any, where: PathKey) -> Iterator[tuple[PathKey, str]]:
    """Every string holding a template mark inside a value, with its location."""
    if isinstance(value, str):
        if _TEMPLATE_MARKS[0] in value or _TEMPLATE_MARKS[1] in value:
            yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from template_strings(item, (*where, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from template_strings(item, (*where, i))
    elif isinstance(value, BaseModel):
        for name, info in type(value).model_fields.items():
            yield from template_strings(getattr(value, name), (*where, info.alias or name))


# --------------------------------------------------------------------------- nested bodies


def _body(
    analysis: Analysis,
    scope: Scope,
    step: MapStep | LoopStep,
    where: PathKey,
    extra: frozenset[str],
    after: dict[str, tuple[str | None, Literal["template", "condition"]]],
) -> None:
    """A map/loop body: inner steps (a child scope) or a sub-pipeline, plus the templates and
    conditions evaluated after each item/iteration (``collect``, ``until``)."""
    roots = scope.roots | extra
    chain = scope.chain_for(step.id)
    inner: Scope | None = None
    if step.steps is not None:
        inner = _new_scope(
            step.steps, (*where, "steps"), scope.pipeline, roots, scope, step.id, False, scope.depth
        )
        _walk_scope(analysis, inner)
    _sub_pipeline(analysis, scope, step.pipeline, (*where, "pipeline"))
    for loc, text in template_strings(step.inputs, (*where, "inputs")):
        _site(analysis, loc, text, "template", roots, chain, scope)
    after_roots = roots if inner is not None else roots | {"outputs"}
    after_chain = inner.chain_for(None) if inner is not None else chain
    for name, (value, kind) in after.items():
        if value is None:
            continue
        loc = (*where, name)
        if kind == "template":
            for tloc, text in template_strings(value, loc):
                _site(analysis, tloc, text, kind, after_roots, after_chain, scope)
        else:
            _site(analysis, loc, value, kind, after_roots, after_chain, scope)


def _map(analysis: Analysis, scope: Scope, step: StepBase, where: PathKey) -> None:
    assert isinstance(step, MapStep)
    extra = frozenset({"item", "index"})
    _body(analysis, scope, step, where, extra, {"collect": (step.collect, "template")})


def _loop(analysis: Analysis, scope: Scope, step: StepBase, where: PathKey) -> None:
    assert isinstance(step, LoopStep)
    _body(analysis, scope, step, where, frozenset({"loop"}), {"until": (step.until, "condition")})


def _pipeline(analysis: Analysis, scope: Scope, step: StepBase, where: PathKey) -> None:
    assert isinstance(step, PipelineStep)
    _sub_pipeline(analysis, scope, step.pipeline, (*where, "pipeline"))


def _sub_pipeline(
    analysis: Analysis, scope: Scope, value: str | Pipeline | None, where: PathKey
) -> None:
    """An inline sub-pipeline is an isolated scope of its own (files are checked on their own)."""
    if not isinstance(value, Pipeline):
        return
    inner = _new_scope(
        value.steps, (*where, "steps"), value, BASE_ROOTS, scope, None, True, scope.depth + 1
    )
    _walk_pipeline(analysis, inner, where)


_NESTED: dict[str, Callable[[Analysis, Scope, StepBase, PathKey], None]] = {
    "map": _map,
    "loop": _loop,
    "pipeline": _pipeline,
}
"""Kinds whose config holds a body with its own scope."""
