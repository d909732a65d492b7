"""Seed-free evolution: a request in plain language → genesis writes the seed → evolve it.

``evopipe evolve --request "..." --dataset DATA --metric M`` is the seed's genesis → evolution
loop in one command. The generated seed is written to a file (``--seed-out``, default
``<name>.seed.yaml`` in the current directory) so the run can be resumed, its lineage read and
the seed reused. When no ``--map`` is given and the seed has exactly one input, that input
reads the dataset's only field besides the expected one (``text`` ← ``input``); otherwise
the mapping must be given, and a clear error says which fields there are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from evopipe.engine import Services
from evopipe.evolve import service
from evopipe.evolve.config import EvolveConfig, EvolveHook
from evopipe.evolve.loop import EvolutionResult
from evopipe.genesis import agenerate
from evopipe.models import ModelHub, load_config
from evopipe.spec import Pipeline
from evopipe.spec.errors import EvopipeError
from evopipe.store import Store


@dataclass(frozen=True)
class RequestArgs:
    request: str
    source: service.EvalSource
    config: EvolveConfig
    seed_out: Path | None = None
    db: str | None = None
    operator_model: str | None = None
    genesis_model: str | None = None
    """Model writing the seed (default: the task model, else the hub's default)."""
    max_rounds: int = 3


@dataclass(frozen=True)
class RequestOutcome:
    seed_path: Path
    mapping: dict[str, str]
    generation: dict[str, Any]
    """How genesis got there: pattern, rounds, first try valid."""
    result: EvolutionResult


def auto_mapping(seed: Pipeline, source: service.EvalSource) -> dict[str, str]:
    """The given mapping, else the seed's only input ← the dataset's only non-expected field."""
    if source.mapping:
        return dict(source.mapping)
    rows = service.read_dataset(source)
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
    args: RequestArgs,
    *,
    hub: ModelHub | None = None,
    hooks: Sequence[EvolveHook] = (),
    on_projection: Any = None,
    store: Store | None = None,
) -> RequestOutcome:
    """Generate the seed for ``args.request`` with genesis, write it, then evolve it."""
    hub = hub or ModelHub(load_config(Path.cwd()))
    model = args.genesis_model or args.source.model
    generated = await agenerate(
        args.request, model=model, services=Services(models=hub), max_rounds=args.max_rounds
    )
    seed = generated.pipeline
    path = args.seed_out or Path.cwd() / f"{seed.name}.seed.yaml"
    generated.write(path)  # the spec, and its contract schemas beside it when it has any
    mapping = auto_mapping(seed, args.source)
    source = replace(args.source, mapping=mapping)
    evolve_args = service.EvolveArgs(path, source, args.config, args.db, args.operator_model)
    result = await service.evolve(
        evolve_args, hub=hub, hooks=hooks, on_projection=on_projection, store=store
    )
    generation = {
        "model": generated.model_id,
        "pattern": generated.pattern,
        "rounds": generated.rounds_needed,
        "first_try_valid": generated.first_try_valid,
        "request": args.request,
    }
    return RequestOutcome(path, mapping, generation, result)
