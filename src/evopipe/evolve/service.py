"""Service functions behind ``evopipe evolve | lineage | promote | rollback`` (CLI and server).

Each builds what it needs from plain arguments (paths, ids, a store URL), so the faces stay
thin. Runs record how to rebuild their evaluator (dataset, metric, model), which is what lets
``--resume`` and ``promote`` work from an id alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evopipe.engine import Services
from evopipe.evaluate import Dataset, MetricEnv, build_metrics, load_dataset, project_cost
from evopipe.evolve.config import EvolveConfig, EvolveHook
from evopipe.evolve.evaluator import DatasetEvaluator
from evopipe.evolve.fitness import Evaluator
from evopipe.evolve.lineage import RENDERERS, lineage
from evopipe.evolve.loop import EvolutionResult, resume, start
from evopipe.evolve.meta import OPERATOR_PIPELINES, OperatorFitness
from evopipe.evolve.operator_runner import EngineOperatorRunner, load_operator
from evopipe.evolve.promotion import Decision, promote
from evopipe.evolve.repository import EvolutionRepository
from evopipe.models import ModelHub, load_config
from evopipe.orchestrate.registry import Registry, Version
from evopipe.spec import Pipeline, load_file
from evopipe.spec.errors import EvopipeError
from evopipe.store import Store
from evopipe.store import service as store_service

SPLIT_FILES = ("train", "val", "test")


@dataclass(frozen=True)
class EvalSource:
    """How to rebuild a run's evaluator: stored with the run."""

    dataset: str
    metric: str
    model: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    expected: str | None = None
    output: str | None = None
    split_seed: int = 0
    concurrency: int = 4

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def open_store(db: str | None) -> Store:
    """The store at ``db``, masking secret-looking environment values in all it writes."""
    return store_service.open_store(db)


def read_dataset(source: EvalSource) -> Dataset:
    """A JSONL/CSV file (seeded splits) or a directory of ``train/val/test.jsonl`` files."""
    path = Path(source.dataset)
    kwargs: dict[str, Any] = {
        "mapping": source.mapping or None,
        "expected": source.expected,
        "seed": source.split_seed,
    }
    if path.is_dir():
        files = {s: path / f"{s}.jsonl" for s in SPLIT_FILES if (path / f"{s}.jsonl").is_file()}
        if not files:
            raise EvopipeError(f"{path}: a dataset directory needs train/val/test.jsonl files")
        return load_dataset(files, name=path.name, **kwargs)
    return load_dataset(path, **kwargs)


def make_services(hub: ModelHub | None, base_dir: Path) -> Services:
    """Services over ``hub``, else a hub with the user's and project's model config, so
    ``--model``/``--operator-model`` can name any configured endpoint (``ollama:qwen3``)."""
    return Services(models=hub or ModelHub(load_config(Path.cwd())), base_dir=base_dir)


def make_evaluator(source: EvalSource, services: Services) -> DatasetEvaluator:
    metrics = build_metrics(source.metric, MetricEnv(services=services))
    return DatasetEvaluator(
        read_dataset(source),
        metrics,
        services=services,
        metric_spec=source.metric,
        model=source.model,
        output=source.output,
        concurrency=source.concurrency,
    )


async def projection(
    seed: Pipeline, evaluator: DatasetEvaluator, config: EvolveConfig
) -> dict[str, Any]:
    """Estimated calls/USD of the whole run, from a few probe examples of the seed."""
    probe = await project_cost(
        seed,
        evaluator.dataset,
        evaluator.metrics,
        services=evaluator.services,
        split=config.selection_split,
        sample=2,
        settings=evaluator.settings(),
    )
    per_example_calls = probe.calls / max(probe.n, 1)
    per_example_usd = probe.cost_usd / max(probe.n, 1)
    per_eval_calls = per_example_calls * evaluator.split_size(config.selection_split)
    evaluations = 1 + config.generations * config.offspring
    feedback = config.generations * config.offspring * config.feedback_size
    calls = per_eval_calls * evaluations + per_example_calls * feedback
    usd = per_example_usd * (evaluations * evaluator.split_size(config.selection_split) + feedback)
    if config.budget_calls is not None:
        calls = min(calls, config.budget_calls)
    return {
        "evaluations_max": evaluations,
        "calls_per_evaluation": math.ceil(per_eval_calls),
        "calls_max": math.ceil(calls),
        "usd_max": usd,
    }


@dataclass
class EvolveArgs:
    pipeline: Path
    source: EvalSource
    config: EvolveConfig
    db: str | None = None
    operator_model: str | None = None
    operator: str | None = None
    """Evolve this operator's own pipeline; ``pipeline`` is then the reference task."""


