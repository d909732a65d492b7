"""Full-text search over pipeline descriptions: an in-memory SQLite FTS5 index ranked by BM25.

Used by the router's retrieval stage over the registry and the shipped library. Documents are
``(name, description, tags)``; the name and tags weigh more than the description. A request's
words are OR-ed as quoted terms, so no FTS syntax in a request can reach the engine.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence

_TERM = re.compile(r"[^\W_]+", re.UNICODE)
_NOISE_WORDS = (
    "a an and are as at be by can do for from how i in is it me my of on or our please the "
    "this to we what when which with you your"
)
_NOISE = frozenset(_NOISE_WORDS.split(" "))
_WEIGHTS = "bm25(idx, 3.0, 1.0, 2.5)"


def terms(text: str) -> list[str]:
    """The searchable words of ``text`` (lower-cased, noise words dropped, order kept)."""
    return [w for w in (m.lower() for m in _TERM.findall(text)) if w not in _NOISE]


class TextIndex:
    """BM25 over ``(name, description, tags)`` documents; :meth:`search` gives positive
    scores, higher is better."""

    def __init__(self, documents: Sequence[tuple[str, str, str]]) -> None:
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._db.execute(
            "CREATE VIRTUAL TABLE idx USING fts5(name, description, tags, "
            "tokenize='porter unicode61')"
        )
        self._db.executemany(
            "INSERT INTO idx(rowid, name, description, tags) VALUES (?, ?, ?, ?)",
            [
                (i, n.replace("-", " "), d, t.replace("-", " "))
                for i, (n, d, t) in enumerate(documents)
            ],
        )
        self.size = len(documents)

    def search(self, text: str, k: int = 5) -> list[tuple[int, float]]:
        """``(document index, score)`` of the ``k`` best matches of any word of ``text``."""
        words = terms(text)
        if not words or not self.size:
            return []
        query = " OR ".join('"' + w.replace('"', "") + '"' for w in dict.fromkeys(words))
        rows = self._db.execute(
            f"SELECT rowid, {_WEIGHTS} AS r FROM idx WHERE idx MATCH ? ORDER BY r LIMIT ?",
            (query, k),
        ).fetchall()
        return [(int(i), -float(r)) for i, r in rows]

    def close(self) -> None:
        self._db.close()
