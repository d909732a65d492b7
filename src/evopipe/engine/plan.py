"""Spec → immutable plan: steps with resolved kinds, dependencies and a topological order.

Dependencies of a step are its ``needs`` plus every ``steps.<id>`` its templates and conditions
read (including those of its inner steps, which read the outer scope), plus the switch that
routes to it. Building fails with a :class:`SpecError` on unknown kinds, unknown step
references, duplicate ids and cycles — nothing runs from a broken spec.
"""

from __future__ import annotations

import heapq
import json
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from evopipe.check.options import CheckOptions
from evopipe.spec.base import Retry, StepBase
from evopipe.spec.conditions import Condition, parse_condition
from evopipe.spec.errors import ConditionError, Diagnostic, SpecError, TemplateError
from evopipe.spec.pipeline import Pipeline
from evopipe.spec.templates import references
from evopipe.steps import StepKind, UnknownKindError, get_kind


@dataclass(frozen=True, slots=True)
class PlannedStep:
    id: str
    index: int
    config: StepBase
    kind: StepKind
    deps: tuple[str, ...]
    dependants: tuple[str, ...]
    gates: tuple[str, ...]
    """Switch steps that route to this step: it runs only if each of them chose it."""
    when: Condition | None
    retry: Retry
    """The step's retry policy (default: 3 attempts for model kinds, 1 otherwise)."""
    timeout_s: float | None
    """The step's own timeout (model kinds fall back to ``defaults.timeout_s`` at run time)."""
    uses_model: bool
    instant: bool
    """The kind never waits (``instant = True``: set, switch, tool): recorded by one event."""
    container: bool
    """Runs other steps (map, loop, pipeline, generate): holds no global concurrency slot."""
    needs_trust: bool
    """Refused under an untrusted policy (python, shell, http; plugins unless they say not)."""


_NO_RETRY = Retry(max_attempts=1)
_DEFAULT_RETRY = Retry()


def _retry_of(step: StepBase) -> Retry:
    if step.retry is not None:
        return step.retry
    return _DEFAULT_RETRY if step.kind_info.calls_model else _NO_RETRY


@dataclass(frozen=True, slots=True)
class Plan:
    """An immutable, checked execution plan of one scope (a pipeline or an inner step list)."""

    steps: dict[str, PlannedStep]
    order: tuple[str, ...]
    """A topological order (ties broken by position in the file)."""
    last: str
    """Id of the step written last (its output is a scope's default result)."""


class PlanCache:
    """Compiled plans per pipeline object (and per inner step list), so that running the same
    pipeline again does not re-plan it. Lives in :class:`~evopipe.engine.types.Services`."""

    def __init__(self) -> None:
        self._plans: dict[int, tuple[weakref.ref[Any] | None, object, Plan]] = {}
        self._hashes: dict[tuple[int, str], tuple[weakref.ref[Any], str]] = {}

    def pipeline(self, pipeline: Pipeline, check: CheckOptions | None = None) -> Plan:
        """The plan of ``pipeline``; built (and the pipeline checked with ``check``, when
        given) the first time only."""
        hit = self._plans.get(id(pipeline))
        if hit is not None and hit[0] is not None and hit[0]() is pipeline:
            return hit[2]
        plan = build_plan(pipeline)
        if check is not None:
            refuse_if_invalid(pipeline, check)
        self._remember(pipeline, plan)
        return plan

    def spec_hash(self, pipeline: Pipeline) -> str:
        """The pipeline's spec hash, computed once per pipeline object (pipelines are frozen)."""
        return self._memo(pipeline, "hash")

    def spec_json(self, pipeline: Pipeline) -> str:
        """The spec as stored with each run (all fields), computed once per pipeline object."""
        return self._memo(pipeline, "json")

    def _memo(self, pipeline: Pipeline, what: str) -> str:
        key = (id(pipeline), what)
        hit = self._hashes.get(key)
        if hit is not None and hit[0]() is pipeline:
            return hit[1]
        if what == "hash":
            from evopipe.spec.canonical import spec_hash

            value = spec_hash(pipeline)
        else:
            data = pipeline.model_dump(mode="json", by_alias=True)
            value = json.dumps(data, sort_keys=True)
        self._hashes[key] = (weakref.ref(pipeline, lambda _r: self._hashes.pop(key, None)), value)
        return value

    def scope(self, steps: list[StepBase], outer_ids: frozenset[str], where: str) -> Plan:
        hit = self._plans.get(id(steps))
        if hit is not None and hit[1] is steps:
            return hit[2]
        plan = build_scope(steps, outer_ids=outer_ids, where=where)
        if len(self._plans) > 10_000:
            self._plans.clear()
        self._plans[id(steps)] = (None, steps, plan)
        return plan

    def _remember(self, pipeline: Pipeline, plan: Plan) -> None:
        key = id(pipeline)
        if len(self._plans) > 10_000:
            self._plans.clear()
        self._plans[key] = (
            weakref.ref(pipeline, lambda _r: self._plans.pop(key, None)),
            None,
            plan,
        )


