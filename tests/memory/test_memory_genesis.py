"""Genesis with the pattern DB: a stored pipeline for a near-identical task is reused (valid at
the first try, no model call); failed rounds are filed in the museum and its lessons reach the
model repair rounds."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from evopipe.app import App, Settings
from evopipe.genesis.memory import REUSE_OVERLAP, overlap, reusable
from evopipe.genesis.retrieval import retrieve
from evopipe.memory import PatternDB
from evopipe.models import ModelHub
from evopipe.models.testing import ScriptedModel

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "genesis"))
from test_genesis_generate import (
    ANALYSE_PROMPT,
    ANALYSIS,
    BAD,
    DRAFT_PROMPT,
    GOOD,
    REPAIR_PROMPT,
)

FIRST = "Review a pull request diff and list the bugs"
SIMILAR = "List the bugs found when reviewing a pull request diff"


def _app(tmp_path: Path) -> tuple[App, ScriptedModel]:
    model = ScriptedModel(
        rules={ANALYSE_PROMPT: ANALYSIS, DRAFT_PROMPT: BAD, REPAIR_PROMPT: GOOD},
        model_id="scripted",
    )
    hub = ModelHub()
    hub.add(model, "scripted")
    return App(Settings.load(tmp_path, db=str(tmp_path / "g.db")), models=hub), model


async def _generate(app: App, request: str, **kw: Any) -> Any:
    return (await app.generations.generate(request, model="scripted", **kw)).result


async def test_a_remembered_pipeline_is_reused_at_the_first_try(tmp_path: Path) -> None:
    app, model = _app(tmp_path)
    with app:
        first = await _generate(app, FIRST)
        assert len(first.rounds) == 2
        assert not first.first_try_valid
        failed = app.memory.failures()
        assert failed
        assert all("generation" in c.origins for c in failed)  # the bad draft was filed
        stored = PatternDB(app.store).add(first.pipeline, origin="certified", source_ref="t")
        calls = len(model.calls)
        again = await _generate(app, SIMILAR)
        assert len(model.calls) == calls  # no model call: the stored pipeline was reused
        assert again.first_try_valid
        assert len(again.rounds) == 1
        assert again.pattern == "memory/" + stored.pattern_id[:12]
        assert again.pipeline.name != first.pipeline.name  # renamed for the new request
        assert [s.id for s in again.pipeline.steps] == [s.id for s in first.pipeline.steps]
        assert app.memory.pattern(stored.pattern_id).reuse_count == 1
        without = await _generate(app, SIMILAR, use_memory=False)
        assert len(without.rounds) == 2
        assert not without.first_try_valid


async def test_the_museum_lessons_reach_the_repair_round(tmp_path: Path) -> None:
    app, model = _app(tmp_path)
    with app:
        app.memory.museum.record(
            origin="generation", subject="earlier", message="[unknown-step] steps.loader"
        )
        await _generate(app, FIRST)
        repair = model.calls[-1].messages[-1].content
        assert "Lessons from earlier failures" in repair
        assert "steps.loader" in repair


def test_reuse_needs_a_close_task() -> None:
    assert overlap(SIMILAR, FIRST) >= REUSE_OVERLAP
    assert overlap("Translate a menu into French", FIRST) < REUSE_OVERLAP
    assert overlap("", FIRST) == 0.0
    hits = retrieve(SIMILAR, k=3)
    assert reusable(SIMILAR, hits) is None  # library patterns are never reused as is
