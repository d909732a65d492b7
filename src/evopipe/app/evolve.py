"""Evolution operations: evolve (from a path or a :class:`Pipeline`, on a dataset file or a
:class:`Dataset`), resume, lineage, promote and rollback. Runs record how to rebuild their
evaluator (:class:`EvalSource`), which is what lets ``--resume`` and ``promote`` work from an
id alone."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from evopipe.app.group import OperationGroup
from evopipe.evaluate.dataset import Dataset, parse_mapping
from evopipe.evolve.config import DEFAULT_OPERATORS, EvolveConfig, EvolveHook, Progress
from evopipe.evolve.ecosystem import MemoryRecorder, memory_donors, memory_seeds
from evopipe.evolve.evaluator import DatasetEvaluator
from evopipe.evolve.fitness import Evaluator
from evopipe.evolve.genome import candidate_id
from evopipe.evolve.lineage import RENDERERS, lineage
from evopipe.evolve.loop import EvolutionResult, resume, start
from evopipe.evolve.meta import OPERATOR_PIPELINES, OperatorFitness
from evopipe.evolve.operator_runner import EngineOperatorRunner, load_operator
from evopipe.evolve.promoted import promoted_operators, recorded_operators
from evopipe.evolve.promotion import Decision, promote
from evopipe.evolve.repository import EvolutionRepository
from evopipe.evolve.source import EvalSource, make_evaluator, projection
from evopipe.orchestrate.registry import Registry
from evopipe.spec import Pipeline
from evopipe.spec.errors import EvopipeError

__all__ = [
    "DEFAULT_OPERATORS",
    "EvalSource",
    "EvolutionResult",
    "Evolutions",
    "EvolveArgs",
    "EvolveConfig",
    "Progress",
    "parse_mapping",
]


@dataclass
class EvolveArgs:
    pipeline: Path | Pipeline
    """The seed: a file, or a pipeline object (then ``base_dir`` says where it lives)."""
    source: EvalSource
    config: EvolveConfig
    operator_model: str | None = None
    operator: str | None = None
    """Evolve this operator's own pipeline; ``pipeline`` is then the reference task."""
    dataset: Dataset | None = None
    """An in-memory dataset (``source.dataset`` then only names it)."""
    from_memory: bool = False
    """Start the population with stored pipelines that served a similar task (pattern DB)."""
    run_id: str | None = None
    """The evolution run's id (None: a new one), so a caller can know it before it ends."""


