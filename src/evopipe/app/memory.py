"""Collective-memory operations: the pattern DB (``evopipe patterns list|show|search``), the
failure museum (``evopipe failures``), the innovation gallery and the ecosystem's meta-metrics
(``evopipe stats``); plus what other operations file into memory (champions, failed rounds)."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from evopipe.app.group import OperationGroup
from evopipe.evolve.fitness import EvalRecord
from evopipe.evolve.stats import ecosystem_stats
from evopipe.memory.failures import Cluster, FailureMuseum
from evopipe.memory.innovations import Gallery, Innovation
from evopipe.memory.patterns import PatternDB, StoredPattern
from evopipe.nursery.records import is_certified
from evopipe.spec import Pipeline

if TYPE_CHECKING:
    from evopipe.evolve.promotion import Decision
    from evopipe.genesis.patterns import Pattern
    from evopipe.genesis.result import Round
    from evopipe.memory.embeddings import Embedder

__all__ = ["Cluster", "Innovation", "Memory", "StoredPattern"]


class Memory(OperationGroup):
    @cached_property
    def embedder(self) -> Embedder | None:
        """The configured embedding model (``embeddings``), loaded once; None: full text only."""
        from evopipe.memory.embeddings import embedder_named

        return embedder_named(self.app.settings.embeddings)

    @property
    def patterns_db(self) -> PatternDB:
        return PatternDB(self.app.store, self.embedder)

    @property
    def museum(self) -> FailureMuseum:
        return FailureMuseum(self.app.store)

    # -- the pattern DB -------------------------------------------------------------------

    def patterns(self, limit: int = 100) -> list[StoredPattern]:
        return self.patterns_db.entries(limit)

    def pattern(self, ident: str) -> StoredPattern:
        return self.patterns_db.get(ident)

    def search(self, text: str, k: int = 5) -> list[tuple[StoredPattern, float]]:
        return self.patterns_db.search(text, k)

    def for_genesis(self, request: str, k: int = 5) -> list[Pattern]:
        """Stored pipelines similar to ``request``, as genesis patterns."""
        from evopipe.genesis.memory import memory_patterns

        return memory_patterns(self.app.store, request, k, embedder=self.embedder)

    def reused(self, pattern_name: str | None) -> None:
        """Count a reuse when genesis adapted a stored pipeline (``memory/<id>``)."""
        from evopipe.genesis.memory import pattern_id

        prefix = pattern_id(pattern_name)
        if prefix:
            db = self.patterns_db
            db.mark_reused([db.get(prefix).pattern_id])

    def remember_champion(
        self, decision: Decision, spec: Pipeline, test: EvalRecord | None
    ) -> StoredPattern:
        """A promoted champion enters the pattern DB with its test-split fitness."""
        return self.patterns_db.add(
            spec,
            origin="champion",
            source_ref=f"registry:{decision.name}@v{decision.version}",
            fitness=test.quality if test is not None else None,
        )

    def is_certified(self, candidate_id: str) -> bool:
        return is_certified(self.app.store, candidate_id)

    # -- failures, innovations, stats -------------------------------------------------------

    def failures(self, examples: int = 3) -> list[Cluster]:
        return self.museum.clusters(examples)

    def file_rounds(self, request: str, rounds: list[Round]) -> None:
        """File the diagnostics of failed generation rounds in the failure museum."""
        museum = self.museum
        for r in rounds:
            if r.valid:
                continue
            for d in (r.diagnostics or r.first_diagnostics)[:3]:
                museum.record(
                    origin="generation",
                    subject=request[:200],
                    message=f"[{d.rule}] {d.message}",
                    example={"round": r.number, "source": r.source, "where": d.where},
                )

    def lessons(self, request: str) -> list[str]:
        """The museum's lessons for the causes that failed generations most often."""
        return [c.lesson() for c in self.museum.clusters() if "generation" in c.origins][:3]

    def innovations(self, limit: int = 50) -> list[Innovation]:
        return Gallery(self.app.store).entries(limit)

    def stats(self) -> dict[str, Any]:
        return ecosystem_stats(self.app.store)
