"""``generate(request)``: run the genesis pipeline, then check → deterministic repairs → model
repair rounds → (assembly from a pattern) → dry run. Returns a valid pipeline or raises
:class:`GenerationError`; never an invalid pipeline."""

from __future__ import annotations

import asyncio
import copy
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from evopipe.engine import RunOptions, RunResult, Services, run_pipeline
from evopipe.genesis import artifacts, records
from evopipe.genesis.assemble import adapt_pattern, assemble
from evopipe.genesis.errors import GenerationError, MetaLimitExceeded
from evopipe.genesis.limits import MetaBudget, MetaLimits
from evopipe.genesis.memory import reusable
from evopipe.genesis.patterns import LIBRARY_DIR, Pattern, load_patterns
from evopipe.genesis.repairs import DEFAULT_LIMITS, apply_repairs
from evopipe.genesis.result import GenerationResult, Round, Source
from evopipe.genesis.retrieval import Hit, retrieve
from evopipe.genesis.sources import OverlayModels, default_services
from evopipe.genesis.validate import check_text, dry_run, dry_run_diagnostics, spec_yaml, to_text
from evopipe.models.base import Model
from evopipe.spec import Pipeline, load_file
from evopipe.spec.errors import Diagnostic, EvopipeError

Strategy = Literal["auto", "draft", "assemble"]
GENESIS_FILE = LIBRARY_DIR / "genesis.yaml"
REPAIR_FILE = LIBRARY_DIR / "genesis" / "repair.yaml"
DRAFT_PATH = "<draft>"


class _ModelRunFailed(Exception):
    pass


@dataclass
class _Ctx:
    request: str
    services: Services
    model_id: str
    budget: MetaBudget
    hits: list[Hit]
    lessons: Sequence[str] = ()
    analysis: dict[str, Any] | None = None
    rounds: list[Round] = field(default_factory=list)


async def agenerate(
    request: str,
    *,
    model: str | Model | None = None,
    services: Services | None = None,
    max_rounds: int = 3,
    strategy: Strategy | None = None,
    limits: MetaLimits | None = None,
    budget: MetaBudget | None = None,
    depth: int = 0,
    retrieval_fallback: bool = False,
    memory: Sequence[Pattern] = (),
    lessons: Sequence[str] = (),
) -> GenerationResult:
    """Generate a validated pipeline for ``request`` (see the module doc).

    ``strategy`` None picks by model: ``assemble`` for an embedded local model (too weak and
    slow to write whole specs under a grammar), ``auto`` otherwise. With
    ``retrieval_fallback``, when every model round failed, one last round adapts the best
    retrieved pattern without the model's analysis; the failed rounds stay in the result.
    ``memory``: stored pipelines (:func:`evopipe.genesis.memory.memory_patterns`) retrieved
    beside the library; one that served a near-identical task is reused in the first round.
    ``lessons``: the failure museum's notes, shown to the model repair rounds."""
    if not request.strip():
        raise GenerationError("the request is empty", diagnostics=[])
    started = time.monotonic()
    base = services or default_services()
    models = OverlayModels(base.models, model if isinstance(model, Model) else None)
    model_id = model.id if isinstance(model, Model) else (model or base.models.default_model_id)
    budget = budget or MetaBudget(limits or MetaLimits())
    budget.check(depth)
    budget.generations += 1
    ctx = _Ctx(
        request=request,
        services=replace(base, models=models, store=None, base_dir=LIBRARY_DIR),
        model_id=model_id,
        budget=budget,
        hits=retrieve(request, k=3, patterns=(*load_patterns(), *memory) if memory else None),
        lessons=lessons,
    )
    chosen = strategy or _default_strategy(models, model_id)
    try:
        async with asyncio.timeout(max(budget.remaining_s(), 0.001)):
            winner = await _search(ctx, max_rounds, chosen)
            if winner is None and retrieval_fallback and ctx.hits:
                await _round(ctx, "assemble", lambda: _as_future(assemble(request, None, ctx.hits)))
                winner = ctx.rounds[-1] if ctx.rounds[-1].valid else None
    except TimeoutError:
        raise MetaLimitExceeded("timeout", f"generation over {budget.limits.timeout_s} s") from None
    finally:
        duration = time.monotonic() - started
    if winner is None:
        _store(base, ctx, None, duration)
        last = ctx.rounds[-1].diagnostics if ctx.rounds else []
        raise GenerationError(
            f"no valid pipeline after {len(ctx.rounds)} round(s)",
            diagnostics=last,
            rounds=ctx.rounds,
        )
    result = _result(ctx, winner, duration)
    result.generation_id = _store(base, ctx, result, duration)
    return result


