"""Persisting evaluations in the store (:mod:`evopipe.evaluate.tables`) and reading them back."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from evopipe.evaluate.dataset import Dataset
from evopipe.evaluate.recorder import EvalStarted
from evopipe.evaluate.tables import datasets, eval_examples, eval_runs

if TYPE_CHECKING:
    from evopipe.evaluate.report import EvalReport, ExampleResult
    from evopipe.store import Store


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def register_dataset(store: Store, dataset: Dataset) -> bool:
    """Record a dataset version by content hash; False if it was already registered."""
    with store.begin() as conn:
        found = conn.execute(
            select(datasets.c.content_hash).where(datasets.c.content_hash == dataset.content_hash)
        ).first()
        if found is not None:
            return False
        conn.execute(
            datasets.insert().values(
                content_hash=dataset.content_hash,
                name=dataset.name,
                source=dataset.source,
                expected_field=dataset.expected_field,
                mapping_json=_json(dataset.mapping),
                splits_json=_json(dataset.sizes()),
                n_examples=len(dataset.examples),
                created_at=time.time(),
            )
        )
    return True


def list_datasets(store: Store) -> list[dict[str, Any]]:
    with store.begin() as conn:
        rows = conn.execute(select(datasets).order_by(datasets.c.created_at)).mappings().all()
    return [dict(r) for r in rows]


@dataclass
class StoreRecorder:
    """An :class:`~evopipe.evaluate.recorder.EvalRecorder` writing to a :class:`Store`."""

    store: Store

    def start(self, started: EvalStarted) -> None:
        d_hash = ""
        if isinstance(started.dataset, Dataset):
            register_dataset(self.store, started.dataset)
            d_hash = started.dataset.content_hash
        with self.store.begin() as conn:
            conn.execute(
                eval_runs.insert().values(
                    eval_id=started.eval_id,
                    pipeline_name=started.pipeline.name,
                    spec_hash=started.pipeline_hash,
                    dataset_hash=d_hash,
                    split=started.split,
                    metrics_json=_json(list(started.metrics)),
                    status="running",
                    planned=started.planned,
                    created_at=time.time(),
                )
            )

    def add_example(self, eval_id: str, result: ExampleResult) -> None:
        with self.store.begin() as conn:
            conn.execute(
                eval_examples.insert().values(
                    eval_id=eval_id,
                    example_id=result.example_id,
                    run_id=result.run_id,
                    inputs_json=_json(result.inputs),
                    outputs_json=_json(result.outputs),
                    expected_json=_json(result.expected),
                    score=result.score,
                    scores_json=_json(result.scores),
                    feedback=result.feedback,
                    success=int(result.success),
                    error=result.error,
                    input_tokens=result.input_tokens,
                    output_tokens=result.output_tokens,
                    calls=result.calls,
                    cost_usd=result.cost_usd,
                    latency_ms=result.latency_ms,
                )
            )

    def finish(self, eval_id: str, report: EvalReport) -> None:
        with self.store.begin() as conn:
            conn.execute(
                eval_runs.update()
                .where(eval_runs.c.eval_id == eval_id)
                .values(
                    status="stopped" if report.stopped else "finished",
                    n=report.n,
                    objectives_json=_json(report.objectives.to_json()),
                    stopped=report.stopped,
                    finished_at=time.time(),
                )
            )


def load_eval(store: Store, eval_id: str) -> dict[str, Any] | None:
    """An evaluation row with its examples (plain data), or None."""
    with store.begin() as conn:
        run = conn.execute(select(eval_runs).where(eval_runs.c.eval_id == eval_id)).mappings()
        row = run.first()
        if row is None:
            return None
        examples = (
            conn.execute(select(eval_examples).where(eval_examples.c.eval_id == eval_id))
            .mappings()
            .all()
        )
    out = dict(row)
    out["examples"] = [dict(e) for e in examples]
    return out


__all__ = ["StoreRecorder", "list_datasets", "load_eval", "register_dataset"]
