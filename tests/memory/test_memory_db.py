"""The pattern DB, the failure museum and the innovation gallery on a real store."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from evopipe.app.schema import open_store
from evopipe.memory import PatternDB, PatternNotFoundError
from evopipe.memory.failures import CAUSES, FailureMuseum, classify
from evopipe.memory.innovations import Gallery, structure_of
from evopipe.spec import Pipeline, loads, spec_hash
from evopipe.store import Store

SUMMARY = """\
apiVersion: evopipe/v1
kind: Pipeline
name: news-digest
description: Summarise long news articles into five bullet points
inputs:
  article: {type: string}
outputs:
  bullets: "{{ steps.summarise.output }}"
steps:
  - id: summarise
    kind: llm
    prompt: "Summarise in five bullets:\\n{{ inputs.article }}"
"""


def summary(name: str = "news-digest", description: str | None = None) -> Pipeline:
    p = loads(SUMMARY).pipeline
    update: dict[str, str] = {"name": name}
    if description is not None:
        update["description"] = description
    return p.model_copy(update=update)


@pytest.fixture
def store() -> Iterator[Store]:
    s = open_store("sqlite:///:memory:", environ={})
    yield s
    s.close()


def test_patterns_are_stored_once_per_spec_and_searchable(store: Store) -> None:
    db = PatternDB(store)
    first = db.add(summary(), origin="champion", source_ref="registry:news-digest@v2", fitness=0.7)
    again = db.add(summary(), origin="certified", source_ref="nursery:abc", fitness=0.6)
    assert first.pattern_id == again.pattern_id == spec_hash(summary())
    assert again.fitness == 0.7  # the best fitness is kept
    assert again.origin == "certified"  # a certification is recorded
    other = summary("invoice-fields", "Extract the invoice number, vendor and total")
    db.add(other, origin="champion", source_ref="registry:invoice-fields@v1")
    assert len(db.entries()) == 2
    [(best, score), *_] = db.search("five bullet points summary of a news article")
    assert best.name == "news-digest"
    assert score > 0
    assert db.search("invoice vendor total")[0][0].name == "invoice-fields"
    assert db.search("zzz qqq") == []
    assert db.get("news-digest").pattern_id == first.pattern_id
    assert db.get(first.pattern_id[:8]).name == "news-digest"
    with pytest.raises(PatternNotFoundError, match="no pattern"):
        db.get("nothing-like-it")
    db.mark_reused([first.pattern_id, first.pattern_id])
    assert db.get(first.pattern_id).reuse_count == 1
    shown = db.get(first.pattern_id).to_json(with_spec=True)
    assert shown["steps"] == ["summarise"]
    assert shown["spec"]["name"] == "news-digest"


@pytest.mark.parametrize(
    ("message", "cause"),
    [
        ("sim: rate limited (429)", "rate-limit"),
        ("step answer timed out after 30 s", "timeout"),
        ("output is not valid JSON: truncated", "malformed-output"),
        ("output violates the contract: 'total' is a required property", "contract-violation"),
        ("tool arithmetic failed: division by zero", "tool-error"),
        ("server error (500)", "server-error"),
        ("[unknown-reference] steps.x is undefined", "invalid-spec"),
        ("wrong count", "wrong-answer"),
        ("the moon is made of cheese", "other"),
    ],
)
def test_failures_are_classified_by_cause(message: str, cause: str) -> None:
    assert classify(message) == cause
    assert cause == "other" or cause in dict(CAUSES)


def test_the_museum_clusters_failures_with_examples(store: Store) -> None:
    museum = FailureMuseum(store)
    for i in range(3):
        museum.record(origin="evaluation", subject=f"c{i}", message="timed out", example={"i": i})
    museum.record(origin="generation", subject="req", message="[schema] not an object")
    clusters = museum.clusters(examples=2)
    assert [(c.cause, c.count) for c in clusters] == [("timeout", 3), ("contract-violation", 1)]
    assert clusters[0].origins == {"evaluation": 3}
    assert len(clusters[0].examples) == 2
    assert clusters[0].examples[0]["example"] in ({"i": 2}, {"i": 1}, {"i": 0})
    relevant = museum.relevant("the step timed out again")
    assert relevant is not None
    assert relevant.cause == "timeout"
    assert "Seen 3 time(s) before (timeout)" in relevant.lesson()
    assert museum.relevant("wrong count") is None


def test_the_gallery_keeps_only_first_improvements(store: Store) -> None:
    gallery = Gallery(store)
    p = summary()
    assert structure_of(p) == "llm"
    kwargs = {"candidate_id": "c1", "run_id": "r1", "operators": ["reflect"], "lineage": ["s"]}
    assert gallery.offer(p, fitness_gain=0.0, **kwargs) is None  # no improvement
    found = gallery.offer(p, fitness_gain=0.2, **kwargs)
    assert found is not None
    assert gallery.offer(p, fitness_gain=0.5, **kwargs) is None  # known structure
    [entry] = gallery.entries()
    assert entry.fitness_gain == 0.2
    assert entry.lineage == ("s",)
    assert gallery.known() == {"llm"}
