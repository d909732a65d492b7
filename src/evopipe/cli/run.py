"""``evopipe run``, ``resume``, ``cancel``, ``approve``: thin faces over
:mod:`evopipe.engine.service`.

Exit codes: 0 succeeded · 1 failed · 2 invalid pipeline, inputs or arguments (nothing ran) ·
3 waiting for approval · 4 budget exceeded · 5 cancelled.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine, Mapping
from pathlib import Path
from typing import Any

import typer

from evopipe.engine import RunResult
from evopipe.engine import service as svc
from evopipe.spec.errors import EvopipeError


def _hooks(models: Any, store: Any) -> Mapping[str, Any]:
    """Inject genesis into the ``generate`` kind (faces may import every layer)."""
    try:
        from evopipe.genesis.hook import make_generator
    except ImportError:  # genesis not installed in this build
        return {}
    return {"generator": make_generator(models, store=store)}


def _opts(
    db: str | None,
    model: str | None,
    trust: bool,
    no_cache: bool,
    events: str | None,
    as_json: bool,
) -> svc.CliOptions:
    if events not in (None, "jsonl"):
        typer.echo("error: --events accepts only 'jsonl'", err=True)
        raise typer.Exit(svc.EXIT_BAD_INPUT)
    return svc.CliOptions(
        db=db,
        model=model,
        trust=trust,
        no_cache=no_cache,
        events=events,
        progress=not as_json and events is None,
        hooks=_hooks,
        champion=_champion,
    )


def _champion(name: str, store: Any) -> Any:
    """``evopipe run NAME``: the champion promoted under NAME in the registry."""
    from evopipe.orchestrate import resolve_champion

    return resolve_champion(name, store)


def _finish(coro: Coroutine[Any, Any, RunResult], as_json: bool) -> None:
    try:
        result = asyncio.run(coro)
    except EvopipeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(svc.EXIT_BAD_INPUT) from None
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2, default=str))
    else:
        if result.ok or result.outputs:  # a failed run has no outputs to print: no `{}`
            typer.echo(json.dumps(result.outputs, indent=2, default=str))
        line = f"run {result.run_id}: {result.status}"
        if result.error:
            line += f" — {result.error}"
        if result.waiting_on:
            line += f" (approve with: evopipe approve {result.run_id} {result.waiting_on[0]})"
        typer.echo(line, err=True)
    raise typer.Exit(svc.EXIT_CODES.get(result.status, 1))


_DB = typer.Option(
    None, "--db", help="Store URL or path (default: $EVOPIPE_DB or .evopipe/evopipe.db)."
)
_MODEL = typer.Option(None, "--model", help="Model for every step that does not pin one.")
_JSON = typer.Option(False, "--json", help="Print the run result as JSON.")
_EVENTS = typer.Option(None, "--events", help="Stream events to stdout: jsonl.")
_TRUST = typer.Option(False, "--trust", help="Trusting policy (python/shell/http allowed).")
_NO_CACHE = typer.Option(False, "--no-cache", help="Do not use the response cache.")


def run_cmd(
    target: str = typer.Argument(..., help="Pipeline file, or the name of a library pipeline."),
    inputs: list[str] = typer.Option([], "-i", "--input", help="Input key=value (repeatable)."),
    inputs_file: Path = typer.Option(None, "--inputs", help="Inputs from a JSON file."),
    model: str = _MODEL,
    db: str = _DB,
    as_json: bool = _JSON,
    events: str = _EVENTS,
    trust: bool = _TRUST,
    no_cache: bool = _NO_CACHE,
    fork_from: str = typer.Option(None, "--fork-from", help="Reuse unchanged steps of RUN_ID."),
) -> None:
    """Run a pipeline durably (journaled; resumable with `evopipe resume`)."""
    try:
        values = svc.parse_inputs(inputs, inputs_file)
    except EvopipeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(svc.EXIT_BAD_INPUT) from None
    opts = _opts(db, model, trust, no_cache, events, as_json)
    _finish(svc.run_command(target, values, opts, fork_from=fork_from), as_json)


def resume_cmd(
    run_id: str = typer.Argument(..., help="The run to continue."),
    model: str = _MODEL,
    db: str = _DB,
    as_json: bool = _JSON,
    events: str = _EVENTS,
    trust: bool = _TRUST,
    no_cache: bool = _NO_CACHE,
) -> None:
    """Continue a run from its journal: completed steps are not re-run."""
    _finish(svc.resume_command(run_id, _opts(db, model, trust, no_cache, events, as_json)), as_json)


def cancel_cmd(
    run_id: str = typer.Argument(..., help="The run to stop."),
    db: str = _DB,
) -> None:
    """Stop a running run (within a second); its journal stays resumable."""
    try:
        svc.cancel_command(run_id, db)
    except EvopipeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(svc.EXIT_BAD_INPUT) from None
    typer.echo(f"cancel requested for run {run_id}", err=True)


def approve_cmd(
    run_id: str = typer.Argument(..., help="The waiting run."),
    step: str = typer.Argument(..., help="The approval step."),
    reject: bool = typer.Option(False, "--reject", help="Reject instead of approving."),
    comment: str = typer.Option(None, "--comment", help="Why."),
    by: str = typer.Option(None, "--by", help="Who decides (recorded)."),
    db: str = _DB,
    as_json: bool = _JSON,
    trust: bool = _TRUST,
) -> None:
    """Approve (or reject) a waiting step, then resume the run at exactly that step."""
    opts = _opts(db, None, trust, False, None, as_json)
    coro = svc.approve_command(run_id, step, opts, reject=reject, comment=comment, decided_by=by)
    _finish(coro, as_json)


def register(app: typer.Typer) -> None:
    app.command("run")(run_cmd)
    app.command("resume")(resume_cmd)
    app.command("cancel")(cancel_cmd)
    app.command("approve")(approve_cmd)