def _default_strategy(models: OverlayModels, model_id: str) -> Strategy:
    try:
        local = models.get(model_id).capabilities.local
    except EvopipeError:
        local = False
    return "assemble" if local else "auto"


def generate(request: str, **kwargs: Any) -> GenerationResult:
    """Synchronous :func:`agenerate` (not from inside a running event loop)."""
    return asyncio.run(agenerate(request, **kwargs))


async def _search(ctx: _Ctx, max_rounds: int, strategy: Strategy) -> Round | None:
    remembered = reusable(ctx.request, ctx.hits)
    if remembered is not None:
        reused = adapt_pattern(remembered, ctx.request, None)
        if (await _round(ctx, "assemble", lambda: _as_future(reused))).valid:
            return ctx.rounds[-1]
    if strategy != "assemble":
        await _round(ctx, "draft", lambda: _draft(ctx))
        for _ in range(max_rounds):
            last = ctx.rounds[-1]
            if last.valid:
                return last
            previous = last.repaired or last.draft
            if previous is None:
                await _round(ctx, "draft", lambda: _draft(ctx))
            else:
                await _round(ctx, "repair", _repairer(ctx, previous, last.diagnostics))
        if ctx.rounds[-1].valid:
            return ctx.rounds[-1]
    if strategy == "draft":
        return None
    if ctx.analysis is None:
        await _round(ctx, "assemble", lambda: _analyse_then_assemble(ctx))
    else:
        analysis = ctx.analysis
        await _round(ctx, "assemble", lambda: _as_future(assemble(ctx.request, analysis, ctx.hits)))
    return ctx.rounds[-1] if ctx.rounds[-1].valid else None


def _repairer(
    ctx: _Ctx, previous: dict[str, Any], diags: list[Diagnostic]
) -> Callable[[], Awaitable[dict[str, Any]]]:
    return lambda: _repair(ctx, previous, diags)


async def _as_future(value: dict[str, Any]) -> dict[str, Any]:
    return value


async def _round(
    ctx: _Ctx, source: Source, produce: Callable[[], Awaitable[dict[str, Any]]]
) -> Round:
    started = time.monotonic()
    number = len(ctx.rounds) + 1
    try:
        draft = await produce()
    except _ModelRunFailed as exc:
        diag = Diagnostic("model-failed", str(exc), path=DRAFT_PATH, line=1, column=1)
        done = Round(number, source, None, [diag], diagnostics=[diag], error=str(exc))
    else:
        done = await _judge(number, source, draft, ctx)
    done.duration_s = time.monotonic() - started
    ctx.rounds.append(done)
    return done


async def _judge(number: int, source: Source, draft: dict[str, Any], ctx: _Ctx) -> Round:
    candidate = complete_draft(draft, ctx.request)
    pipeline, errors = await _evaluate(candidate, ctx)
    done = Round(number, source, draft, first_diagnostics=errors)
    if pipeline is not None:
        done.valid, done.pipeline = True, pipeline
        return done
    repaired, applied = apply_repairs(candidate, errors)
    done.repairs, done.repaired = applied, repaired
    if not applied:
        done.diagnostics = errors
        return done
    pipeline, errors = await _evaluate(repaired, ctx)
    done.diagnostics = errors
    done.valid, done.pipeline = pipeline is not None, pipeline
    return done


def complete_draft(draft: dict[str, Any], request: str) -> dict[str, Any]:
    """The reduced draft format completed into a document: apiVersion, kind, metadata and the
    budget (genesis, not the model, sets a generated pipeline's limits)."""
    data = copy.deepcopy(draft) if isinstance(draft, dict) else {"steps": draft}
    data.setdefault("apiVersion", "evopipe/v1")
    data.setdefault("kind", "Pipeline")
    data.setdefault("limits", dict(DEFAULT_LIMITS))
    meta = data.get("metadata")
    extra: dict[str, Any] = meta if isinstance(meta, dict) else {}
    data["metadata"] = {"origin": "genesis", "request": request[:500], **extra}
    return data


async def _evaluate(data: dict[str, Any], ctx: _Ctx) -> tuple[Pipeline | None, list[Diagnostic]]:
    pipeline, errors = check_text(to_text(data), DRAFT_PATH)
    if pipeline is None:
        return None, errors
    ctx.budget.check()
    run = await dry_run(pipeline, timeout_s=min(60.0, max(ctx.budget.remaining_s(), 0.001)))
    ctx.budget.charge(steps=len(pipeline.steps))
    if not run.ok:
        return None, dry_run_diagnostics(run, DRAFT_PATH)
    return pipeline, []