async def evolve(
    args: EvolveArgs,
    *,
    hub: ModelHub | None = None,
    hooks: Sequence[EvolveHook] = (),
    on_projection: Any = None,
    store: Store | None = None,
) -> EvolutionResult:
    """Run ``evopipe evolve``: load, project the cost, evolve, return the result."""
    reference = load_file(str(args.pipeline)).pipeline
    services = make_services(hub, args.pipeline.resolve().parent)
    task_eval = make_evaluator(args.source, services)
    runner = EngineOperatorRunner(services, model=args.operator_model or args.source.model)
    seed: Pipeline = reference
    evaluator: Evaluator = task_eval
    if args.operator is not None:
        seed = load_operator(OPERATOR_PIPELINES[args.operator])
        evaluator = OperatorFitness(args.operator, reference, task_eval, runner)
    elif on_projection is not None:
        on_projection(await projection(seed, task_eval, args.config))
    own = store is None
    st = store or open_store(args.db)
    try:
        return await start(
            seed,
            repo=EvolutionRepository(st),
            evaluator=evaluator,
            config=args.config,
            run_operator=runner,
            hooks=hooks,
            extra=_extras(args),
        )
    finally:
        if own:
            st.close()


def _extras(args: EvolveArgs) -> dict[str, Any]:
    return {
        "source": args.source.to_json(),
        "pipeline_path": str(args.pipeline.resolve()),
        "operator_model": args.operator_model,
        "operator": args.operator,
    }


def _rebuild(
    info: dict[str, Any], hub: ModelHub | None
) -> tuple[Evaluator, DatasetEvaluator, EngineOperatorRunner]:
    extra = info["config"]
    source = EvalSource(**extra["source"])
    pipeline_path = Path(extra["pipeline_path"])
    services = make_services(hub, pipeline_path.parent)
    task_eval = make_evaluator(source, services)
    runner = EngineOperatorRunner(services, model=extra.get("operator_model") or source.model)
    if extra.get("operator"):
        reference = load_file(str(pipeline_path)).pipeline
        return OperatorFitness(extra["operator"], reference, task_eval, runner), task_eval, runner
    return task_eval, task_eval, runner


async def resume_run(
    run_id: str,
    *,
    db: str | None = None,
    hub: ModelHub | None = None,
    hooks: Sequence[EvolveHook] = (),
    store: Store | None = None,
) -> EvolutionResult:
    own = store is None
    st = store or open_store(db)
    try:
        repo = EvolutionRepository(st)
        evaluator, _, runner = _rebuild(repo.get_run(run_id), hub)
        return await resume(
            run_id, repo=repo, evaluator=evaluator, run_operator=runner, hooks=hooks
        )
    finally:
        if own:
            st.close()


def lineage_text(ident: str, fmt: str, *, db: str | None = None, store: Store | None = None) -> str:
    if fmt not in RENDERERS:
        raise EvopipeError(f"unknown lineage format {fmt!r}; use {', '.join(RENDERERS)}")
    own = store is None
    st = store or open_store(db)
    try:
        return RENDERERS[fmt](lineage(EvolutionRepository(st), ident))
    finally:
        if own:
            st.close()


async def promote_candidate(
    ident: str,
    *,
    db: str | None = None,
    hub: ModelHub | None = None,
    approved_by: str | None = None,
    confidence: float | None = None,
    store: Store | None = None,
) -> Decision:
    """Promote candidate ``ident`` (an id prefix) if it beats the incumbent on the test split."""
    own = store is None
    st = store or open_store(db)
    try:
        repo = EvolutionRepository(st)
        cid = repo.find_candidate(ident)
        runs = repo.runs_with_candidate(cid)
        if not runs:
            raise EvopipeError(f"candidate {cid[:12]} belongs to no evolution run")
        info = repo.get_run(runs[-1])
        _, task_eval, _ = _rebuild(info, hub)
        if info["config"].get("operator"):
            raise EvopipeError("operator candidates are not promoted to the registry")
        return await promote(
            cid,
            repo=repo,
            registry=Registry(st),
            evaluator=task_eval,
            incumbent=repo.get_spec(info["seed_id"]),
            confidence=confidence,
            approved_by=approved_by,
        )
    finally:
        if own:
            st.close()


def rollback(name: str, *, db: str | None = None, store: Store | None = None) -> Version:
    own = store is None
    st = store or open_store(db)
    try:
        return Registry(st).rollback(name)
    finally:
        if own:
            st.close()
