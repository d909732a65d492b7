"""Genesis reads the collective memory: stored champions and certified pipelines become
patterns beside the shipped library, and a stored pipeline that served a near-identical task
is reused first (adapted like a library pattern, then checked and dry-run as any draft).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evopipe.genesis.patterns import Pattern
from evopipe.genesis.retrieval import Hit
from evopipe.memory.patterns import PatternDB, StoredPattern
from evopipe.memory.textindex import fts_query
from evopipe.spec import to_yaml

MEMORY_PREFIX = "memory/"
REUSE_OVERLAP = 0.6
"""Share of the request's significant words the stored task must contain to be reused as is."""


def as_pattern(stored: StoredPattern) -> Pattern:
    """A stored pipeline as a genesis pattern named ``memory/<id prefix>``."""
    name = MEMORY_PREFIX + stored.pattern_id[:12]
    return Pattern(
        name=name,
        path=Path(MEMORY_PREFIX) / f"{stored.pattern_id}.yaml",
        pipeline=stored.spec.model_copy(update={"description": stored.task[:300]}),
        text=to_yaml(stored.spec),
    )


def memory_patterns(store: Any, request: str, k: int = 5, *, embedder: Any = None) -> list[Pattern]:
    """The ``k`` stored pipelines most similar to ``request`` as patterns (none without a
    store or when nothing matches); ``embedder`` adds meaning to the full-text search."""
    if store is None:
        return []
    return [as_pattern(p) for p, _ in PatternDB(store, embedder).search(request, k)]


def _words(text: str) -> set[str]:
    """Significant words, cut to five letters (a crude stem: summarise ~ summarize)."""
    return {w.strip('"')[:5] for w in fts_query(text).split(" OR ") if w}


def overlap(request: str, task: str) -> float:
    """Share of the request's significant words found in ``task`` (0 when it has none)."""
    wanted = _words(request)
    return len(wanted & _words(task)) / len(wanted) if wanted else 0.0


def reusable(request: str, hits: Sequence[Hit]) -> Pattern | None:
    """The best memory hit when its task covers the request closely enough to reuse."""
    for hit in hits:
        pattern = hit.pattern
        close = overlap(request, pattern.description) >= REUSE_OVERLAP
        if pattern.name.startswith(MEMORY_PREFIX) and close:
            return pattern
    return None


def pattern_id(name: str | None) -> str | None:
    """The id prefix of a memory pattern name (None for a library pattern)."""
    if name and name.startswith(MEMORY_PREFIX):
        return name[len(MEMORY_PREFIX) :]
    return None
