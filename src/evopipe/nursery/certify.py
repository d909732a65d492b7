"""``certify``: run a pipeline through the nursery's gates and record the result."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from evopipe.engine import Services
from evopipe.evaluate.dataset import Dataset
from evopipe.evaluate.metrics.base import Metric
from evopipe.evaluate.runner import EvalSettings
from evopipe.memory.failures import FailureMuseum
from evopipe.memory.patterns import PatternDB
from evopipe.nursery import records
from evopipe.nursery.records import Certification
from evopipe.nursery.stages import STAGES, NurseryConfig, StageResult, Trial
from evopipe.spec import Pipeline, spec_hash


async def run_stages(trial: Trial) -> list[StageResult]:
    """Every stage in order until one refuses."""
    results: list[StageResult] = []
    for _, stage in STAGES:
        result = await stage(trial)
        results.append(result)
        if not result.passed:
            break
    return results


async def certify(
    pipeline: Pipeline,
    dataset: Dataset,
    metrics: Sequence[Metric],
    *,
    services: Services,
    store: Any,
    config: NurseryConfig | None = None,
    settings: EvalSettings | None = None,
) -> Certification:
    """Try ``pipeline`` stage by stage; record the certification (or refusal) in ``store``. A
    certified pipeline enters the pattern DB (origin ``certified``)."""
    trial = Trial(pipeline, dataset, metrics, services, config or NurseryConfig())
    if settings is not None:
        trial.settings = settings
    results = await run_stages(trial)
    cert = records.save(store, pipeline.name, spec_hash(pipeline), results)
    if not cert.certified:  # the refusal goes to the failure museum
        last = results[-1]
        errors = "; ".join(str(e) for e in last.metrics.get("errors", []))
        FailureMuseum(store).record(
            origin="nursery",
            subject=pipeline.name,
            message=f"{last.stage}: {last.reason}" + (f" ({errors})" if errors else ""),
            example={"cert_id": cert.cert_id, "stage": last.stage},
        )
    if cert.certified:
        fitness = results[1].metrics.get("quality")
        PatternDB(store).add(
            pipeline,
            origin="certified",
            source_ref=f"nursery:{cert.cert_id[:12]}",
            fitness=float(fitness) if fitness is not None else None,
        )
    return cert
