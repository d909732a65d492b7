"""``evopipe evolve | lineage | promote | rollback``: thin faces over :mod:`evopipe.app.evolve`."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import typer

from evopipe.app import EvopipeError
from evopipe.app.evolve import (
    DEFAULT_OPERATORS,
    EvalSource,
    EvolutionResult,
    EvolveArgs,
    EvolveConfig,
    Progress,
    parse_mapping,
)
from evopipe.app.evolve_request import RequestArgs, evolve_from_request
from evopipe.cli._options import DB_OPTION, EXECUTOR_OPTION, JSON_OPTION, RAY_ADDRESS_OPTION
from evopipe.cli._session import Commands, call, fail, open_app


def _csv(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


def _progress_printer(quiet: bool) -> Any:
    def hook(*, progress: Progress) -> None:
        if quiet and progress.event != "generation":
            return
        rates = " ".join(
            f"{k}={v:.0%}" for k, v in sorted(progress.operator_rates.items()) if v > 0
        )
        typer.echo(
            f"[{progress.event}] gen {progress.generation} | candidates {progress.evaluations} "
            f"| best {progress.best_quality:.3f} ({progress.best_id[:12]}) "
            f"| front {progress.front_size} | calls {progress.calls} "
            f"| ${progress.cost_usd:.4f}" + (f" | improved: {rates}" if rates else ""),
            err=True,
        )

    return hook


def _report(result: EvolutionResult, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps({"run_id": result.run_id, **result.summary}, indent=2, default=str))
        return
    s = result.summary
    typer.echo(f"evolution run {result.run_id}: stopped on {result.stop_reason}")
    typer.echo(
        f"seed {result.seed_id[:12]} quality {s['seed_quality']:.3f} → champion "
        f"{result.champion_id[:12]} quality {s['champion_quality']:.3f} "
        f"({s['candidates']} candidates, {s['calls']} calls, ${s['cost_usd']:.4f})"
    )
    typer.echo(f"Pareto front: {', '.join(i[:12] for i in result.front)}")
    health = s.get("meta", {}).get("operator_model", {})
    if health.get("flag"):
        bad, total = health["proposals"] - health["usable"], health["proposals"]
        typer.echo(
            f"warning: the operator model's output was unusable in {bad} of {total} LLM-operator"
            " proposals (meta.operator_model); try a stronger --operator-model",
            err=True,
        )
    for note in s.get("notes", ()):
        typer.echo(f"note: {note}")
    typer.echo(f"see: evopipe lineage {result.run_id}; evopipe promote {result.champion_id[:12]}")


def evolve_cmd(
    pipeline: Path = typer.Argument(None, help="Seed pipeline YAML (omit with --resume)."),
    dataset: str = typer.Option(None, "--dataset", help="JSONL/CSV file or train/val/test dir."),
    metric: str = typer.Option(None, "--metric", help="Metric spec, e.g. exact or numeric."),
    objectives: str = typer.Option("quality,cost", help="Comma-separated objectives."),
    generations: int = typer.Option(5, help="Generations to run at most."),
    population: int = typer.Option(4, help="Survivors kept per generation."),
    offspring: int = typer.Option(4, help="Offspring proposed per generation."),
    budget_calls: int = typer.Option(None, "--budget-calls", help="Stop after this many calls."),
    budget_usd: float = typer.Option(None, "--budget-usd", help="Stop after spending this."),
    seed: int = typer.Option(0, help="Random seed (same seed, same run)."),
    model: str = typer.Option(None, "--model", help="Model for every step (overrides)."),
    operator_model: str = typer.Option(None, help="Model driving LLM operators."),
    operators: str = typer.Option(
        ",".join(DEFAULT_OPERATORS), help="Operators to use (also: dspy_fewshot, dspy extra)."
    ),
    models: str = typer.Option("", help="Model pool for model_switch (comma-separated)."),
    mapping: list[str] = typer.Option([], "--map", help="INPUT=FIELD (repeatable)."),
    expected: str = typer.Option(None, help="Dataset field holding the expected value."),
    output: str = typer.Option(None, help="Pipeline output to score."),
    operator: str = typer.Option(None, help="Evolve this operator's pipeline (e.g. reflect)."),
    resume: str = typer.Option(None, "--resume", help="Continue the evolution run ID."),
    request: str = typer.Option(None, "--request", help="No seed: genesis writes it from this."),
    seed_out: Path = typer.Option(None, "--seed-out", help="Where --request writes the seed."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Reuse no stored evaluation."),
    from_memory: bool = typer.Option(
        False, "--from-memory", help="Start from stored pipelines of a similar task."
    ),
    db: str = DB_OPTION,
    as_json: bool = JSON_OPTION,
    executor: str = EXECUTOR_OPTION,
    ray_address: str = RAY_ADDRESS_OPTION,
) -> None:
    """Evolve a pipeline on a dataset: mutate, cross, evaluate, select; checkpointed."""
    hook = _progress_printer(quiet=as_json)
    try:
        if resume:
            with open_app(db=db, executor=executor, ray_address=ray_address) as app:
                result = asyncio.run(app.evolutions.resume(resume, hooks=[hook]))
            _report(result, as_json)
            return
        if (pipeline is None) == (request is None) or not dataset or not metric:
            raise EvopipeError(
                "give PIPELINE or --request, with --dataset and --metric (or --resume ID)"
            )
        config = EvolveConfig(
            generations=generations,
            population=population,
            offspring=offspring,
            objectives=_csv(objectives),
            budget_calls=budget_calls,
            budget_usd=budget_usd,
            seed=seed,
            operators=_csv(operators),
            models=_csv(models),
        )
        source = EvalSource(
            dataset=str(Path(dataset).resolve()),
            metric=metric,
            model=model,
            mapping=parse_mapping(mapping),
            expected=expected,
            output=output,
            no_cache=no_cache,
        )

        def show(proj: dict[str, Any]) -> None:
            typer.echo(f"cost projection (upper bound): {json.dumps(proj)}", err=True)

        with open_app(db=db, executor=executor, ray_address=ray_address) as app:
            if request is not None:
                req = RequestArgs(request, source, config, seed_out, operator_model)
                outcome = asyncio.run(
                    evolve_from_request(app, req, hooks=[hook], on_projection=show)
                )
                typer.echo(f"seed generated from the request: {outcome.seed_path}", err=True)
                result = outcome.result
            else:
                args = EvolveArgs(
                    pipeline, source, config, operator_model, operator, from_memory=from_memory
                )
                evolving = app.evolutions.evolve(args, hooks=[hook], on_projection=show)
                result = asyncio.run(evolving)
    except EvopipeError as exc:
        fail(exc)
    _report(result, as_json)


def lineage_cmd(
    ident: str = typer.Argument(..., help="Evolution run id or candidate id (prefix)."),
    fmt: str = typer.Option("tree", "--format", help="tree, dot or json."),
    db: str = DB_OPTION,
) -> None:
    """Show the genealogy of an evolution run or of one candidate (operators, fitness)."""
    typer.echo(call(lambda app: app.evolutions.lineage(ident, fmt), db=db))


def promote_cmd(
    ident: str = typer.Argument(..., help="Candidate id (prefix)."),
    approve: str = typer.Option(None, "--approve", help="Record a human approval (your name)."),
    confidence: float = typer.Option(None, help="Override promotion.confidence."),
    db: str = DB_OPTION,
    as_json: bool = JSON_OPTION,
    no_cache: bool = typer.Option(False, "--no-cache", help="Reuse no stored evaluation."),
) -> None:
    """Promote a candidate only if it beats the incumbent on the test split (paired bootstrap)."""
    decision = call(
        lambda app: asyncio.run(
            app.evolutions.promote(
                ident, approved_by=approve, confidence=confidence, no_cache=no_cache
            )
        ),
        db=db,
    )
    if as_json:
        typer.echo(json.dumps(decision.to_json(), indent=2))
    else:
        verb = (
            f"promoted as {decision.name} v{decision.version}" if decision.promoted else "refused"
        )
        typer.echo(f"{decision.candidate_id[:12]}: {verb}: {decision.reason}")
    if not decision.promoted:
        raise typer.Exit(1)


def rollback_cmd(
    name: str = typer.Argument(..., help="Registered pipeline name."),
    db: str = DB_OPTION,
) -> None:
    """Point NAME's champion back at the previous champion."""
    version = call(lambda app: app.registry.rollback(name), db=db)
    typer.echo(f"{name}: champion is now v{version.version} ({version.candidate_id[:12]})")


CLI: tuple[Commands, ...] = (
    Commands(
        {
            "evolve": evolve_cmd,
            "lineage": lineage_cmd,
            "promote": promote_cmd,
            "rollback": rollback_cmd,
        }
    ),
)