async def _run_library(ctx: _Ctx, pipeline: Pipeline, inputs: dict[str, Any]) -> RunResult:
    ctx.budget.check()
    options = RunOptions(
        model=ctx.model_id,
        max_tokens=max(ctx.budget.remaining_tokens(), 1),
        max_steps=max(ctx.budget.remaining_steps(), 1),
        timeout_s=max(ctx.budget.remaining_s(), 0.001),
    )
    result = await run_pipeline(pipeline, inputs, services=ctx.services, options=options)
    usage = result.usage
    ctx.budget.charge(steps=len(result.steps), tokens=usage.input_tokens + usage.output_tokens)
    if not result.ok:
        what = result.budget or result.error or result.status
        raise _ModelRunFailed(f"{pipeline.name} run {result.status}: {what}")
    return result


def _patterns_text(hits: list[Hit]) -> str:
    return "\n".join(f"- {h.pattern.name}: {h.pattern.description}" for h in hits) or "(none)"


async def _draft(ctx: _Ctx) -> dict[str, Any]:
    genesis = load_file(GENESIS_FILE).pipeline
    inputs = {
        "request": ctx.request,
        "patterns": _patterns_text(ctx.hits),
        "example": ctx.hits[0].pattern.outline() if ctx.hits else "(none)",
    }
    result = await _run_library(ctx, genesis, inputs)
    analysis = result.outputs.get("analysis")
    ctx.analysis = analysis if isinstance(analysis, dict) else ctx.analysis
    draft = result.outputs.get("draft")
    if not isinstance(draft, dict):
        raise _ModelRunFailed(f"the draft is not a JSON object: {str(draft)[:200]}")
    return draft


async def _repair(ctx: _Ctx, previous: dict[str, Any], diags: list[Diagnostic]) -> dict[str, Any]:
    repair = load_file(REPAIR_FILE).pipeline
    shown = {k: v for k, v in previous.items() if k not in ("apiVersion", "kind", "metadata")}
    inputs = {
        "request": ctx.request,
        "draft": json.dumps(shown, indent=1, ensure_ascii=False),
        "diagnostics": "\n".join(describe(d) for d in diags) or "(none)",
    }
    if ctx.lessons:
        inputs["diagnostics"] += "\n\nLessons from earlier failures:\n" + "\n".join(ctx.lessons)
    result = await _run_library(ctx, repair, inputs)
    draft = result.outputs.get("draft")
    if not isinstance(draft, dict):
        raise _ModelRunFailed(f"the repaired draft is not a JSON object: {str(draft)[:200]}")
    return draft


async def _analyse_then_assemble(ctx: _Ctx) -> dict[str, Any]:
    genesis = load_file(GENESIS_FILE).pipeline
    only = genesis.model_copy(
        update={
            "steps": [genesis.step("analyse")],
            "outputs": {"analysis": "{{ steps.analyse.output }}"},
        }
    )
    inputs = {"request": ctx.request, "patterns": _patterns_text(ctx.hits)}
    result = await _run_library(ctx, only, inputs)
    analysis = result.outputs.get("analysis")
    if not isinstance(analysis, dict):
        raise _ModelRunFailed(f"the analysis is not a JSON object: {str(analysis)[:200]}")
    ctx.analysis = analysis
    return assemble(ctx.request, analysis, ctx.hits)


def describe(d: Diagnostic) -> str:
    """A diagnostic as the model sees it: rule, message, location, hint."""
    text = f"- [{d.rule}] {d.message}"
    if d.where:
        text += f" (at {d.where})"
    return text + (f" — {d.hint}" if d.hint else "")


def _result(ctx: _Ctx, winner: Round, duration: float) -> GenerationResult:
    pipeline = winner.pipeline
    assert pipeline is not None  # a valid round always carries its pipeline
    pattern = None
    if winner.source == "assemble":  # the adapted pattern is recorded in the metadata
        pattern = str(pipeline.metadata.get("pattern") or "") or None
    return GenerationResult(
        request=ctx.request,
        model_id=ctx.model_id,
        pipeline=pipeline,
        yaml=spec_yaml(pipeline),
        schemas=artifacts.contract_schemas(pipeline),
        readme=artifacts.readme(pipeline, ctx.request, pattern=pattern, rounds=len(ctx.rounds)),
        rounds=ctx.rounds,
        analysis=ctx.analysis,
        pattern=pattern,
        retrieved=[h.pattern.name for h in ctx.hits],
        duration_s=duration,
    )


def _store(
    services: Services, ctx: _Ctx, result: GenerationResult | None, duration: float
) -> str | None:
    if services.store is None:
        return None
    return records.save(services.store, ctx.request, ctx.model_id, ctx.rounds, result, duration)
