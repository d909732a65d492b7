"""``evopipe generate`` and ``evopipe generations list|show``: thin faces over
:mod:`evopipe.app.generate`."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import typer

from evopipe.app import EvopipeError, parse_inputs
from evopipe.app.generate import GenerateOutcome, GenerationError
from evopipe.cli._options import DB_OPTION, JSON_OPTION, TRUST_OPTION
from evopipe.cli._session import Commands, call, echo_records, fail, open_app


def generate_cmd(
    request: str = typer.Argument(..., help="What the pipeline should do, in plain language."),
    output: Path = typer.Option(None, "-o", "--output", help="Write the spec (and schemas)."),
    model: str = typer.Option(None, "--model", help="Model id generating (and running) it."),
    run: bool = typer.Option(False, "--run", help="Run the generated pipeline afterwards."),
    inputs: list[str] = typer.Option([], "-i", "--input", help="Run input key=value."),
    trust: bool = TRUST_OPTION,
    max_rounds: int = typer.Option(3, "--max-rounds", help="Model repair rounds at most."),
    db: str = DB_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Generate a validated pipeline from a request; write it only if it is valid."""
    try:
        values = parse_inputs(inputs)
        with open_app(db=db, trust=trust) as app:
            outcome = asyncio.run(
                app.generations.generate(
                    request,
                    model=model,
                    output=output,
                    run=run,
                    inputs=values,
                    max_rounds=max_rounds,
                )
            )
    except GenerationError as exc:
        if as_json:
            diags = [d.to_json() for d in exc.diagnostics]
            typer.echo(json.dumps({"valid": False, "error": str(exc), "diagnostics": diags}))
        else:
            fail(exc, 1)
    except EvopipeError as exc:
        fail(exc)
    if as_json:
        typer.echo(json.dumps(outcome.to_json(), indent=2, default=str))
    else:
        _print(outcome, output)
    if outcome.run is not None and not outcome.run.ok:
        raise typer.Exit(1)


def _print(outcome: GenerateOutcome, output: Path | None) -> None:
    result = outcome.result
    if output is None:
        typer.echo(result.yaml, nl=False)
    typer.echo(
        f"generated {result.pipeline.name!r}: valid after {result.rounds_needed} round(s) "
        f"({result.source}{', pattern ' + result.pattern if result.pattern else ''}), "
        f"{result.duration_s:.1f}s; id {result.generation_id}",
        err=True,
    )
    for path in outcome.written:
        typer.echo(f"wrote {path}", err=True)
    if outcome.run is not None:
        typer.echo(json.dumps(outcome.run.to_json(), indent=2, default=str))


def list_cmd(
    limit: int = typer.Option(50, help="How many, newest first."),
    db: str = DB_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """List stored generations."""
    echo_records(
        call(lambda app: app.generations.list(limit=limit), db=db),
        lambda r: (
            f"{r.generation_id[:12]}  {r.status:9}  rounds={r.rounds}  "
            f"{r.name or '-':30}  {r.request[:60]}"
        ),
        as_json=as_json,
    )


def show_cmd(
    generation_id: str = typer.Argument(..., help="Generation id (or a unique prefix)."),
    db: str = DB_OPTION,
) -> None:
    """Show one generation: request, each round's draft and diagnostics, the final spec."""
    data = call(lambda app: app.generations.get(generation_id), db=db, exit_code=1)
    typer.echo(json.dumps(data, indent=2, default=str))


CLI: tuple[Commands, ...] = (
    Commands({"generate": generate_cmd}),
    Commands(
        {"list": list_cmd, "show": show_cmd},
        "generations",
        "Stored generations (request, drafts, diagnostics, spec).",
        no_args_is_help=False,
    ),
)
