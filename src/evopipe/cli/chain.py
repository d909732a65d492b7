"""``evopipe chain check|run|resume|show``: workflow templates of pipelines, run durably."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import typer

from evopipe.app import App, EvopipeError, parse_inputs
from evopipe.app.chains import ChainResult
from evopipe.cli._options import DB_OPTION, JSON_OPTION, MODEL_OPTION, TRUST_OPTION
from evopipe.cli._session import Commands, call, open_app


def check_cmd(
    file: Path = typer.Argument(..., help="Chain file."),
    trust: bool = TRUST_OPTION,
    db: str = DB_OPTION,
) -> None:
    """Check a chain: every stage's pipeline resolves and its inputs are wired and typed."""
    try:
        with open_app(db=db, trust=trust) as app:
            loaded, pipelines = app.chains.check(file)
    except EvopipeError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    for stage in loaded.chain.stages:
        undo = f"  (compensate: {stage.compensate.pipeline})" if stage.compensate else ""
        typer.echo(f"{stage.id:16} {pipelines[stage.id].name}{undo}")
    typer.echo(f"{file}: ok, {len(loaded.chain.stages)} stages")


def run_cmd(
    file: Path = typer.Argument(..., help="Chain file."),
    inputs: list[str] = typer.Option([], "-i", "--input", help="Chain input key=value."),
    chain_id: str = typer.Option(None, "--id", help="Chain run id (default: a new one)."),
    model: str = MODEL_OPTION,
    trust: bool = TRUST_OPTION,
    db: str = DB_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Check, then run a chain; on failure, compensate completed stages in reverse order."""
    _drive(
        lambda app: app.chains.run(file, parse_inputs(inputs), model=model, chain_id=chain_id),
        db=db,
        model=model,
        trust=trust,
        as_json=as_json,
    )


def resume_cmd(
    chain_id: str = typer.Argument(..., help="Chain run id."),
    model: str = MODEL_OPTION,
    trust: bool = TRUST_OPTION,
    db: str = DB_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Resume a chain run: completed stages are not run again."""
    _drive(
        lambda app: app.chains.resume(chain_id, model=model),
        db=db,
        model=model,
        trust=trust,
        as_json=as_json,
    )


def _drive(
    op: Callable[[App], Awaitable[ChainResult]],
    *,
    db: str | None,
    model: str | None,
    trust: bool,
    as_json: bool,
) -> None:
    """Run one chain operation; located diagnostics or errors exit 2, a failed chain 1."""
    try:
        with open_app(db=db, model=model, trust=trust) as app:
            result = asyncio.run(_awaited(op(app)))
    except EvopipeError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    _print(result, as_json)


async def _awaited(pending: Awaitable[ChainResult]) -> ChainResult:
    return await pending


def show_cmd(
    chain_id: str = typer.Argument(..., help="Chain run id."), db: str = DB_OPTION
) -> None:
    """A chain run's status and its journal of stage events."""
    data = call(lambda app: app.chains.show(chain_id), db=db)
    typer.echo(json.dumps(data, indent=2, default=str))


def _print(result: ChainResult, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2, default=str))
    else:
        for e in result.events:
            extra = e["data"].get("error") or ""
            typer.echo(f"  {e['stage'] or '-':16} {e['action']:24} {e['run_id'] or ''} {extra}")
        typer.echo(f"{result.chain_id}: {result.status}")
        for name, value in result.outputs.items():
            typer.echo(f"  {name} = {value}")
    if result.status != "succeeded":
        raise typer.Exit(1)


CLI: tuple[Commands, ...] = (
    Commands(
        {"check": check_cmd, "run": run_cmd, "resume": resume_cmd, "show": show_cmd},
        "chain",
        "Chains: workflows of pipelines.",
    ),
)
