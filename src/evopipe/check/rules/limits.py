"""Static limits: step counts, sub-pipeline depth and cycles, sub-pipeline files that exist."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from evopipe.check.context import Context
from evopipe.check.registry import Rule, example, with_fix
from evopipe.check.scopes import Analysis, analyse
from evopipe.spec.errors import Diagnostic, SpecError
from evopipe.spec.loader import PathKey, load_file
from evopipe.spec.pipeline import Pipeline

_MAX_FILES = 200


@dataclass(frozen=True)
class SubRef:
    """A sub-pipeline used by this document: where, how deep, and what it amounts to."""

    where: PathKey
    depth: int
    """Depth of the sub-pipeline itself (1 = run directly by the checked file)."""
    file: Path | None
    deepest: int
    """Deepest nesting reached through it (counting from the checked file)."""
    steps: int
    cycle: tuple[str, ...] = ()
    error: str = ""


def _refs(
    ctx: Context, analysis: Analysis, base: Path, stack: tuple[Path, ...], offset: int
) -> list[SubRef]:
    """Sub-pipelines of one analysed document, file references followed recursively."""
    out: list[SubRef] = []
    for at in analysis.steps:
        value = vars(at.step).get("pipeline")
        depth = offset + at.scope.depth + 1
        where = (*at.where, "pipeline")
        if isinstance(value, Pipeline):
            out.append(SubRef(where, depth, None, depth, 0))
        elif isinstance(value, str):
            out.append(_file_ref(ctx, base / value, where, depth, stack))
    return out


def _file_ref(
    ctx: Context, path: Path, where: PathKey, depth: int, stack: tuple[Path, ...]
) -> SubRef:
    resolved = path.resolve()
    if resolved in stack:
        names = (*(p.name for p in stack[stack.index(resolved) :]), resolved.name)
        return SubRef(where, depth, resolved, depth, 0, cycle=names)
    files: dict[Path, object] = ctx.memo.setdefault("sub_files", {})
    if resolved not in files:
        if len(files) >= _MAX_FILES:
            return SubRef(where, depth, resolved, depth, 0)
        try:
            files[resolved] = load_file(resolved).pipeline
        except SpecError as exc:
            files[resolved] = exc
    loaded = files[resolved]
    if isinstance(loaded, SpecError):
        first = loaded.diagnostics[0] if loaded.diagnostics else None
        reason = first.message if first is not None else "invalid"
        return SubRef(where, depth, resolved, depth, 0, error=reason)
    assert isinstance(loaded, Pipeline)
    analysis = analyse(loaded)
    inner = _refs(ctx, analysis, resolved.parent, (*stack, resolved), depth)
    deepest = max([depth, *(r.deepest for r in inner)])
    steps = len(analysis.steps) + sum(r.steps for r in inner)
    cycle = next((r.cycle for r in inner if r.cycle), ())
    return SubRef(where, depth, resolved, deepest, steps, cycle=cycle)


def _has_subs(ctx: Context) -> bool:
    return any(vars(at.step).get("pipeline") is not None for at in ctx.analysis.steps)


def sub_refs(ctx: Context) -> list[SubRef]:
    cached = ctx.memo.get("sub_refs")
    if cached is None:
        cached = []
        if _has_subs(ctx):
            own: tuple[Path, ...] = ()
            if ctx.source is not None and not ctx.source.path.startswith("<"):
                own = (Path(ctx.source.path).resolve(),)
            cached = _refs(ctx, ctx.analysis, ctx.base_dir, own, 0)
        ctx.memo["sub_refs"] = cached
    return list(cached)


def limits_exceeded(ctx: Context) -> Iterator[Diagnostic]:
    """Statically over `limits`: more steps than `max_steps` (nested and sub-pipeline steps
    count), sub-pipelines nested deeper than `max_depth`, or sub-pipeline files that include
    each other."""
    limits = ctx.pipeline.limits
    refs = sub_refs(ctx)
    for ref in refs:
        if ref.cycle:
            yield ctx.diag(
                "limits-exceeded",
                "sub-pipeline cycle: " + " → ".join(ref.cycle),
                ref.where,
                hint="a pipeline file must not (indirectly) run itself",
            )
        elif ref.deepest > limits.max_depth:
            yield ctx.diag(
                "limits-exceeded",
                f"sub-pipelines nest {ref.deepest} deep here, over limits.max_depth "
                f"({limits.max_depth})",
                ref.where,
                hint="raise limits.max_depth or flatten the sub-pipelines",
            )
    if limits.max_steps is not None:
        total = len(ctx.analysis.steps) + sum(r.steps for r in refs)
        if total > limits.max_steps:
            yield ctx.diag(
                "limits-exceeded",
                f"the pipeline has {total} steps (nested and sub-pipeline steps included), "
                f"over limits.max_steps ({limits.max_steps})",
                ("limits", "max_steps"),
                hint="raise limits.max_steps or remove steps",
            )


def pipeline_file_missing(ctx: Context) -> Iterator[Diagnostic]:
    """A `pipeline:` path names a file that does not exist or does not load."""
    for ref in sub_refs(ctx):
        if ref.error:
            yield ctx.diag(
                "pipeline-file-missing",
                f"sub-pipeline {str(ref.file)!r} cannot be used: {ref.error}",
                ref.where,
                hint="paths are relative to the pipeline file's directory",
            )


RULES = (
    Rule(
        "limits-exceeded",
        "Statically over `limits`: more steps than `max_steps` (nested and sub-pipeline steps "
        "count), sub-pipelines nested deeper than `max_depth`, or sub-pipeline files that run "
        "each other.",
        limits_exceeded,
        *with_fix(
            example(
                """
                apiVersion: evopipe/v1
                name: story
                limits:
                  max_steps: 2
                steps:
                  - {id: plot, kind: llm, prompt: Invent a plot.}
                  - {id: draft, kind: llm, prompt: "Write it: {{ steps.plot.output }}"}
                  - {id: edit, kind: llm, prompt: "Edit it: {{ steps.draft.output }}"}
                """,
                4,
                14,
            ),
            ("max_steps: 2", "max_steps: 3"),
        ),
    ),
    Rule(
        "pipeline-file-missing",
        "A `pipeline:` path names a file that does not exist or does not load.",
        pipeline_file_missing,
        *with_fix(
            example(
                """
                apiVersion: evopipe/v1
                name: report
                steps:
                  - id: summary
                    kind: pipeline
                    pipeline: parts/summarise.yaml
                    inputs: {text: Otters hold hands while sleeping.}
                """,
                6,
                15,
            ),
            files={
                "parts/summarise.yaml": """
                    apiVersion: evopipe/v1
                    name: summarise
                    inputs:
                      text: {type: string}
                    outputs:
                      summary: "{{ steps.summarise.output }}"
                    steps:
                      - id: summarise
                        kind: llm
                        prompt: "Summarise in one line: {{ inputs.text }}"
                """
            },
        ),
    ),
)