def refuse_if_invalid(pipeline: Pipeline, options: CheckOptions) -> None:
    """Run the checker (:func:`evopipe.check.check_pipeline`); raise :class:`SpecError` with
    its error diagnostics. Warnings do not stop a run."""
    from evopipe.check import check_pipeline

    errors = [d for d in check_pipeline(pipeline, options=options) if d.severity == "error"]
    if errors:
        raise SpecError(errors)


def build_plan(pipeline: Pipeline) -> Plan:
    """The plan of a pipeline's top-level steps; also checks outputs' step references."""
    plan = build_scope(pipeline.steps, outer_ids=frozenset(), where="steps")
    problems: list[Diagnostic] = []
    for name, value in pipeline.outputs.items():
        for ref_id in _step_refs_of_value(value, f"outputs.{name}", problems):
            if ref_id not in plan.steps:
                problems.append(
                    _diag(
                        "unknown-step",
                        f"output {name!r} reads unknown step {ref_id!r}",
                        f"outputs.{name}",
                    )
                )
    if problems:
        raise SpecError(problems)
    return plan


def build_scope(steps: Sequence[StepBase], *, outer_ids: frozenset[str], where: str) -> Plan:
    """Plan one list of steps; references to ``outer_ids`` are allowed and are not deps."""
    problems: list[Diagnostic] = []
    ids: dict[str, int] = {}
    for i, step in enumerate(steps):
        if step.id in ids:
            problems.append(
                _diag("duplicate-step-id", f"step id {step.id!r} appears twice", f"{where}[{i}].id")
            )
        ids.setdefault(step.id, i)
    kinds: dict[str, StepKind] = {}
    deps: dict[str, list[str]] = {}
    gates: dict[str, list[str]] = {s.id: [] for s in steps}
    whens: dict[str, Condition | None] = {}
    for i, step in enumerate(steps):
        loc = f"{where}[{i}]"
        try:
            kinds[step.id] = get_kind(step.kind)
        except UnknownKindError as exc:
            problems.append(_diag("unknown-kind", str(exc), f"{loc}.kind"))
        whens[step.id] = _parse_when(step, loc, problems)
        found = _dependencies(step, ids, outer_ids, loc, problems)
        deps[step.id] = found
        for target in _switch_targets(step):
            if target not in ids:
                problems.append(
                    _diag(
                        "unknown-step",
                        f"switch {step.id!r} routes to unknown step {target!r}",
                        loc,
                    )
                )
            elif target == step.id:
                problems.append(_diag("dag-cycle", f"switch {step.id!r} routes to itself", loc))
            else:
                gates[target].append(step.id)
    for target, switches in gates.items():
        for sw in switches:
            if sw not in deps[target]:
                deps[target].append(sw)
    if problems:
        raise SpecError(problems)
    order = _toposort([s.id for s in steps], deps, where)
    dependants: dict[str, list[str]] = {s.id: [] for s in steps}
    for sid in order:
        for d in deps[sid]:
            dependants[d].append(sid)
    planned = {
        sid: _planned(
            steps[ids[sid]],
            ids[sid],
            kinds[sid],
            deps[sid],
            dependants[sid],
            gates[sid],
            whens[sid],
        )
        for sid in order
    }
    return Plan(steps=planned, order=tuple(order), last=steps[-1].id)


def _planned(
    step: StepBase,
    index: int,
    kind: StepKind,
    deps: list[str],
    dependants: list[str],
    gates: list[str],
    when: Condition | None,
) -> PlannedStep:
    info = step.kind_info  # the kind's capabilities, declared once on its config model
    return PlannedStep(
        id=step.id,
        index=index,
        config=step,
        kind=kind,
        deps=tuple(deps),
        dependants=tuple(dependants),
        gates=tuple(dict.fromkeys(gates)),
        when=when,
        retry=_retry_of(step),
        timeout_s=step.timeout_s,
        uses_model=info.calls_model or "model" in type(step).model_fields,
        instant=info.instant,
        container=info.container,
        needs_trust=info.needs_trust,
    )


def _parse_when(step: StepBase, loc: str, problems: list[Diagnostic]) -> Condition | None:
    if not step.when:
        return None
    try:
        return parse_condition(step.when)
    except ConditionError as exc:
        problems.append(_diag("condition-syntax", f"step {step.id!r}: {exc}", f"{loc}.when"))
        return None


