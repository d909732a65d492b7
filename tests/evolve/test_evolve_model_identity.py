"""Stored evaluations are bound to the model's content (issue 20, item 6): after editing a
scripted model's file, evolution does not reuse the old scores; ``--no-cache`` reuses none."""

from __future__ import annotations

from pathlib import Path

from evopipe.app import App, Settings
from evopipe.app.evolve import EvalSource
from evopipe.engine import Services
from evopipe.evaluate import build_metrics, from_rows
from evopipe.evolve.evaluator import DatasetEvaluator
from evopipe.models import ModelHub
from evopipe.models.config import config_from_dict


def _evaluator(tmp_path: Path, **kwargs: object) -> DatasetEvaluator:
    hub = ModelHub(config_from_dict({}, env={}, base_dir=tmp_path))
    return DatasetEvaluator(
        from_rows([{"text": "a", "label": "x"}]),
        build_metrics("exact"),
        services=Services(models=hub),
        metric_spec="exact",
        model="scripted:script.yaml",
        **kwargs,  # type: ignore[arg-type]
    )


def test_dataset_key_covers_the_model_content(tmp_path: Path) -> None:
    script = tmp_path / "script.yaml"
    script.write_text("fallback: x\n", encoding="utf-8")
    before = _evaluator(tmp_path).dataset_key
    assert _evaluator(tmp_path).dataset_key == before
    script.write_text("fallback: y\n", encoding="utf-8")
    assert _evaluator(tmp_path).dataset_key != before


def test_no_cache_never_matches_a_stored_evaluation(tmp_path: Path) -> None:
    (tmp_path / "script.yaml").write_text("fallback: x\n", encoding="utf-8")
    a = _evaluator(tmp_path, reuse=False).dataset_key
    b = _evaluator(tmp_path, reuse=False).dataset_key
    assert a != b


def test_promote_no_cache_rebuilds_an_evaluator_that_reuses_nothing(tmp_path: Path) -> None:
    (tmp_path / "script.yaml").write_text("fallback: x\n", encoding="utf-8")
    (tmp_path / "d.jsonl").write_text('{"text": "a", "label": "x"}\n', encoding="utf-8")
    source = EvalSource(str(tmp_path / "d.jsonl"), "exact", model="scripted:script.yaml")
    info = {"config": {"source": source.to_json(), "pipeline_path": str(tmp_path / "p.yaml")}}
    with App(Settings.load(tmp_path, persist=False)) as app:
        keys = {app.evolutions._rebuild(info)[1].dataset_key for _ in range(2)}
        fresh = {app.evolutions._rebuild(info, no_cache=True)[1].dataset_key for _ in range(2)}
    assert len(keys) == 1
    assert len(fresh) == 2
    assert not fresh & keys
