"""Migration 0003 and the store-backed recorder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import inspect

from evopipe.app.schema import MIGRATIONS
from evopipe.evaluate.dataset import from_rows
from evopipe.evaluate.recorder import EvalStarted
from evopipe.evaluate.records import StoreRecorder, list_datasets, load_eval, register_dataset
from evopipe.evaluate.report import EvalReport, ExampleResult, objectives
from evopipe.spec import loads
from evopipe.store import Store

PIPE = loads(
    "apiVersion: evopipe/v1\nkind: Pipeline\nname: echo\nsteps:\n"
    "  - id: s\n    kind: set\n    values: {a: 1}\n"
).pipeline


@pytest.fixture
def store() -> Iterator[Store]:
    with Store.open("sqlite:///:memory:", migrations=MIGRATIONS) as s:
        yield s


def test_migration_creates_the_evaluation_tables(store: Store) -> None:
    names = set(inspect(store.engine).get_table_names())
    assert {"datasets", "eval_runs", "eval_examples"} <= names
    cols = {c["name"] for c in inspect(store.engine).get_columns("eval_examples")}
    assert {"eval_id", "example_id", "run_id", "score", "feedback", "cost_usd"} <= cols


def test_datasets_register_once_by_content_hash(store: Store) -> None:
    ds = from_rows([{"q": str(i), "label": "x"} for i in range(10)], name="toy")
    assert register_dataset(store, ds) is True
    assert register_dataset(store, ds) is False
    [row] = list_datasets(store)
    assert row["name"] == "toy"
    assert row["content_hash"] == ds.content_hash
    assert row["n_examples"] == 10


def test_recorder_stores_the_run_and_its_examples(store: Store) -> None:
    ds = from_rows([{"q": "a", "label": "x", "split": "val"}], name="toy")
    result = ExampleResult(
        example_id=ds.examples[0].id,
        inputs={"q": "a"},
        expected="x",
        outputs={"answer": "x"},
        prediction="x",
        score=1.0,
        scores={"exact": 1.0},
        feedback=None,
        success=True,
        error=None,
        run_id="run-1",
        input_tokens=5,
        output_tokens=2,
        calls=1,
        cost_usd=0.001,
        latency_ms=12.0,
    )
    rec = StoreRecorder(store)
    rec.start(EvalStarted("ev1", PIPE, "hash", ds, "val", ("exact",), planned=1))
    rec.add_example("ev1", result)
    report = EvalReport(
        eval_id="ev1",
        pipeline="echo",
        pipeline_hash="hash",
        dataset="toy",
        dataset_hash=ds.content_hash,
        split="val",
        metrics=("exact",),
        planned=1,
        examples=(result,),
        objectives=objectives([result]),
    )
    rec.finish("ev1", report)
    stored = load_eval(store, "ev1")
    assert stored is not None
    assert stored["status"] == "finished"
    assert stored["n"] == 1
    assert stored["dataset_hash"] == ds.content_hash
    [ex] = stored["examples"]
    assert (ex["run_id"], ex["score"], ex["calls"]) == ("run-1", 1.0, 1)
    assert load_eval(store, "absent") is None
