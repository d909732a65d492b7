"""``evopipe models list`` and ``evopipe models try``."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import typer

from evopipe.app import EvopipeError
from evopipe.app.models import load_schema, response_json
from evopipe.cli._options import JSON_OPTION
from evopipe.cli._session import Commands, fail, open_app


def list_command(
    as_json: bool = JSON_OPTION,
) -> None:
    """Configured and built-in models, and whether each is usable (key present, model installed)."""
    try:
        with open_app() as app:
            rows = app.model_ops.list()
    except EvopipeError as exc:
        fail(exc)
    if as_json:
        typer.echo(json.dumps([r.to_dict() for r in rows], indent=2))
        return
    width = max(len(r.id) for r in rows)
    for r in rows:
        mark = "ok " if r.usable else "-- "
        default = " (default)" if r.default else ""
        typer.echo(f"{mark}{r.id:<{width}}  {r.kind:<9} {r.detail}{default}")


def try_command(
    model_id: str = typer.Argument(..., help="Model id, e.g. local:smollm2-135m or fake."),
    prompt: str = typer.Argument(..., help="The user prompt."),
    schema: Path | None = typer.Option(None, "--schema", help="JSON Schema file for the output."),
    max_tokens: int | None = typer.Option(None, "--max-tokens", help="Output token limit."),
    temperature: float | None = typer.Option(None, "--temperature", help="Sampling temperature."),
    as_json: bool = typer.Option(False, "--json", help="Print the whole response as JSON."),
) -> None:
    """Send one prompt to a model and print its answer."""
    try:
        output_schema = load_schema(schema) if schema else None
        with open_app() as app:
            response = asyncio.run(
                app.model_ops.try_model(
                    model_id,
                    prompt,
                    schema=output_schema,
                    max_tokens=max_tokens,
                    temperature=temperature,
                )
            )
    except EvopipeError as exc:
        fail(exc, 1)
    if as_json:
        typer.echo(response_json(response))
        return
    typer.echo(response.text)
    cost = "unknown" if response.cost_usd is None else f"${response.cost_usd:.6f}"
    typer.echo(
        f"[{response.model} · {response.usage.input_tokens}+{response.usage.output_tokens} tokens"
        f" · {response.latency_ms:.0f} ms · cost {cost}]",
        err=True,
    )


CLI: tuple[Commands, ...] = (
    Commands({"list": list_command, "try": try_command}, "models", "List and try models."),
)
