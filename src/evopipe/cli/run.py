"""``evopipe run``, ``resume``, ``cancel``, ``approve``: thin faces over
:mod:`evopipe.app.runs`.

Exit codes: 0 succeeded · 1 failed · 2 invalid pipeline, inputs or arguments (nothing ran) ·
3 waiting for approval · 4 budget exceeded · 5 cancelled.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import typer

from evopipe.app import (
    EXIT_BAD_INPUT,
    EXIT_CODES,
    App,
    Decision,
    EvopipeError,
    JsonLinesSubscriber,
    ProgressDisplay,
    RunResult,
    Subscriber,
    parse_inputs,
)
from evopipe.cli._options import (
    DB_OPTION,
    EXECUTOR_OPTION,
    MODEL_OPTION,
    RAY_ADDRESS_OPTION,
    TRUST_OPTION,
)
from evopipe.cli._session import Commands, call, fail, open_app

RunOp = Callable[[App, list[Subscriber]], Coroutine[Any, Any, RunResult]]


def _subscribers(events: str | None, as_json: bool) -> tuple[list[Subscriber], Any]:
    """JSON lines on stdout (``--events jsonl``), else a live progress display unless --json."""
    if events not in (None, "jsonl"):
        typer.echo("error: --events accepts only 'jsonl'", err=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    if events == "jsonl":
        return [JsonLinesSubscriber(sys.stdout)], None
    if as_json:
        return [], None
    display = ProgressDisplay()
    return [display], display


def _finish(app: App, op: RunOp, events: str | None, as_json: bool) -> None:
    subscribers, display = _subscribers(events, as_json)
    try:
        with app:
            result = asyncio.run(op(app, subscribers))
    except EvopipeError as exc:
        fail(exc, EXIT_BAD_INPUT)
    finally:
        if display is not None:
            display.close()
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2, default=str))
    else:
        if result.outputs or result.ok:
            typer.echo(json.dumps(result.outputs, indent=2, default=str))
        line = f"run {result.run_id}: {result.status}"
        if result.error:
            line += f" — {result.error}"
        if result.waiting_on:
            line += f" (approve with: evopipe approve {result.run_id} {result.waiting_on[0]})"
        typer.echo(line, err=True)
    raise typer.Exit(EXIT_CODES.get(result.status, 1))


_JSON = typer.Option(False, "--json", help="Print the run result as JSON.")
_EVENTS = typer.Option(None, "--events", help="Stream events to stdout: jsonl.")
_NO_CACHE = typer.Option(False, "--no-cache", help="Do not use the response cache.")
_OTEL = typer.Option(False, "--otel", help="OpenTelemetry spans of the run (the otel extra).")


def run_cmd(
    target: str = typer.Argument(..., help="Pipeline file, or the name of a library pipeline."),
    inputs: list[str] = typer.Option([], "-i", "--input", help="Input key=value (repeatable)."),
    inputs_file: Path = typer.Option(None, "--inputs", help="Inputs from a JSON file."),
    model: str = MODEL_OPTION,
    db: str = DB_OPTION,
    as_json: bool = _JSON,
    events: str = _EVENTS,
    trust: bool = TRUST_OPTION,
    no_cache: bool = _NO_CACHE,
    fork_from: str = typer.Option(None, "--fork-from", help="Reuse unchanged steps of RUN_ID."),
    workspace: Path = typer.Option(
        None, "--workspace", help="The directory file and agent steps work in (default: a new one)."
    ),
    otel: bool = _OTEL,
    executor: str = EXECUTOR_OPTION,
    ray_address: str = RAY_ADDRESS_OPTION,
) -> None:
    """Run a pipeline durably (journaled; resumable with `evopipe resume`).

    TARGET is a pipeline file, a library pipeline, or a registered name: NAME runs its
    champion, NAME@N its version N."""
    try:
        values = parse_inputs(inputs, inputs_file)
    except EvopipeError as exc:
        fail(exc, EXIT_BAD_INPUT)
    app = open_app(
        db=db,
        model=model,
        trust=trust,
        no_cache=no_cache,
        otel=otel,
        executor=executor,
        ray_address=ray_address,
    )

    where = workspace.resolve() if workspace is not None else None

    def op(app: App, subs: list[Subscriber]) -> Coroutine[Any, Any, RunResult]:
        return app.runs.run(target, values, fork_from=fork_from, subscribers=subs, workspace=where)

    _finish(app, op, events, as_json)


_SECRET_INPUT = typer.Option(
    [], "-i", "--input", help="A secret (writeOnly) input given again: key=value (repeatable)."
)


def resume_cmd(
    run_id: str = typer.Argument(..., help="The run to continue."),
    inputs: list[str] = _SECRET_INPUT,
    model: str = MODEL_OPTION,
    db: str = DB_OPTION,
    as_json: bool = _JSON,
    events: str = _EVENTS,
    trust: bool = TRUST_OPTION,
    no_cache: bool = _NO_CACHE,
    executor: str = EXECUTOR_OPTION,
    ray_address: str = RAY_ADDRESS_OPTION,
) -> None:
    """Continue a run from its journal: completed steps are not re-run. The run keeps the
    model it was started with unless --model says otherwise."""
    app = open_app(
        db=db,
        model=model,
        trust=trust,
        no_cache=no_cache,
        executor=executor,
        ray_address=ray_address,
    )

    def op(app: App, subs: list[Subscriber]) -> Coroutine[Any, Any, RunResult]:
        given = parse_inputs(inputs)
        return app.runs.resume(run_id, model=model, subscribers=subs, inputs=given)

    _finish(app, op, events, as_json)


def cancel_cmd(
    run_id: str = typer.Argument(..., help="The run to stop."),
    db: str = DB_OPTION,
) -> None:
    """Stop a running run (within a second); its journal stays resumable."""
    call(lambda app: app.runs.cancel(run_id), db=db, exit_code=EXIT_BAD_INPUT)
    typer.echo(f"cancel requested for run {run_id}", err=True)


def approve_cmd(
    run_id: str = typer.Argument(..., help="The waiting run."),
    step: str = typer.Argument(..., help="The approval step."),
    reject: bool = typer.Option(False, "--reject", help="Reject instead of approving."),
    comment: str = typer.Option(None, "--comment", help="Why."),
    by: str = typer.Option(None, "--by", help="Who decides (recorded)."),
    value: list[str] = typer.Option(
        None, "--value", help="NAME=VALUE for a field the step asks for (repeatable)."
    ),
    inputs: list[str] = _SECRET_INPUT,
    model: str = MODEL_OPTION,
    db: str = DB_OPTION,
    as_json: bool = _JSON,
    events: str = _EVENTS,
    trust: bool = TRUST_OPTION,
) -> None:
    """Approve (or reject) a waiting step, then resume the run at exactly that step (on the
    run's own model unless --model says otherwise)."""
    app = open_app(db=db, model=model, trust=trust)

    def op(app: App, subs: list[Subscriber]) -> Coroutine[Any, Any, RunResult]:
        decision = Decision(step, not reject, comment, by, parse_inputs(value or []))
        return app.runs.approve(
            run_id, decision, model=model, subscribers=subs, inputs=parse_inputs(inputs)
        )

    _finish(app, op, events, as_json)


CLI: tuple[Commands, ...] = (
    Commands({"run": run_cmd, "resume": resume_cmd, "cancel": cancel_cmd, "approve": approve_cmd}),
)
