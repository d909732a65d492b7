"""Seed-free evolution: a request in plain language → genesis writes the seed → evolve it.

``evopipe evolve --request "..." --dataset DATA --metric M`` is the seed's genesis → evolution
loop in one command. The generated seed is written to a file (``--seed-out``, default
``<name>.seed.yaml`` in the project directory) so the run can be resumed, its lineage read
and the seed reused. When no ``--map`` is given and the seed has exactly one input, that input
reads the dataset's only field besides the expected one (``text`` ← ``input``); otherwise
the mapping must be given, and a clear error says which fields there are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evopipe.app.evolve import EvalSource, EvolveArgs
from evopipe.evolve.config import EvolveConfig, EvolveHook
from evopipe.evolve.loop import EvolutionResult
from evopipe.spec import Pipeline
from evopipe.spec.errors import EvopipeError

if TYPE_CHECKING:
    from evopipe.app.root import App

__all__ = ["RequestArgs", "RequestOutcome", "auto_mapping", "evolve_from_request"]


@dataclass(frozen=True)
class RequestArgs:
    request: str
    source: EvalSource
    config: EvolveConfig
    seed_out: Path | None = None
    operator_model: str | None = None
    genesis_model: str | None = None
    """Model writing the seed (default: the task model, else the session's model)."""
    max_rounds: int = 3


@dataclass(frozen=True)
class RequestOutcome:
    seed_path: Path
    mapping: dict[str, str]
    generation: dict[str, Any]
    """How genesis got there: model, pattern, rounds, first try valid."""
    result: EvolutionResult


def auto_mapping(seed: Pipeline, source: EvalSource) -> dict[str, str]:
    """The given mapping, else the seed's only input ← the dataset's only non-expected field."""
    if source.mapping:
        return dict(source.mapping)
    rows = source.read()
    first = rows.examples[0].row if rows.examples else {}
    fields = [k for k in first if k not in (rows.expected_field, "id", "split")]
    names = list(seed.inputs)
    if all(n in first for n in names):
        return {}
    if len(names) == 1 and len(fields) == 1:
        return {names[0]: fields[0]}
    raise EvopipeError(
        f"the generated seed reads input(s) {names}; map them to dataset fields {fields} "
        "with --map INPUT=FIELD"
    )


async def evolve_from_request(
    app: App,
    args: RequestArgs,
    *,
    hooks: Sequence[EvolveHook] = (),
    on_projection: Callable[[dict[str, Any]], None] | None = None,
) -> RequestOutcome:
    """Generate the seed for ``args.request`` with genesis, write it, then evolve it."""
    made = await app.generations.generate(
        args.request,
        model=args.genesis_model or args.source.model,
        max_rounds=args.max_rounds,
    )
    generated = made.result
    path = args.seed_out or app.project_dir / f"{generated.pipeline.name}.seed.yaml"
    generated.write(path)  # the spec, and its contract schemas beside it when it has any
    mapping = auto_mapping(generated.pipeline, args.source)
    source = replace(args.source, mapping=mapping)
    evolve_args = EvolveArgs(path, source, args.config, args.operator_model)
    result = await app.evolutions.evolve(evolve_args, hooks=hooks, on_projection=on_projection)
    generation = {
        "model": generated.model_id,
        "pattern": generated.pattern,
        "rounds": generated.rounds_needed,
        "first_try_valid": generated.first_try_valid,
        "request": args.request,
    }
    return RequestOutcome(path, mapping, generation, result)
