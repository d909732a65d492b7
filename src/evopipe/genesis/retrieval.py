"""Retrieval of similar patterns by text: an in-memory SQLite FTS5 index ranked with BM25
(:class:`evopipe.memory.textindex.TextIndex`).

The index holds each pattern's name, description, tags and step prompts. Names and tags weigh
more than prompts. Patterns are the shipped library plus, when a caller hands them, the
collective memory's (promoted champions and certified pipelines, see :mod:`evopipe.memory`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from evopipe.genesis.patterns import Pattern, load_patterns
from evopipe.memory.textindex import TextIndex, fts_query

_COLUMNS = (("name", 4.0), ("description", 2.0), ("tags", 3.0), ("prompts", 1.0))


@dataclass(frozen=True)
class Hit:
    """A retrieved pattern and its BM25 score (higher is better)."""

    pattern: Pattern
    score: float


class PatternIndex:
    """An FTS5 index over patterns. Use as a context manager or call :meth:`close`."""

    def __init__(self, patterns: Sequence[Pattern] | None = None) -> None:
        self.patterns = tuple(patterns if patterns is not None else load_patterns())
        self._index = TextIndex(
            _COLUMNS,
            [
                (
                    p.name.replace("-", " "),
                    p.description,
                    " ".join(t.replace("-", " ") for t in p.tags),
                    "\n".join(p.prompts()),
                )
                for p in self.patterns
            ],
        )

    def close(self) -> None:
        self._index.close()

    def __enter__(self) -> PatternIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def search(self, request: str, k: int = 3) -> list[Hit]:
        """The ``k`` best patterns for ``request``; fewer if fewer match any word."""
        return [Hit(self.patterns[i], score) for i, score in self._index.search(request, k)]


def retrieve(request: str, k: int = 3, patterns: Sequence[Pattern] | None = None) -> list[Hit]:
    """The ``k`` patterns most similar to ``request`` (BM25 over an in-memory FTS5 index)."""
    with PatternIndex(patterns) as index:
        return index.search(request, k)


__all__ = ["Hit", "PatternIndex", "fts_query", "retrieve"]
