"""Service functions behind ``evopipe run|resume|cancel|approve`` (the CLI only parses and
prints). Also used by the HTTP server.

Exit codes (``EXIT_CODES``): 0 succeeded · 1 failed · 2 bad invocation or invalid pipeline /
inputs (nothing ran) · 3 waiting for approval · 4 budget exceeded · 5 cancelled.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import IO, Any

from evopipe.engine.control import record_decision, request_cancel
from evopipe.engine.events import (
    EventBus,
    JsonLinesSubscriber,
    RedactingSubscriber,
    Subscriber,
)
from evopipe.engine.plan import refuse_if_invalid
from evopipe.engine.policy import Policy
from evopipe.engine.progress import ProgressDisplay
from evopipe.engine.replay import stored_pipeline
from evopipe.engine.runner import resume_run, run_pipeline
from evopipe.engine.state import check_options
from evopipe.engine.types import ModelSource, RunOptions, RunResult, Services
from evopipe.spec.errors import EvopipeError
from evopipe.spec.loader import load_file
from evopipe.spec.pipeline import Pipeline

EXIT_CODES: dict[str, int] = {
    "succeeded": 0,
    "failed": 1,
    "waiting": 3,
    "budget_exceeded": 4,
    "cancelled": 5,
}
EXIT_BAD_INPUT = 2

HooksFactory = Callable[[ModelSource, Any], Mapping[str, Any]]
"""Builds ``Services.hooks`` from the hub and the store (the CLI injects genesis this way)."""


class UsageError(EvopipeError):
    """Bad command-line input (unknown pipeline, malformed ``-i``)."""


@dataclass
class CliOptions:
    """What the run-like commands share."""

    db: str | None = None
    model: str | None = None
    trust: bool = False
    no_cache: bool = False
    events: str | None = None
    progress: bool = True
    hooks: HooksFactory | None = None
    stream: IO[str] = field(default_factory=lambda: sys.stdout)
    champion: Callable[[str, Any], Pipeline] | None = None
    """Resolves a registered pipeline name to its champion spec (``evopipe run NAME``); the
    CLI injects the registry's resolver, the engine never imports it."""


def parse_inputs(pairs: list[str], inputs_file: Path | None = None) -> dict[str, Any]:
    """``--inputs FILE.json`` then ``-i key=value`` (a value that parses as JSON keeps its
    type: ``-i n=3`` is the integer 3, ``-i 'tags=["a"]'`` a list; otherwise a string)."""
    out: dict[str, Any] = {}
    if inputs_file is not None:
        try:
            data = json.loads(inputs_file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise UsageError(f"cannot read inputs file {inputs_file}: {exc}") from None
        if not isinstance(data, dict):
            raise UsageError(f"inputs file {inputs_file} must hold a JSON object")
        out.update(data)
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"bad input {pair!r}: expected key=value")
        try:
            out[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            out[key.strip()] = raw
    return out


def resolve_target(path_or_name: str) -> Path:
    """A pipeline file path, or the name of a pipeline shipped in ``evopipe/library``."""
    path = Path(path_or_name)
    if path.is_file():
        return path
    library = resources.files("evopipe.library")
    for candidate in (f"{path_or_name}.yaml", f"{path_or_name}/pipeline.yaml", path_or_name):
        entry = library.joinpath(candidate)
        if entry.is_file():
            return Path(str(entry))
    raise UsageError(f"no pipeline file or library pipeline named {path_or_name!r}")


@contextmanager
def open_services(opts: CliOptions, base_dir: Path) -> Iterator[Services]:
    """Store, model hub (with the store's response cache), policy, event subscribers."""
    from evopipe.models import ModelHub, load_config
    from evopipe.store import SecretRedactor
    from evopipe.store.service import open_store

    store = open_store(opts.db)  # masks secret-looking environment values in all it writes
    redact = SecretRedactor.from_environ(os.environ)
    display: ProgressDisplay | None = None
    try:
        cache = None if opts.no_cache else store.response_cache()
        hub = ModelHub(load_config(Path.cwd()), cache=cache)
        subscribers: list[Subscriber] = []
        if opts.events == "jsonl":
            subscribers.append(RedactingSubscriber(JsonLinesSubscriber(opts.stream), redact))
        elif opts.progress:
            display = ProgressDisplay()
            subscribers.append(RedactingSubscriber(display, redact))
        hooks = dict(opts.hooks(hub, store)) if opts.hooks is not None else {}
        yield Services(
            models=hub,
            store=store,
            bus=EventBus(subscribers),
            policy=Policy.load(Path.cwd(), trust=opts.trust),
            base_dir=base_dir,
            hooks=hooks,
        )
    finally:
        if display is not None:
            display.close()
        store.close()


async def run_command(
    target: str,
    inputs: dict[str, Any],
    opts: CliOptions,
    *,
    fork_from: str | None = None,
) -> RunResult:
    try:
        path: Path | None = resolve_target(target)
    except UsageError:
        if opts.champion is None:
            raise
        path = None  # maybe a registered name: its champion is looked up in the store
    loaded = load_file(path) if path is not None else None
    pipeline = loaded.pipeline if loaded is not None else None
    base_dir = path.parent.resolve() if path is not None else Path.cwd()
    with open_services(opts, base_dir) as services:
        if loaded is not None:  # check with the file's locations; the run reuses this plan
            refuse_if_invalid(loaded.pipeline, check_options(services, base_dir), loaded.source)
            services.plans.pipeline(loaded.pipeline)
        if pipeline is None:
            if opts.champion is None:  # unreachable: resolve_target raised above
                raise UsageError(f"no pipeline file or library pipeline named {target!r}")
            pipeline = opts.champion(target, services.store)
        options = RunOptions(
            model=opts.model,
            cache=not opts.no_cache,
            fork_from=fork_from,
            source=str(path.resolve()) if path is not None else None,
        )
        return await run_pipeline(pipeline, inputs, services=services, options=options)


def _journaled_pipeline(store: Any, run_id: str) -> tuple[Pipeline | None, Path]:
    """The pipeline file the run was started from, if it is still there, and its directory."""
    events = store.load_events(run_id, 0)
    started = events[0].data if events and events[0].type == "run_started" else {}
    source = started.get("source")
    base_dir = Path(started.get("base_dir") or ".")
    if source and Path(source).is_file():
        return load_file(source).pipeline, base_dir
    return None, base_dir


async def resume_command(run_id: str, opts: CliOptions) -> RunResult:
    with open_services(opts, Path.cwd()) as services:
        pipeline, base_dir = _journaled_pipeline(services.store, run_id)
        services = Services(**{**services.__dict__, "base_dir": base_dir})
        if pipeline is None:
            pipeline = stored_pipeline(services.store.get_run(run_id))
        options = RunOptions(model=opts.model, cache=not opts.no_cache)
        return await resume_run(run_id, services=services, pipeline=pipeline, options=options)


def cancel_command(run_id: str, db: str | None) -> None:
    from evopipe.store.service import open_store

    with open_store(db) as store:
        request_cancel(store, run_id)


async def approve_command(
    run_id: str,
    step_id: str,
    opts: CliOptions,
    *,
    reject: bool = False,
    comment: str | None = None,
    decided_by: str | None = None,
) -> RunResult:
    """Record the decision, then resume the run: exactly that step runs again."""
    from evopipe.store.service import open_store

    with open_store(opts.db) as store:
        record_decision(
            store, run_id, step_id, approved=not reject, comment=comment, decided_by=decided_by
        )
    return await resume_command(run_id, opts)
