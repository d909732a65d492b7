"""A store with something in every corner, for the dashboard's screenshots, its browser tests
and its benchmark: finished runs of a few pipelines, a run waiting for an approval, a short
evolution with its genealogy, registered versions, a generation. Everything runs for real on
the session's model (the fake model in tests: no network, no cost)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from evopipe.spec.loader import loads
from evopipe.spec.pipeline import Pipeline

if TYPE_CHECKING:
    from evopipe.app.root import App

__all__ = ["CHAIN", "ECHO", "GATED", "seed_demo"]

ECHO = """apiVersion: evopipe/v1
kind: Pipeline
name: summarise
description: Summarise a text in one sentence.
inputs: {text: {type: string, description: The text to summarise.}}
outputs: {summary: "{{ steps.summary.output }}"}
steps:
  - {id: summary, kind: llm, prompt: "Summarise in one sentence: {{ inputs.text }}"}
"""
CHAIN = """apiVersion: evopipe/v1
kind: Pipeline
name: triage
description: Triage a bug report into area, severity and a reply.
inputs: {report: {type: string, description: The bug report.}}
outputs: {reply: "{{ steps.reply.output }}"}
steps:
  - {id: area, kind: llm, prompt: "Which area does this concern? {{ inputs.report }}"}
  - {id: severity, kind: llm, prompt: "How severe is this? {{ inputs.report }}"}
  - id: reply
    kind: llm
    prompt: "Reply to the reporter (area {{ steps.area.output }}, {{ steps.severity.output }})"
"""
GATED = """apiVersion: evopipe/v1
kind: Pipeline
name: release-note
description: Draft a release note, have a human approve it, then polish it.
outputs: {text: "{{ steps.polish.output }}"}
steps:
  - {id: draft, kind: llm, prompt: "Draft a release note"}
  - id: review
    kind: approval
    message: "Publish this note? {{ steps.draft.output }}"
    fields:
      audience: {type: choice, choices: [everyone, staff], description: Who reads the note.}
      priority: {type: integer, min: 1, max: 5, default: 3}
  - id: polish
    kind: llm
    prompt: "Polish for {{ steps.review.output.values.audience }}: {{ steps.draft.output }}"
    needs: [review]
"""


def load_pipeline_text(text: str) -> Pipeline:
    return loads(text).pipeline


async def seed_runs(app: App, count: int = 12) -> None:
    """``count`` finished runs of the summarise and triage pipelines, and one waiting run."""
    summarise, triage = load_pipeline_text(ECHO), load_pipeline_text(CHAIN)
    for i in range(count):
        if i % 3 == 2:
            await app.runs.run(triage, {"report": f"The export button crashes (case {i})"})
        else:
            await app.runs.run(summarise, {"text": f"Release {i} fixes the login bug."})
    await app.runs.run(load_pipeline_text(GATED), {})


async def seed_evolution(app: App, examples: Path) -> str:
    """A short evolution of the object-counting seed (``examples/``: the repository's
    examples folder); its champion is then registered. Returns the evolution's id."""
    from evopipe.app.evolve import EvalSource, EvolveArgs, EvolveConfig

    args = EvolveArgs(
        pipeline=examples / "evolve" / "counter.yaml",
        source=EvalSource(
            str(examples / "data" / "bbh_object_counting"),
            "numeric[pick=first]",
            mapping={"question": "input"},
        ),
        config=EvolveConfig(generations=2, population=3, offspring=3, seed=0),
    )
    result = await app.evolutions.evolve(args)
    seed = app.pipelines.resolve(examples / "evolve" / "counter.yaml").pipeline
    app.routing.register(seed.name, seed, reason="seed")
    decision = await app.evolutions.promote(result.champion_id, approved_by="demo")
    if not decision.promoted:  # on the fake model the gain is not significant
        from evopipe.evolve.repository import EvolutionRepository

        champion = EvolutionRepository(app.store).get_spec(result.champion_id)
        app.routing.register(seed.name, champion, reason="demo: the evolution's champion")
    return result.run_id


async def seed_demo(app: App, examples: Path, *, runs: int = 12) -> dict[str, str]:
    """Everything: runs, a waiting approval, an evolution, registered versions, a
    generation. Returns the ids a caller may want to open."""
    await seed_runs(app, runs)
    evolution = await seed_evolution(app, examples)
    for text in (ECHO, CHAIN):
        pipeline = load_pipeline_text(text)
        app.routing.register(pipeline.name, pipeline, reason="demo")
    made = await app.generations.generate("Triage a bug report", max_rounds=2)
    return {"evolution": evolution, "generation": made.result.generation_id or ""}
