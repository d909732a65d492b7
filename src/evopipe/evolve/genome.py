"""The genome of a candidate: its spec, its id (the canonical hash) and its derived traits.

A candidate is plain data — a :class:`~evopipe.spec.Pipeline`. Everything here is a pure
function of the spec, so two identical specs always get the same id, diff and traits.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

from evopipe.spec import Pipeline, spec_hash, to_yaml
from evopipe.spec.kinds import LlmStep
from evopipe.spec.templates import references


def candidate_id(pipeline: Pipeline) -> str:
    """A candidate's id: the sha256 of its canonical form (``evopipe.spec.spec_hash``)."""
    return spec_hash(pipeline)


def short_id(cid: str) -> str:
    return cid[:12]


def canonical_yaml(pipeline: Pipeline) -> str:
    """Canonical YAML (defaults left out) in which every step keeps its ``kind``."""
    return to_yaml(pipeline)


def spec_diff(before: Pipeline, after: Pipeline) -> str:
    """Unified diff of the two specs' canonical YAML (empty when equal)."""
    lines = difflib.unified_diff(
        canonical_yaml(before).splitlines(keepends=True),
        canonical_yaml(after).splitlines(keepends=True),
        fromfile=f"a/{short_id(candidate_id(before))}",
        tofile=f"b/{short_id(candidate_id(after))}",
    )
    return "".join(lines)


def step_dependencies(pipeline: Pipeline) -> dict[str, set[str]]:
    """Top-level step id → ids of top-level steps it depends on (``needs`` + template refs)."""
    ids = {s.id for s in pipeline.steps}
    deps: dict[str, set[str]] = {}
    for step in pipeline.steps:
        found = set(step.needs)
        for text in step.templates().values():
            for ref in references(text):
                if ref.root == "steps" and ref.path and isinstance(ref.path[0], str):
                    found.add(ref.path[0])
        deps[step.id] = {d for d in found if d in ids and d != step.id}
    return deps


def levels(pipeline: Pipeline) -> list[list[str]]:
    """Steps grouped by depth in the dependency DAG (steps of one level may run together)."""
    deps = step_dependencies(pipeline)
    depth: dict[str, int] = {}

    def visit(sid: str, seen: frozenset[str]) -> int:
        if sid in depth:
            return depth[sid]
        if sid in seen:  # a cycle: the checker reports it; treat as level 0 here
            return 0
        d = 1 + max((visit(x, seen | {sid}) for x in deps[sid]), default=-1)
        depth[sid] = d
        return d

    for step in pipeline.steps:
        visit(step.id, frozenset())
    grouped: dict[int, list[str]] = {}
    for sid, d in depth.items():
        grouped.setdefault(d, []).append(sid)
    return [sorted(grouped[d]) for d in sorted(grouped)]


@dataclass(frozen=True)
class Traits:
    """Derived, comparable features of a spec (used for diversity and innovation)."""

    steps: int
    kinds: tuple[str, ...]
    models: tuple[str, ...]
    parallelism: int
    prompt_tokens: int
    structure: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Traits:
        return cls(
            steps=int(data["steps"]),
            kinds=tuple(data["kinds"]),
            models=tuple(data["models"]),
            parallelism=int(data["parallelism"]),
            prompt_tokens=int(data["prompt_tokens"]),
            structure=str(data["structure"]),
        )


def structure_signature(pipeline: Pipeline) -> str:
    """A hash of the pipeline's shape: kinds (and tools) in dependency order, prompts ignored."""
    deps = step_dependencies(pipeline)
    shape: list[Any] = []
    for level in levels(pipeline):
        for sid in level:
            step = pipeline.step(sid)
            label = step.kind + (f":{getattr(step, 'tool', '')}" if step.kind == "tool" else "")
            parents = sorted(pipeline.step(d).kind for d in deps[sid])
            shape.append([label, parents])
    return hashlib.sha256(json.dumps(shape).encode()).hexdigest()[:16]


def traits(pipeline: Pipeline) -> Traits:
    """Steps, kinds, models, parallelism (widest level) and approximate prompt tokens."""
    models: set[str] = set()
    prompt_chars = 0
    for step in pipeline.steps:
        if isinstance(step, LlmStep):
            model = step.model or pipeline.defaults.model
            if model:
                models.add(model)
            prompt_chars += len(step.prompt) + len(step.system or "")
            prompt_chars += sum(len(d.input) + len(d.output) for d in step.demos)
    return Traits(
        steps=len(pipeline.steps),
        kinds=tuple(sorted({s.kind for s in pipeline.steps})),
        models=tuple(sorted(models)),
        parallelism=max((len(level) for level in levels(pipeline)), default=0),
        prompt_tokens=prompt_chars // 4,
        structure=structure_signature(pipeline),
    )
