"""Full-text ranking shared by genesis and the pattern DB: an in-memory SQLite FTS5 index
ranked with BM25 over weighted columns.

A query ORs the text's significant words, each quoted (so no FTS syntax leaks through).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence

_WORD = re.compile(r"[A-Za-z0-9]+")
_STOP = frozenset(
    re.findall(
        r"\w+",
        "a an and are as at be by for from how i in into is it its me my of on or that the this "
        "to we with you your create build make pipeline pipelines want need please which what",
    )
)
_COLUMN = re.compile(r"^[a-z_]+$")


def fts_query(text: str) -> str:
    """An FTS5 query OR-ing the text's significant words, each quoted."""
    words: list[str] = []
    for word in _WORD.findall(text.lower()):
        if word not in _STOP and len(word) > 1 and word not in words:
            words.append(word)
    return " OR ".join(f'"{w}"' for w in words)


class TextIndex:
    """An FTS5 index over documents (one text per column). Use as a context manager."""

    def __init__(self, columns: Sequence[tuple[str, float]], docs: Sequence[Sequence[str]]):
        if not columns or not all(_COLUMN.match(name) for name, _ in columns):
            raise ValueError(f"bad column names {[name for name, _ in columns]}")
        self._weights = ", ".join(str(w) for _, w in columns)
        names = ", ".join(name for name, _ in columns)
        marks = ", ".join("?" for _ in columns)
        self._db = sqlite3.connect(":memory:")
        self._db.execute(
            f"CREATE VIRTUAL TABLE docs USING fts5({names}, tokenize='porter unicode61')"
        )
        self._db.executemany(
            f"INSERT INTO docs(rowid, {names}) VALUES (?, {marks})",
            [(i, *doc) for i, doc in enumerate(docs)],
        )

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> TextIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def search(self, text: str, k: int) -> list[tuple[int, float]]:
        """The ``k`` best documents for ``text`` as (position, score; higher is better)."""
        query = fts_query(text)
        if not query or k <= 0:
            return []
        rows = self._db.execute(
            f"SELECT rowid, bm25(docs, {self._weights}) AS rank FROM docs WHERE docs MATCH ? "
            "ORDER BY rank LIMIT ?",
            (query, k),
        ).fetchall()
        return [(int(rowid), -float(rank)) for rowid, rank in rows]
