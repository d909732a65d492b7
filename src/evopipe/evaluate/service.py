"""Service functions behind ``evopipe eval`` (and the HTTP server): open the store and models,
read the dataset and pipeline, project the cost, evaluate or compare, record the results."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evopipe.check import check_file
from evopipe.engine import RunOptions, Services
from evopipe.evaluate.compare import Comparison, Projection, compare, project_cost
from evopipe.evaluate.dataset import SPLITS, Dataset, DatasetError, load_dataset, parse_mapping
from evopipe.evaluate.metrics import MetricEnv, build_metrics
from evopipe.evaluate.metrics.base import Metric
from evopipe.evaluate.recorder import EvalRecorder, TeeRecorder
from evopipe.evaluate.records import StoreRecorder
from evopipe.evaluate.report import EvalReport
from evopipe.evaluate.runner import Budget, EvalSettings, evaluate
from evopipe.models import ModelHub, load_config
from evopipe.spec import Pipeline, SpecError, load_file
from evopipe.store import SecretRedactor, Store, resolve_db_url


@dataclass(frozen=True)
class EvalRequest:
    """Everything ``evopipe eval`` was asked (paths and specs as the user wrote them)."""

    dataset: Sequence[str]
    metrics: str
    split: str = "val"
    limit: int | None = None
    model: str | None = None
    mapping: Sequence[str] = ()
    expected: str | None = None
    output: str | None = None
    concurrency: int = 8
    budget_usd: float | None = None
    budget_calls: int | None = None
    seed: int = 0
    project: int = 3
    python_allow: Sequence[str] = ()
    no_cache: bool = False
    """Read no stored model response (``--no-cache``)."""
    progress: EvalRecorder | None = None
    """Also told about each example as it finishes (a progress display)."""


@dataclass
class EvalSession:
    """Store, model hub and services of one CLI invocation."""

    services: Services
    store: Store | None = None

    def close(self) -> None:
        if self.store is not None:
            self.store.close()


@dataclass(frozen=True)
class EvalOutcome:
    report: EvalReport
    projection: Projection | None = None


@dataclass(frozen=True)
class CompareOutcome:
    comparison: Comparison
    extra: dict[str, Any] = field(default_factory=dict)


@contextmanager
def open_session(
    db: str | None = None,
    *,
    base_dir: Path | None = None,
    persist: bool = True,
    cache: bool = True,
) -> Iterator[EvalSession]:
    """Open the store (default database unless ``persist`` is False) and a hub whose response
    cache lives in it, so re-running an evaluation is free."""
    base = base_dir or Path.cwd()
    redact = SecretRedactor.from_environ(os.environ)
    store = Store.open(resolve_db_url(db, cwd=base), redact=redact) if persist else None
    try:
        backend = store.response_cache() if store is not None and cache else None
        hub = ModelHub(load_config(base), cache=backend, cache_policy="always")
        yield EvalSession(Services(models=hub, store=store, base_dir=base), store)
    finally:
        if store is not None:
            store.close()


def read_dataset(
    entries: Sequence[str],
    *,
    mapping: Sequence[str] = (),
    expected: str | None = None,
    seed: int = 0,
) -> Dataset:
    """``["data.jsonl"]``, ``["dir/"]`` (with train/val/test.jsonl) or ``["val=a.jsonl", ...]``."""
    if not entries:
        raise DatasetError("no dataset given (--dataset FILE)")
    kwargs: dict[str, Any] = {
        "mapping": parse_mapping(mapping) or None,
        "expected": expected,
        "seed": seed,
    }
    if len(entries) == 1 and "=" not in entries[0]:
        path = Path(entries[0])
        if path.is_dir():
            files = {s: path / f"{s}.jsonl" for s in SPLITS if (path / f"{s}.jsonl").is_file()}
            if not files:
                raise DatasetError(f"{path}: a dataset directory needs train/val/test.jsonl")
            return load_dataset(files, name=path.name, **kwargs)
        return load_dataset(path, **kwargs)
    files_by_split: dict[str, str] = {}
    for entry in entries:
        split, sep, file = entry.partition("=")
        if not sep:
            raise DatasetError(f"--dataset {entry!r}: with several files write SPLIT=FILE")
        files_by_split[split.strip()] = file.strip()
    first = Path(next(iter(files_by_split.values())))
    return load_dataset(files_by_split, name=first.parent.name or first.stem, **kwargs)


def load_pipeline(path: str | Path) -> Pipeline:
    """Load and check a pipeline file; checker errors are raised as a located SpecError."""
    errors = [d for d in check_file(path) if d.severity == "error"]
    if errors:
        raise SpecError(errors)
    return load_file(path).pipeline


def _metrics(req: EvalRequest, services: Services) -> list[Metric]:
    allow = frozenset(req.python_allow) | services.policy.python_allow
    env = MetricEnv(services=services, python_allow=allow, base_dir=str(services.base_dir))
    return build_metrics(req.metrics, env)


def _settings(req: EvalRequest, session: EvalSession) -> EvalSettings:
    recorders: list[EvalRecorder] = []
    if session.store is not None:
        recorders.append(StoreRecorder(session.store))
    if req.progress is not None:
        recorders.append(req.progress)
    base = EvalSettings(
        output=req.output,
        run_options=RunOptions(model=req.model, cache=True),
        seed=req.seed,
    )
    return dataclasses.replace(base, recorder=TeeRecorder(recorders)) if recorders else base


def _remaining(budget: Budget, projection: Projection | None, sampled: EvalReport | None) -> Budget:
    if projection is None or sampled is None:
        return budget
    spent_usd, spent_calls = sampled.spent_usd, sampled.spent_calls
    return Budget(
        None if budget.max_usd is None else max(0.0, budget.max_usd - spent_usd),
        None if budget.max_calls is None else max(0, budget.max_calls - spent_calls),
    )


async def run_eval(
    req: EvalRequest, pipeline_path: str | Path, session: EvalSession
) -> EvalOutcome:
    """Project the cost from a few examples (they are cached, so not paid twice), then evaluate
    under the budget (what the projection spent counts against it)."""
    pipeline = load_pipeline(pipeline_path)
    dataset = read_dataset(req.dataset, mapping=req.mapping, expected=req.expected, seed=req.seed)
    metrics = _metrics(req, session.services)
    budget = Budget(req.budget_usd, req.budget_calls)
    projection: Projection | None = None
    if req.project > 0:
        projection = await project_cost(
            pipeline,
            dataset,
            metrics,
            services=session.services,
            split=req.split,
            limit=req.limit,
            sample=req.project,
            concurrency=req.concurrency,
            settings=EvalSettings(output=req.output, run_options=RunOptions(model=req.model)),
        )
        budget = _remaining(budget, projection, projection.report)
    report = await evaluate(
        pipeline,
        dataset,
        metrics,
        services=session.services,
        split=req.split,
        limit=req.limit,
        concurrency=req.concurrency,
        budget=budget,
        settings=_settings(req, session),
    )
    return EvalOutcome(report, projection)


async def run_compare(
    req: EvalRequest, a: str | Path, b: str | Path, session: EvalSession
) -> CompareOutcome:
    """Evaluate two pipelines on the same examples and compare them (paired bootstrap)."""
    dataset = read_dataset(req.dataset, mapping=req.mapping, expected=req.expected, seed=req.seed)
    comparison = await compare(
        load_pipeline(a),
        load_pipeline(b),
        dataset,
        _metrics(req, session.services),
        services=session.services,
        split=req.split,
        limit=req.limit,
        concurrency=req.concurrency,
        budget=Budget(req.budget_usd, req.budget_calls),
        settings=_settings(req, session),
        seed=req.seed,
    )
    return CompareOutcome(comparison)
