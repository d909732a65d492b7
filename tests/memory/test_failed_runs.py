"""A failed engine run is filed in the failure museum (origin ``run``), with its failing step;
a successful one is not."""

from __future__ import annotations

from pathlib import Path

from evopipe.app import App, Settings
from evopipe.spec.loader import loads

ENV = {"EVOPIPE_CONFIG": "/nonexistent/evopipe.toml"}
SPEC = """apiVersion: evopipe/v1
kind: Pipeline
name: fragile
steps:
  - {id: ask, kind: llm, prompt: "hello", retry: {max_attempts: 1}}
"""


async def test_a_failed_run_is_filed_in_the_museum(tmp_path: Path) -> None:
    settings = Settings.load(
        tmp_path, environ=ENV, db=str(tmp_path / "e.db"), default_model="sim:fail_rate=1,seed=1"
    )
    with App(settings, environ=ENV) as app:
        pipeline = loads(SPEC).pipeline
        result = await app.runs.run(pipeline, {})
        assert result.status == "failed"
        clusters = [c for c in app.memory.failures() if "run" in c.origins]
        assert len(clusters) == 1
        example = clusters[0].examples[0]
        assert example["subject"] == "fragile"
        assert example["example"] == {"run_id": result.run_id, "step": "ask"}
        ok = await app.runs.run(pipeline, {}, model="fake")
        assert ok.status == "succeeded"
        assert sum(c.count for c in app.memory.failures() if "run" in c.origins) == 1
