"""The routing cascade: rules, keywords, retrieval, the model's intent, no match."""

from __future__ import annotations

import time
from collections.abc import Sequence

from evopipe.orchestrate.decisions import recent, record
from evopipe.orchestrate.routing import (
    Candidate,
    Router,
    RouteRequest,
    Rule,
    Thresholds,
    fit_threshold,
)
from evopipe.store import Store

CANDIDATES = [
    Candidate("summarise-text", "Summarise a long text into key points", ("summary", "tldr")),
    Candidate(
        "translate-verify",
        "Translate text to another language and verify it",
        ("translation", "language"),
    ),
    Candidate("bug-triage", "Triage a bug report: severity, component, owner", ("bug", "issue")),
    Candidate(
        "deploy-service",
        "Deploy a release of the service and health-check it",
        ("deploy", "release"),
    ),
]
RULES = [
    Rule("deploy-service", event="push", fields={"branch": "^release/"}),
    Rule("bug-triage", keywords=("crash", "exception", "stacktrace")),
    Rule("translate-verify", pattern=r"\bin (french|german|spanish)\b"),
]


class Scripted:
    def __init__(self, choice: str | None, confidence: float) -> None:
        self.answer = (choice, confidence)
        self.offered: list[list[str]] = []

    async def choose(self, text: str, candidates: Sequence[Candidate]) -> tuple[str | None, float]:
        self.offered.append([c.name for c in candidates])
        return self.answer


async def test_each_stage_decides_in_order() -> None:
    router = Router(CANDIDATES, RULES)
    d = await router.route(RouteRequest("anything", event="push", fields={"branch": "release/2"}))
    assert (d.stage, d.choice) == ("rules", "deploy-service")
    assert "branch ~ /^release/" in d.final.reason
    d = await router.route("the app shows an exception on start")
    assert (d.stage, d.choice) == ("keywords", "bug-triage")
    d = await router.route("say this in French please")
    assert (d.stage, d.choice) == ("keywords", "translate-verify")
    d = await router.route("summarise this text into a few key points, a tldr summary")
    assert (d.stage, d.choice) == ("retrieval", "summarise-text")
    assert d.final.candidates[0].score >= d.final.threshold  # type: ignore[operator]


async def test_off_catalog_is_no_match_and_the_model_breaks_ties() -> None:
    router = Router(CANDIDATES, RULES)
    d = await router.route("compose a sonnet about autumn leaves")
    assert d.choice is None
    assert d.stage == "none"
    chooser = Scripted("bug-triage", 0.9)
    router = Router(CANDIDATES, thresholds=Thresholds(retrieval=100.0), chooser=chooser)
    d = await router.route("a text about a bug")
    assert (d.stage, d.choice) == ("intent", "bug-triage")
    assert "bug-triage" in chooser.offered[0]
    assert [s.stage for s in d.trail] == ["retrieval", "intent"]
    shy = Router(
        CANDIDATES, thresholds=Thresholds(retrieval=100.0), chooser=Scripted("bug-triage", 0.2)
    )
    d = await shy.route("a text about a bug")
    assert d.choice is None
    assert "0.20 < 0.5" in d.trail[-2].reason


def test_fitted_threshold_separates_the_labelled_scores() -> None:
    scores = [(9.0, True), (7.5, True), (6.0, True), (3.0, False), (2.0, False), (6.5, False)]
    cut = fit_threshold(scores)
    assert 3.0 < cut <= 6.0
    assert sum((s >= cut) == ok for s, ok in scores) == 5


async def test_decisions_are_recorded_with_their_trail(store: Store) -> None:
    router = Router(CANDIDATES, RULES)
    d = await router.route("summarise this text into key points")
    record(store, d)
    [row] = recent(store)
    assert row["choice"] == "summarise-text"
    assert row["stage"] == "retrieval"
    assert row["trail"][-1]["candidates"][0]["name"] == "summarise-text"


async def test_rule_and_keyword_stages_decide_fast() -> None:
    router = Router(CANDIDATES * 1, RULES * 20)
    times = []
    for i in range(200):
        started = time.perf_counter()
        await router.route(RouteRequest(f"crash number {i}", event="x"))
        times.append(time.perf_counter() - started)
    times.sort()
    assert times[int(len(times) * 0.95)] < 0.010


async def test_the_model_chooser_reads_an_answer_that_breaks_its_schema() -> None:
    """A small model may answer a confidence of 10 out of 1: the schema check refuses it, and
    the chooser still reads the choice (confidence clamped) instead of failing the route."""
    from evopipe.models.base import InvalidOutputError, ModelRequest
    from evopipe.models.testing import FunctionModel
    from evopipe.orchestrate.intent import ModelChooser

    def answer(_request: ModelRequest) -> str:
        raw = '{"choice": "bug-triage", "confidence": 10}'
        raise InvalidOutputError("confidence: 10 is greater than the maximum of 1", raw=raw)

    chooser = ModelChooser(FunctionModel(answer))
    assert await chooser.choose("the app crashes", CANDIDATES) == ("bug-triage", 1.0)

    def garbage(_request: ModelRequest) -> str:
        raise InvalidOutputError("not JSON", raw="I think bug triage")

    assert await ModelChooser(FunctionModel(garbage)).choose("x", CANDIDATES) == (None, 0.0)
