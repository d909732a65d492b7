"""``evopipe route "REQUEST"``: which pipeline answers a request, and why (``--explain``)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import typer

from evopipe.app import EvopipeError, parse_inputs
from evopipe.app.routing import RouteOutcome
from evopipe.cli._options import DB_OPTION, JSON_OPTION
from evopipe.cli._session import Commands, fail, open_app


def route_cmd(
    request: str = typer.Argument(..., help="The request, in plain language."),
    event: str = typer.Option(None, "--event", help="Event type (for explicit rules)."),
    fields: list[str] = typer.Option([], "-f", "--field", help="Event field key=value."),
    key: str = typer.Option(None, "--key", help="Caller key (canaries are sticky per key)."),
    model: str = typer.Option(None, "--model", help="Model of the intent stage (and genesis)."),
    explain: bool = typer.Option(False, "--explain", help="Show every stage's candidates."),
    generate: bool = typer.Option(False, "--generate", help="On no match, generate a pipeline."),
    register: str = typer.Option(None, "--register", help="Register the generated one as NAME."),
    run: bool = typer.Option(False, "--run", help="Run the chosen pipeline (canaries observe it)."),
    inputs: list[str] = typer.Option([], "-i", "--input", help="Run input key=value."),
    db: str = DB_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Route a request: explicit rules, keywords, retrieval, the model's intent, or no match."""
    try:
        with open_app(db=db, model=model) as app:
            route: dict[str, Any] = {
                "event": event,
                "fields": parse_inputs(fields),
                "key": key,
                "model": model,
                "generate": generate or register is not None,
            }
            if run:
                outcome, result = asyncio.run(
                    app.routing.run(request, parse_inputs(inputs), **route)
                )
            else:
                outcome, result = asyncio.run(app.routing.route(request, **route)), None
            registered = None
            generated = outcome.generated
            if register and generated is not None:
                registered = app.routing.register(register, generated.result.pipeline)
    except EvopipeError as exc:
        fail(exc)
    if as_json:
        data = outcome.to_json()
        data["registered"] = registered
        data["run"] = result.to_json() if result is not None else None
        typer.echo(json.dumps(data, indent=2, default=str))
    else:
        _print(outcome, explain, register, registered)
        if result is not None:
            typer.echo(f"run {result.run_id}: {result.status}")
    if (outcome.target is None and outcome.generated is None) or (result and not result.ok):
        raise typer.Exit(1)


def _print(outcome: RouteOutcome, explain: bool, name: str | None, version: int | None) -> None:
    d = outcome.decision
    if outcome.target is None:
        typer.echo(f"no match ({d.final.reason})")
    else:
        role = f" [{outcome.role}]" if outcome.role else ""
        typer.echo(f"{outcome.target}{role}  via {d.stage}: {d.final.reason}")
    if explain:
        for step in d.trail:
            th = f" threshold {step.threshold}" if step.threshold is not None else ""
            typer.echo(f"  {step.stage:9} {step.ms:7.2f} ms{th}: {step.reason}")
            for c in step.candidates[:5]:
                typer.echo(f"      {c.score:8.3f}  {c.name}")
    if outcome.generated is not None:
        typer.echo(f"generated: {outcome.generated.result.pipeline.name}")
        if version is not None:
            typer.echo(f"registered as {name} v{version}")
        else:
            typer.echo("register it with: evopipe route ... --register NAME")


CLI: tuple[Commands, ...] = (Commands({"route": route_cmd}),)
