"""Retrieval of similar patterns by text: an in-memory SQLite FTS5 index ranked with BM25.

The index holds each pattern's name, description, tags and step prompts. Names and tags weigh
more than prompts. A request's words are OR-ed (quoted, so no FTS syntax leaks through).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from evopipe.genesis.patterns import Pattern, load_patterns

_WORD = re.compile(r"[A-Za-z0-9]+")
_STOP = frozenset(
    re.findall(
        r"\w+",
        "a an and are as at be by for from how i in into is it its me my of on or that the this "
        "to we with you your create build make pipeline pipelines want need please which what",
    )
)
_WEIGHTS = (4.0, 2.0, 3.0, 1.0)  # name, description, tags, prompts


@dataclass(frozen=True)
class Hit:
    """A retrieved pattern and its BM25 score (lower is better in SQLite; we negate it)."""

    pattern: Pattern
    score: float


class PatternIndex:
    """An FTS5 index over patterns. Use as a context manager or call :meth:`close`."""

    def __init__(self, patterns: Sequence[Pattern] | None = None) -> None:
        self.patterns = tuple(patterns if patterns is not None else load_patterns())
        self._db = sqlite3.connect(":memory:")
        self._db.execute(
            "CREATE VIRTUAL TABLE docs USING fts5("
            "name, description, tags, prompts, tokenize='porter unicode61')"
        )
        self._db.executemany(
            "INSERT INTO docs(rowid, name, description, tags, prompts) VALUES (?, ?, ?, ?, ?)",
            [
                (
                    i,
                    p.name.replace("-", " "),
                    p.description,
                    " ".join(t.replace("-", " ") for t in p.tags),
                    "\n".join(p.prompts()),
                )
                for i, p in enumerate(self.patterns)
            ],
        )

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> PatternIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def search(self, request: str, k: int = 3) -> list[Hit]:
        """The ``k`` best patterns for ``request``; fewer if fewer match any word."""
        query = fts_query(request)
        if not query:
            return []
        weights = ", ".join(str(w) for w in _WEIGHTS)
        rows = self._db.execute(
            f"SELECT rowid, bm25(docs, {weights}) AS rank FROM docs WHERE docs MATCH ? "
            "ORDER BY rank LIMIT ?",
            (query, k),
        ).fetchall()
        return [Hit(self.patterns[rowid], -float(rank)) for rowid, rank in rows]


def fts_query(request: str) -> str:
    """An FTS5 query OR-ing the request's significant words, each quoted."""
    words: list[str] = []
    for word in _WORD.findall(request.lower()):
        if word not in _STOP and len(word) > 1 and word not in words:
            words.append(word)
    return " OR ".join(f'"{w}"' for w in words)


def retrieve(request: str, k: int = 3, patterns: Sequence[Pattern] | None = None) -> list[Hit]:
    """The ``k`` patterns most similar to ``request`` (BM25 over an in-memory FTS5 index)."""
    with PatternIndex(patterns) as index:
        return index.search(request, k)