class Evolutions(OperationGroup):
    def _parts(
        self,
        source: EvalSource,
        base_dir: Path | None,
        operator_model: str | None,
        dataset: Dataset | None = None,
        operators: dict[str, Pipeline] | None = None,
    ) -> tuple[DatasetEvaluator, EngineOperatorRunner]:
        """``operators``: operator pipelines run in place of the shipped files (promoted)."""
        services = self.app.services(base_dir=base_dir, journaled=False)
        task_eval = make_evaluator(source, services, dataset)
        model = operator_model or source.model
        runner = EngineOperatorRunner(services, model=model, overrides=operators)
        return task_eval, runner

    async def evolve(
        self,
        args: EvolveArgs,
        *,
        hooks: Sequence[EvolveHook] = (),
        on_projection: Callable[[dict[str, Any]], None] | None = None,
    ) -> EvolutionResult:
        """Load the seed, project the cost, evolve, return the result (checkpointed)."""
        reference = self.app.pipelines.resolve(args.pipeline)
        operators = self._supplied(args.config, args.operator_model or args.source.model)
        base_dir = reference.path.parent if reference.path else None
        promoted = promoted_operators(Registry(self.app.store))  # evolved operators, by name
        task_eval, runner = self._parts(
            args.source, base_dir, args.operator_model, args.dataset, promoted
        )
        seed: Pipeline = reference.pipeline
        evaluator: Evaluator = task_eval
        if args.operator is not None:
            seed = load_operator(OPERATOR_PIPELINES[args.operator])
            evaluator = OperatorFitness(args.operator, reference.pipeline, task_eval, runner)
        elif on_projection is not None:
            on_projection(await projection(seed, task_eval, args.config))
        store, task = self.app.store, args.operator is None
        return await start(
            seed,
            repo=EvolutionRepository(self.app.store),
            evaluator=evaluator,
            config=args.config,
            run_operator=runner,
            hooks=hooks,
            run_id=args.run_id,
            operators=operators,
            extra={
                "source": args.source.to_json(),
                "pipeline_path": reference.source,
                "operator_model": args.operator_model,
                "operator": args.operator,
                "operator_pipelines": {n: candidate_id(p) for n, p in promoted.items()},
            },
            memory=MemoryRecorder(store),
            from_memory=memory_seeds(store, seed) if task and args.from_memory else (),
            donors=memory_donors(store, seed) if task else (),
        )

    def _supplied(self, config: EvolveConfig, model_id: str | None) -> dict[str, Any]:
        """Operators built for this run (``dspy_fewshot``...), driven by ``model_id``."""
        from evopipe.app.integrations import supplied_operators

        return supplied_operators(config.operators, self.app.models(), model_id)

    def _rebuild(
        self, info: dict[str, Any], no_cache: bool = False
    ) -> tuple[Evaluator, DatasetEvaluator, EngineOperatorRunner]:
        extra = info["config"]
        source = EvalSource(**extra["source"])
        if no_cache:
            source = replace(source, no_cache=True)
        path = Path(extra["pipeline_path"]) if extra.get("pipeline_path") else None
        base_dir = path.parent if path is not None else None
        repo = EvolutionRepository(self.app.store)
        used = recorded_operators(repo, extra.get("operator_pipelines") or {})  # as it ran
        task_eval, runner = self._parts(source, base_dir, extra.get("operator_model"), None, used)
        if extra.get("operator"):
            if path is None:
                raise EvopipeError("this operator evolution recorded no reference pipeline file")
            reference = self.app.pipelines.resolve(path).pipeline
            fitness = OperatorFitness(extra["operator"], reference, task_eval, runner)
            return fitness, task_eval, runner
        return task_eval, task_eval, runner

    async def resume(self, run_id: str, *, hooks: Sequence[EvolveHook] = ()) -> EvolutionResult:
        """Continue an evolution run from its checkpoint (no evaluation is paid twice)."""
        repo = EvolutionRepository(self.app.store)
        info = repo.get_run(run_id)
        evaluator, _, runner = self._rebuild(info)
        extra = info["config"]
        config = EvolveConfig.from_json(extra["config"])
        model_id = extra.get("operator_model") or extra["source"].get("model")
        return await resume(
            run_id,
            repo=repo,
            evaluator=evaluator,
            run_operator=runner,
            hooks=hooks,
            memory=MemoryRecorder(self.app.store),
            operators=self._supplied(config, model_id),
        )

    def lineage(self, ident: str, fmt: str = "tree") -> str:
        """The genealogy of a run or of one candidate: ``tree``, ``dot`` or ``json``."""
        if fmt not in RENDERERS:
            raise EvopipeError(f"unknown lineage format {fmt!r}; use {', '.join(RENDERERS)}")
        return RENDERERS[fmt](lineage(EvolutionRepository(self.app.store), ident))

    async def promote(
        self,
        ident: str,
        *,
        approved_by: str | None = None,
        confidence: float | None = None,
        no_cache: bool = False,
    ) -> Decision:
        """Promote candidate ``ident`` (an id prefix) only if it beats the incumbent on the
        test split (paired bootstrap)."""
        repo = EvolutionRepository(self.app.store)
        cid = repo.find_candidate(ident)
        runs = repo.runs_with_candidate(cid)
        if not runs:
            raise EvopipeError(f"candidate {cid[:12]} belongs to no evolution run")
        info = repo.get_run(runs[-1])
        # an operator candidate is judged by what it does to the run's reference task and
        # promoted under its pipeline's name (operator-reflect): evolution then runs it
        evaluator, _, _ = self._rebuild(info, no_cache)
        decision = await promote(
            cid,
            repo=repo,
            registry=Registry(self.app.store),
            evaluator=evaluator,
            incumbent=repo.get_spec(info["seed_id"]),
            confidence=confidence,
            approved_by=approved_by,
            certified=self.app.memory.is_certified,
        )
        if decision.promoted:  # the champion enters the pattern DB
            test = repo.get_evaluation(cid, evaluator.dataset_key, "test")
            self.app.memory.remember_champion(decision, repo.get_spec(cid), test)
        return decision
