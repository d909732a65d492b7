"""The evolution loop: propose, check, evaluate (once per spec), select; checkpoint everything.

Determinism: every random decision of generation ``g``, slot ``s`` comes from
``random.Random(f"{seed}:{g}:{s}")``, and every proposal and evaluation is checkpointed in the
store before the loop moves on. Resuming replays the checkpoints (paying for nothing twice) and
continues with the same random streams, so a resumed run ends where an uninterrupted one does.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from evopipe.evolve.config import EvolveConfig, EvolveConfigError, EvolveHook, Progress
from evopipe.evolve.ecosystem import MemoryRecorder
from evopipe.evolve.fitness import EvalRecord, Evaluator
from evopipe.evolve.genome import candidate_id, spec_diff
from evopipe.evolve.metrics import meta_metrics, operator_stats
from evopipe.evolve.notes import run_notes
from evopipe.evolve.operator_health import operator_model_report
from evopipe.evolve.operators import (
    OPERATORS,
    Operator,
    OperatorContext,
    OperatorError,
    OperatorRunner,
)
from evopipe.evolve.repository import EvolutionRepository, Member, Proposal
from evopipe.evolve.selection import oriented, pareto_front, sample_parent, survivors
from evopipe.evolve.validity import check_offspring
from evopipe.spec import Pipeline


@dataclass
class MeteredRunner:
    """Wraps an operator runner, counting the calls and cost its pipelines spend."""

    inner: OperatorRunner | None
    calls: int = 0
    cost_usd: float = 0.0

    async def __call__(self, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        if self.inner is None:
            raise OperatorError("no operator runner configured")
        out = await self.inner(name, inputs)
        usage = out.pop("__usage__", {}) if isinstance(out, dict) else {}
        self.calls += int(usage.get("calls", 0))
        self.cost_usd += float(usage.get("cost_usd") or 0.0)  # unknown price: known part
        return out


@dataclass
class EvolutionResult:
    run_id: str
    seed_id: str
    champion_id: str
    front: list[str]
    population: list[str]
    generations: int
    stop_reason: str
    summary: dict[str, Any] = field(default_factory=dict)


class Evolution:
    """One evolution run over a seed pipeline (create with :func:`start` or :func:`resume`)."""

    def __init__(
        self,
        *,
        repo: EvolutionRepository,
        evaluator: Evaluator,
        config: EvolveConfig,
        run_id: str,
        run_operator: OperatorRunner | None = None,
        hooks: Sequence[EvolveHook] = (),
        memory: MemoryRecorder | None = None,
        from_memory: Sequence[Pipeline] = (),
        donors: Sequence[Pipeline] = (),
        operators: Mapping[str, Operator] | None = None,
    ) -> None:
        """``memory`` records failures and innovations (and lends ``reflect`` the museum's
        lessons); ``from_memory`` joins the seed in generation 0; ``donors`` are stored
        pipelines ``transplant`` and ``crossover`` may draw from after the population."""
        self.operators = operator_table(config, operators)
        self.repo = repo
        self.memory = memory
        self._innovations: list[Pipeline] | None = None
        self.from_memory = tuple(from_memory)
        self.donors = tuple(donors)
        if memory is not None and run_operator is not None:
            run_operator = memory.lessons(run_operator)
        self.evaluator = evaluator
        self.config = config
        self.run_id = run_id
        self.runner = MeteredRunner(run_operator)
        self.hooks = list(hooks)
        self.records: dict[str, EvalRecord] = {}
        self.feedback: dict[str, EvalRecord] = {}
        self.specs: dict[str, Pipeline] = {}
        self.attempts: dict[str, dict[str, int]] = {}
        """Operator → outcome → count, over every try of this process (not only the tries
        that became a slot's proposal): what the notes explain idle operators with."""
        self.generation = 0
        self.paid_evaluations = 0
        self.done: dict[tuple[int, int], Proposal] = repo.proposals(run_id)
        self.order: dict[str, int] = {m.candidate_id: m.seq for m in repo.members(run_id)}
        self.started = time.monotonic()

    # -- evaluation (never twice for the same spec) ---------------------------------------

    def spent(self) -> tuple[int, float]:
        """Calls and USD used by this run: its evaluations plus its operators' pipelines."""
        records = [*self.records.values(), *self.feedback.values()]
        calls = sum(r.calls for r in records)
        cost = sum(r.cost_usd for r in records)
        for p in self.done.values():
            calls += p.calls
            cost += p.cost_usd
        return calls, cost

    def over_budget(self) -> bool:
        calls, cost = self.spent()
        c = self.config
        if c.budget_usd is not None and not getattr(self.evaluator, "cost_known", True):
            raise EvolveConfigError(
                f"--budget-usd ${c.budget_usd} cannot be enforced: a model the candidates call "
                'has no known price (add [prices."MODEL"] to evopipe.toml, or use '
                "--budget-calls)"
            )
        return (c.budget_calls is not None and calls >= c.budget_calls) or (
            c.budget_usd is not None and cost >= c.budget_usd
        )

    async def _evaluate(self, cid: str, split: str, limit: int | None = None) -> EvalRecord:
        key = split if limit is None else f"{split}[:{limit}]"
        record = self.repo.get_evaluation(cid, self.evaluator.dataset_key, key)
        if record is None:
            record = await self.evaluator.evaluate(self.specs[cid], split, limit=limit)
            record = EvalRecord(key, record.examples)
            self.repo.put_evaluation(cid, self.evaluator.dataset_key, record)
            self.paid_evaluations += 1
            if self.memory is not None:
                self.memory.evaluated(cid, record)
        return record

    async def admit(self, pipeline: Pipeline, member: Member) -> str:
        """Store a candidate, evaluate it on the selection split (once), notify hooks."""
        cid = member.candidate_id
        self.specs[cid] = pipeline
        self.repo.put_spec(cid, pipeline)
        self.repo.add_member(self.run_id, member)
        self.order.setdefault(cid, len(self.order))
        self.records[cid] = await self._evaluate(cid, self.config.selection_split)
        self._notify("evaluated")
        return cid

    async def feedback_for(self, cid: str) -> EvalRecord:
        if cid not in self.feedback:
            self.feedback[cid] = await self._evaluate(
                cid, self.config.feedback_split, self.config.feedback_size
            )
        return self.feedback[cid]

    # -- selection ------------------------------------------------------------------------

    def points(self, ids: Sequence[str]) -> dict[str, tuple[float, ...]]:
        names = self.config.objectives
        return {i: oriented(self.records[i].objectives(), names) for i in ids}

    def best(self, ids: Sequence[str]) -> str:
        """Highest quality; ties → lower cost, then the earlier candidate."""
        order = self.order
        return min(
            ids,
            key=lambda i: (
                -self.records[i].quality,
                self.records[i].objectives()["cost"],
                order.get(i, 0),
            ),
        )

    def _notify(self, event: str, population: Sequence[str] = ()) -> None:
        ids = list(population) or list(self.records)
        best = self.best(ids)
        calls, cost = self.spent()
        progress = Progress(
            run_id=self.run_id,
            event=event,
            generation=self.generation,
            evaluations=len(self.records),
            best_id=best,
            best_quality=self.records[best].quality,
            front_size=len(pareto_front(self.points(ids))),
            calls=calls,
            cost_usd=cost,
            operator_rates={
                k: v["success_rate"] for k, v in operator_stats(self._stats_input()).items()
            },
        )
        for hook in self.hooks:
            hook(progress=progress)

    def _stats_input(self) -> tuple[list[Proposal], dict[str, float]]:
        quality = {cid: r.quality for cid, r in self.records.items()}
        return list(self.done.values()), quality

    # -- proposals --------------------------------------------------------------------------

    async def propose(self, gen: int, slot: int, population: list[str]) -> Proposal:
        """Draw a parent and operators from this slot's RNG until one yields a new offspring."""
        rng = random.Random(f"{self.config.seed}:{gen}:{slot}")
        parent = sample_parent({i: self.records[i].scores for i in population}, rng)
        order = self.operator_order(gen, slot)
        calls0, cost0 = self.runner.calls, self.runner.cost_usd
        outcome, child, used, fed = "none", None, order[0], False
        partners: tuple[str, ...] = ()
        for k in range(self.config.tries_per_slot):
            name = order[k % len(order)]
            used = name
            fed = fed or self.operators[name].needs_feedback
            outcome, child, partners = await self._try(name, parent, population, rng)
            tally = self.attempts.setdefault(name, {})
            tally[outcome] = tally.get(outcome, 0) + 1
            if outcome in ("ok", "repaired"):
                break
            if self.memory is not None and outcome in ("invalid", "failed"):
                self.memory.rejected(name, parent, outcome)
        return Proposal(
            generation=gen,
            slot=slot,
            operator=used,
            parents=(parent, *partners),
            outcome=outcome,
            child_id=candidate_id(child) if child is not None else None,
            spec=child,
            feedback_id=parent if fed else None,
            calls=self.runner.calls - calls0,
            cost_usd=self.runner.cost_usd - cost0,
        )

    def operator_order(self, gen: int, slot: int) -> list[str]:
        """Operators to try for this slot: round-robin over one seeded permutation of the
        enabled operators, so every operator leads a slot once every ``len(operators)`` slots
        (no operator is starved by chance on a small budget)."""
        ops = list(self.config.operators)
        random.Random(f"{self.config.seed}:operators").shuffle(ops)
        start = ((gen - 1) * self.config.offspring + slot) % len(ops)
        return ops[start:] + ops[:start]

    def _gallery(self) -> list[Pipeline]:
        """The innovation gallery's latest specs (the scout's known structures); read once."""
        if self._innovations is None:
            self._innovations = self.memory.innovations() if self.memory is not None else []
        return self._innovations

    async def _try(
        self, name: str, parent: str, population: list[str], rng: random.Random
    ) -> tuple[str, Pipeline | None, tuple[str, ...]]:
        """(outcome, child, ids of the other parents the operator drew from)."""
        op = self.operators[name]
        ranked = sorted(population, key=self._rank)
        ranked += sorted((i for i in self.records if i not in population), key=self._rank)
        others = [self.specs[i] for i in ranked if i != parent][:8] + list(self.donors)
        ctx = OperatorContext(
            rng=rng,
            feedback=await self.feedback_for(parent) if op.needs_feedback else None,
            others=others,
            models=self.config.models,
            run_operator=self.runner if self.runner.inner is not None else None,
            gallery=self._gallery() if name == "scout" else (),
        )
        try:
            child = await op.apply(self.specs[parent], ctx)
        except OperatorError:
            return "failed", None, ()
        if child is None:
            return "none", None, ()
        checked = check_offspring(child)
        if checked.pipeline is None:
            return "invalid", None, ()
        cid = candidate_id(checked.pipeline)
        if cid in self.specs:
            return "duplicate", None, ()
        partners = tuple(dict.fromkeys(candidate_id(p) for p in ctx.partners))
        return checked.verdict, checked.pipeline, tuple(p for p in partners if p != parent)

    def _rank(self, cid: str) -> tuple[float, str]:
        return (-self.records[cid].quality, cid)

    # -- the run ----------------------------------------------------------------------------

    async def _seed(self, seed: Pipeline) -> list[str]:
        cid = candidate_id(seed)
        member = Member(cid, 0, 0, (), ("seed",), "", "evaluated")
        await self.admit(seed, member)
        ids = [cid]
        for stored in self.from_memory:
            mid = candidate_id(stored)
            if mid not in ids:
                await self.admit(stored, Member(mid, 0, 0, (), ("memory",), "", "evaluated"))
                ids.append(mid)
        pops = self.repo.populations(self.run_id)
        if 0 not in pops:
            self.repo.put_population(self.run_id, 0, ids)
        return ids

    async def _generation(self, gen: int, population: list[str]) -> tuple[list[str], bool]:
        """Run one generation; returns the survivors and whether the budget stopped it."""
        done = self.done
        children: list[str] = []
        for slot in range(self.config.offspring):
            if self.over_budget():
                return population, True
            proposal = done.get((gen, slot))
            if proposal is None:
                proposal = await self.propose(gen, slot, population)
                self.repo.put_proposal(self.run_id, proposal)
                done[(gen, slot)] = proposal
            elif proposal.feedback_id is not None:
                await self.feedback_for(proposal.feedback_id)
            if proposal.spec is None or proposal.child_id is None:
                continue
            diff = spec_diff(self.specs[proposal.parents[0]], proposal.spec)
            ops = (proposal.operator,) + (("repair",) if proposal.outcome == "repaired" else ())
            member = Member(proposal.child_id, 0, gen, proposal.parents, ops, diff, "evaluated")
            children.append(await self.admit(proposal.spec, member))
            self._remember(proposal, ops)
        pool = sorted(set(population) | set(children))
        kept = survivors(self.points(pool), self.config.population)
        self.repo.put_population(self.run_id, gen, kept)
        return kept, False

    def _remember(self, proposal: Proposal, ops: tuple[str, ...]) -> None:
        """Offer an offspring that beat its parents to the innovation gallery."""
        if self.memory is None or proposal.spec is None or proposal.child_id is None:
            return
        parent_q = max(self.records[p].quality for p in proposal.parents if p in self.records)
        gain = self.records[proposal.child_id].quality - parent_q
        if gain > 0:
            self.memory.improved(
                self.run_id, proposal.spec, proposal.child_id, ops, proposal.parents, gain
            )

    async def run(self, seed: Pipeline) -> EvolutionResult:
        population = await self._seed(seed)
        seed_id = population[0]
        best_q, stale, stop = self.records[seed_id].quality, 0, "generations"
        start_best = self.best(population)
        if start_best != seed_id and self.records[start_best].quality >= 1.0:
            return self._finish(seed_id, population, "perfect")  # a stored pipeline was perfect
        for gen in range(1, self.config.generations + 1):
            self.generation = gen
            population, budget_hit = await self._generation(gen, population)
            self._notify("generation", population)
            if budget_hit:
                stop = "budget"
                break
            q = self.records[self.best(population)].quality
            stale = 0 if q > best_q else stale + 1
            best_q = max(best_q, q)
            if q >= 1.0:
                stop = "perfect"  # nothing left to improve on the selection split
                break
            if stale >= self.config.patience:
                stop = "converged"
                break
        return self._finish(seed_id, population, stop)

    def _selection_size(self) -> int | None:
        size = getattr(self.evaluator, "split_size", None)
        return int(size(self.config.selection_split)) if callable(size) else None

    def _finish(self, seed_id: str, population: list[str], stop: str) -> EvolutionResult:
        ids = list(self.records)
        front = pareto_front(self.points(ids))
        champion = self.best(ids)
        calls, cost = self.spent()
        proposals, quality = self._stats_input()
        summary: dict[str, Any] = {
            "seed_id": seed_id,
            "champion_id": champion,
            "seed_quality": self.records[seed_id].quality,
            "champion_quality": self.records[champion].quality,
            "front": front,
            "population": population,
            "generations": self.generation,
            "stop_reason": stop,
            "calls": calls,
            "cost_usd": cost,
            "candidates": len(ids),
            "notes": run_notes(
                stop=stop,
                seed_quality=self.records[seed_id].quality,
                selection=(self.config.selection_split, self._selection_size()),
                attempts=self.attempts,
                generations=self.generation,
            ),
            "meta": meta_metrics(
                seed_quality=self.records[seed_id].quality,
                best_quality=self.records[champion].quality,
                calls=calls,
                generations=self.generation,
                wall_s=time.monotonic() - self.started,
                front_structures=[self.specs[i] for i in front],
                seed=self.specs[seed_id],
                proposals=proposals,
                quality=quality,
            )
            | {"operator_model": operator_model_report(proposals, self.specs)},
        }
        self.repo.finish_run(self.run_id, "finished", summary)
        return EvolutionResult(
            self.run_id, seed_id, champion, front, population, self.generation, stop, summary
        )


def operator_table(
    config: EvolveConfig, supplied: Mapping[str, Operator] | None = None
) -> dict[str, Operator]:
    """The built-in operators plus those ``supplied`` for this run (the application layer
    supplies the ones that need the session's models or an optional extra); every operator
    the config enables must be in it."""
    table = {**OPERATORS, **(supplied or {})}
    missing = [name for name in config.operators if name not in table]
    if missing:
        raise EvolveConfigError(
            f"operator(s) {', '.join(missing)} were not supplied for this run (evolve through "
            "evopipe.app, which supplies them when their extra is installed)"
        )
    return table


def new_run_id() -> str:
    return "evo_" + uuid.uuid4().hex[:16]


async def start(
    seed: Pipeline,
    *,
    repo: EvolutionRepository,
    evaluator: Evaluator,
    config: EvolveConfig,
    run_operator: OperatorRunner | None = None,
    hooks: Sequence[EvolveHook] = (),
    run_id: str | None = None,
    extra: dict[str, Any] | None = None,
    memory: MemoryRecorder | None = None,
    from_memory: Sequence[Pipeline] = (),
    donors: Sequence[Pipeline] = (),
    operators: Mapping[str, Operator] | None = None,
) -> EvolutionResult:
    """Start a new evolution run of ``seed`` (checkpointed in ``repo``'s store); ``operators``
    adds operators to the built-in table for this run. The stored pipelines it starts from or
    draws on are recorded with it, so a resume uses the same."""
    operator_table(config, operators)  # refuse before anything is written
    rid = run_id or new_run_id()
    repo.put_spec(candidate_id(seed), seed)
    for stored in (*from_memory, *donors):
        repo.put_spec(candidate_id(stored), stored)
    recalled = {
        "from_memory": [candidate_id(p) for p in from_memory],
        "donors": [candidate_id(p) for p in donors],
    }
    repo.create_run(
        rid,
        seed.name,
        candidate_id(seed),
        {
            "config": config.to_json(),
            "dataset_key": evaluator.dataset_key,
            **(extra or {}),
            "memory": recalled,
        },
    )
    evo = Evolution(
        repo=repo,
        evaluator=evaluator,
        config=config,
        run_id=rid,
        run_operator=run_operator,
        hooks=hooks,
        memory=memory,
        from_memory=from_memory,
        donors=donors,
        operators=operators,
    )
    return await evo.run(seed)


async def resume(
    run_id: str,
    *,
    repo: EvolutionRepository,
    evaluator: Evaluator,
    run_operator: OperatorRunner | None = None,
    hooks: Sequence[EvolveHook] = (),
    memory: MemoryRecorder | None = None,
    operators: Mapping[str, Operator] | None = None,
) -> EvolutionResult:
    """Continue a run from its checkpoints: nothing already evaluated is paid for again."""
    info = repo.get_run(run_id)
    config = EvolveConfig.from_json(info["config"]["config"])
    recalled = info["config"].get("memory") or {}
    evo = Evolution(
        repo=repo,
        evaluator=evaluator,
        config=config,
        run_id=run_id,
        run_operator=run_operator,
        hooks=hooks,
        memory=memory,
        from_memory=[repo.get_spec(c) for c in recalled.get("from_memory", [])],
        donors=[repo.get_spec(c) for c in recalled.get("donors", [])],
        operators=operators,
    )
    return await evo.run(repo.get_spec(info["seed_id"]))