def _switch_targets(step: StepBase) -> list[str]:
    targets = getattr(step, "branch_targets", None)
    return list(targets()) if callable(targets) else []


def _dependencies(
    step: StepBase,
    ids: dict[str, int],
    outer_ids: frozenset[str],
    loc: str,
    problems: list[Diagnostic],
) -> list[str]:
    found: list[str] = []
    for n, need in enumerate(step.needs):
        if need not in ids:
            problems.append(
                _diag(
                    "unknown-step",
                    f"step {step.id!r} needs unknown step {need!r}",
                    f"{loc}.needs[{n}]",
                )
            )
        elif need not in found:
            found.append(need)
    inner = _inner_ids(step)
    for ref_id in _step_refs(step, loc, problems):
        if ref_id in ids:
            if ref_id not in found and ref_id != step.id:
                found.append(ref_id)
        elif ref_id not in outer_ids and ref_id not in inner:
            problems.append(
                _diag("unknown-step", f"step {step.id!r} reads unknown step {ref_id!r}", loc)
            )
    if step.id in step.needs:
        problems.append(_diag("dag-cycle", f"step {step.id!r} needs itself", f"{loc}.needs"))
    return found


def _inner_ids(step: StepBase) -> set[str]:
    out: set[str] = set()
    for name in step.nested_fields():
        value = getattr(step, name, None)
        if isinstance(value, list):
            for inner in value:
                if isinstance(inner, StepBase):
                    out.add(inner.id)
                    out |= _inner_ids(inner)
    return out


def _step_refs(step: StepBase, loc: str, problems: list[Diagnostic]) -> Iterator[str]:
    """Ids of steps read by a step's templates and conditions, inner scopes included."""
    for field, text in step.templates().items():
        yield from _template_step_refs(text, f"{loc}.{field}", problems)
    for field, text in step.conditions().items():
        try:
            refs = parse_condition(text).references()
        except ConditionError as exc:
            if field != "when":
                problems.append(
                    _diag("condition-syntax", f"step {step.id!r}: {exc}", f"{loc}.{field}")
                )
            continue
        for ref in refs:
            if ref.root == "steps" and ref.path and isinstance(ref.path[0], str):
                yield ref.path[0]
    for name in step.nested_fields():
        yield from _nested_refs(getattr(step, name, None), f"{loc}.{name}", problems)


def _nested_refs(value: Any, loc: str, problems: list[Diagnostic]) -> Iterator[str]:
    if isinstance(value, StepBase):
        yield from _step_refs(value, loc, problems)
    elif isinstance(value, Pipeline) or value is None:
        return  # an inline sub-pipeline is its own scope: it reads only its inputs
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _nested_refs(item, f"{loc}[{i}]", problems)
    elif isinstance(value, (str, dict)):
        yield from _step_refs_of_value(value, loc, problems)
    elif isinstance(value, BaseModel):
        return


def _step_refs_of_value(value: Any, loc: str, problems: list[Diagnostic]) -> Iterator[str]:
    if isinstance(value, str):
        if "{{" in value or "{%" in value:
            yield from _template_step_refs(value, loc, problems)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _step_refs_of_value(v, f"{loc}.{k}", problems)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _step_refs_of_value(v, f"{loc}[{i}]", problems)


def _template_step_refs(text: str, loc: str, problems: list[Diagnostic]) -> Iterator[str]:
    try:
        refs = references(text)
    except TemplateError as exc:
        problems.append(_diag("template-syntax", str(exc), loc))
        return
    for ref in refs:
        if ref.root == "steps" and ref.path and isinstance(ref.path[0], str):
            yield ref.path[0]


def _toposort(ids: list[str], deps: dict[str, list[str]], where: str) -> list[str]:
    position = {sid: i for i, sid in enumerate(ids)}
    remaining = {sid: len(deps[sid]) for sid in ids}
    dependants: dict[str, list[str]] = {sid: [] for sid in ids}
    for sid in ids:
        for d in deps[sid]:
            dependants[d].append(sid)
    ready = [(position[sid], sid) for sid in ids if remaining[sid] == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        _, sid = heapq.heappop(ready)
        order.append(sid)
        for nxt in dependants[sid]:
            remaining[nxt] -= 1
            if remaining[nxt] == 0:
                heapq.heappush(ready, (position[nxt], nxt))
    if len(order) < len(ids):
        stuck = [sid for sid in ids if remaining[sid] > 0]
        raise SpecError(
            [
                _diag(
                    "dag-cycle", "steps depend on each other in a cycle: " + ", ".join(stuck), where
                )
            ]
        )
    return order


def _diag(rule: str, message: str, where: str) -> Diagnostic:
    return Diagnostic(rule, message, where=where)
