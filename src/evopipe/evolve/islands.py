"""Colonies: island-model evolution.

Several populations evolve side by side, each with its own operator mix and random stream (and
its own run id, so each island has its lineage); every ``migrate_every`` generations each
island's best joins the next island (a ring). The call budget is split evenly between islands.
Totals count each candidate's evaluation once, however many islands it visited.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from evopipe.evolve.config import EvolveConfig, EvolveConfigError
from evopipe.evolve.ecosystem import MemoryRecorder
from evopipe.evolve.fitness import Evaluator
from evopipe.evolve.genome import candidate_id
from evopipe.evolve.loop import Evolution, EvolutionResult, new_run_id
from evopipe.evolve.operators import OperatorRunner
from evopipe.evolve.repository import EvolutionRepository, Member
from evopipe.spec import Pipeline


@dataclass(frozen=True)
class Colonies:
    mixes: tuple[tuple[str, ...], ...]
    """One operator mix per island."""
    migrate_every: int = 2

    def __post_init__(self) -> None:
        if len(self.mixes) < 2 or any(not m for m in self.mixes) or self.migrate_every < 1:
            raise EvolveConfigError("islands need >= 2 non-empty operator mixes, migrate >= 1")


@dataclass
class IslandsResult:
    runs: list[EvolutionResult]
    champion_id: str
    champion_quality: float
    calls: int
    migrations: int
    trajectory: list[tuple[int, float]] = field(default_factory=list)
    """(calls spent, best quality) after every generation."""


def _island(i: int, config: EvolveConfig, colonies: Colonies, n: int) -> EvolveConfig:
    budget = config.budget_calls // n if config.budget_calls is not None else None
    return replace(
        config, operators=colonies.mixes[i], seed=config.seed * 1000 + i, budget_calls=budget
    )


class Archipelago:
    def __init__(
        self,
        seed: Pipeline,
        *,
        repo: EvolutionRepository,
        evaluator: Evaluator,
        config: EvolveConfig,
        colonies: Colonies,
        run_operator: OperatorRunner | None = None,
        memory: MemoryRecorder | None = None,
    ) -> None:
        self.seed, self.config, self.colonies = seed, config, colonies
        n = len(colonies.mixes)
        self.islands: list[Evolution] = []
        for i in range(n):
            cfg = _island(i, config, colonies, n)
            rid = new_run_id()
            repo.put_spec(candidate_id(seed), seed)
            info: dict[str, Any] = {"config": cfg.to_json(), "dataset_key": evaluator.dataset_key}
            repo.create_run(rid, seed.name, candidate_id(seed), {**info, "island": i})
            self.islands.append(
                Evolution(
                    repo=repo,
                    evaluator=evaluator,
                    config=cfg,
                    run_id=rid,
                    run_operator=run_operator,
                    memory=memory,
                )
            )
        self.migrations = 0

    def calls(self) -> int:
        """Calls over all islands, each candidate's evaluations counted once."""
        seen: dict[str, int] = {}
        operators = 0
        for evo in self.islands:
            for cid, rec in [
                *evo.records.items(),
                *(("fb:" + k, v) for k, v in evo.feedback.items()),
            ]:
                seen[cid] = rec.calls
            operators += sum(p.calls for p in evo.done.values())
        return sum(seen.values()) + operators

    def best(self) -> tuple[str, float]:
        pairs = [(evo.best(list(evo.records)), evo) for evo in self.islands]
        cid, evo = max(pairs, key=lambda p: p[1].records[p[0]].quality)
        return cid, evo.records[cid].quality

    async def _migrate(self, gen: int, pops: list[list[str]]) -> None:
        n = len(self.islands)
        bests = [self.islands[i].best(pops[i]) for i in range(n)]
        for i, cid in enumerate(bests):
            target, j = self.islands[(i + 1) % n], (i + 1) % n
            if cid in pops[j]:
                continue
            if cid not in target.specs:
                spec = self.islands[i].specs[cid]
                await target.admit(spec, Member(cid, 0, gen, (cid,), ("migrate",), "", "evaluated"))
            pops[j] = [*pops[j], cid]
            self.migrations += 1

    async def run(self) -> IslandsResult:
        pops = [await evo._seed(self.seed) for evo in self.islands]
        trajectory: list[tuple[int, float]] = []
        for gen in range(1, self.config.generations + 1):
            for i, evo in enumerate(self.islands):
                evo.generation = gen
                pops[i], _ = await evo._generation(gen, pops[i])
            trajectory.append((self.calls(), self.best()[1]))
            if self.best()[1] >= 1.0 or all(evo.over_budget() for evo in self.islands):
                break
            if gen % self.colonies.migrate_every == 0:
                await self._migrate(gen, pops)
        seed_id = candidate_id(self.seed)
        runs = [
            evo._finish(seed_id, pop, "islands")
            for evo, pop in zip(self.islands, pops, strict=True)
        ]
        champion, quality = self.best()
        return IslandsResult(runs, champion, quality, self.calls(), self.migrations, trajectory)


async def run_islands(seed: Pipeline, **kwargs: Any) -> IslandsResult:
    """Evolve ``seed`` on islands (keyword arguments of :class:`Archipelago`)."""
    return await Archipelago(seed, **kwargs).run()


__all__ = ["Archipelago", "Colonies", "IslandsResult", "run_islands"]
