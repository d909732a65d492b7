"""Service functions behind ``evopipe generate`` and ``evopipe generations`` (the CLI and the
HTTP server call these; they hold the logic, the faces only print)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evopipe.engine import RunOptions, RunResult, Services, run_pipeline
from evopipe.engine.policy import Policy
from evopipe.genesis import records
from evopipe.genesis.driver import agenerate
from evopipe.genesis.errors import GenerationError
from evopipe.genesis.hook import make_generator
from evopipe.genesis.migrations import MIGRATIONS
from evopipe.genesis.result import GenerationResult
from evopipe.models import ModelHub
from evopipe.spec.errors import EvopipeError
from evopipe.store import Store
from evopipe.store import service as store_service


class InputError(EvopipeError):
    """A ``-i key=value`` argument is malformed."""


def parse_inputs(pairs: Sequence[str]) -> dict[str, Any]:
    """``["k=v", "n=3"]`` → ``{"k": "v", "n": 3}`` (values parse as JSON when they can)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(f"bad input {pair!r}: expected key=value")
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out


@dataclass
class GenerateOutcome:
    """What ``evopipe generate`` did: the generation, files written, the optional run."""

    result: GenerationResult
    written: list[Path] = field(default_factory=list)
    run: RunResult | None = None

    def to_json(self) -> dict[str, Any]:
        data = self.result.to_json()
        data["written"] = [str(p) for p in self.written]
        if self.run is not None:
            data["run"] = self.run.to_json()
        return data


def open_store(db: str | None) -> Store:
    """The store at ``db``, masking secret-looking environment values in all it writes."""
    return store_service.open_store(db, migrations=(MIGRATIONS,))


async def generate_and_run(
    request: str,
    *,
    store: Store | None,
    model: str | None = None,
    output: Path | None = None,
    run: bool = False,
    inputs: Mapping[str, Any] | None = None,
    trust: bool = False,
    max_rounds: int = 3,
) -> GenerateOutcome:
    """Generate (stored in ``store``), write the files only when valid, optionally run it —
    under the untrusted policy unless ``trust``."""
    hub = ModelHub()
    services = Services(models=hub, store=store)
    result = await agenerate(request, model=model, services=services, max_rounds=max_rounds)
    outcome = GenerateOutcome(result)
    if output is not None:
        outcome.written = result.write(output)
    if run:
        policy = Policy.trusting() if trust else Policy.untrusted()
        run_services = Services(
            models=hub,
            store=store,
            policy=policy,
            base_dir=output.parent if output else Path.cwd(),
            hooks={"generator": make_generator(hub, store=store)},
        )
        outcome.run = await run_pipeline(
            result.pipeline,
            dict(inputs or {}),
            services=run_services,
            options=RunOptions(model=model),
        )
    return outcome


def generate_command(
    request: str,
    *,
    db: str | None = None,
    model: str | None = None,
    output: Path | None = None,
    run: bool = False,
    inputs: Sequence[str] = (),
    trust: bool = False,
    max_rounds: int = 3,
) -> GenerateOutcome:
    """The sync edge of :func:`generate_and_run`, owning the store's lifetime."""
    parsed = parse_inputs(inputs)
    with open_store(db) as store:
        return asyncio.run(
            generate_and_run(
                request,
                store=store,
                model=model,
                output=output,
                run=run,
                inputs=parsed,
                trust=trust,
                max_rounds=max_rounds,
            )
        )


def list_command(db: str | None = None, limit: int = 50) -> list[records.GenerationRow]:
    with open_store(db) as store:
        return records.list_generations(store, limit)


def show_command(generation_id: str, db: str | None = None) -> dict[str, Any]:
    with open_store(db) as store:
        return records.get_generation(store, generation_id)


__all__ = [
    "GenerateOutcome",
    "GenerationError",
    "InputError",
    "generate_and_run",
    "generate_command",
    "list_command",
    "parse_inputs",
    "show_command",
]
