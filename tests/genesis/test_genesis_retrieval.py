"""Retrieval: SQLite FTS5 with BM25 over the patterns' names, descriptions, tags and prompts."""

from __future__ import annotations

import pytest

from evopipe.genesis.retrieval import PatternIndex, fts_query, retrieve


@pytest.mark.parametrize(
    ("request_text", "expected"),
    [
        ("Review this pull request diff for security bugs", "code-review-diff"),
        ("triage incoming bug reports by severity", "bug-triage"),
        ("translate the release notes to Japanese and check them", "translate-verify"),
        ("generate a github actions workflow for a go service", "cicd-workflow"),
        ("answer questions about the employee handbook", "document-qa"),
        ("postmortem of the outage from these logs", "incident-analysis"),
        ("an A/B test for the pricing page", "experiment-design"),
        ("clean and validate a csv of customers", "etl-validate"),
    ],
)
def test_top_hit(request_text: str, expected: str) -> None:
    hits = retrieve(request_text, k=3)
    assert hits[0].pattern.name == expected
    assert hits == sorted(hits, key=lambda h: -h.score)


def test_k_and_no_match() -> None:
    assert len(retrieve("summarise an article", k=1)) == 1
    assert retrieve("the of and", k=3) == []
    assert retrieve("zzqxv", k=3) == []


def test_query_is_escaped() -> None:
    # FTS5 operators and quotes in a request never reach the query syntax
    assert fts_query('NEAR(ab) "xy" OR -yz') == '"near" OR "ab" OR "xy" OR "yz"'
    with PatternIndex() as index:
        assert index.search('review "diff" AND (code) NOT *', k=2)
