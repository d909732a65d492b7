"""``evopipe catalog list|show|register``: the shipped and registered pipelines by category."""

from __future__ import annotations

import typer

from evopipe.cli._options import DB_OPTION, JSON_OPTION
from evopipe.cli._session import Commands, call, echo_json_list


def list_cmd(
    category: str = typer.Option(None, "--category", "-c", help="Only this category."),
    db: str = DB_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Every pipeline of the catalog, grouped by category."""
    entries = call(lambda app: app.catalog.list(category), db=db)
    if as_json:
        echo_json_list(entries)
        return
    current = None
    for e in entries:
        if e.category != current:
            current = e.category
            typer.echo(f"{current}:")
        mark = f" [registered v{e.champion}]" if e.champion else ""
        typer.echo(f"  {e.name:26} {e.description[:70]}{mark}")


def show_cmd(name: str = typer.Argument(..., help="Pipeline name."), db: str = DB_OPTION) -> None:
    """One pipeline: category, inputs, tags, registration, and its YAML."""
    data = call(lambda app: app.catalog.show(name), db=db)
    text = data.pop("yaml")
    for key, value in data.items():
        typer.echo(f"{key}: {value}")
    typer.echo("---")
    typer.echo(text)


def register_cmd(
    name: str = typer.Argument(..., help="Library pipeline."), db: str = DB_OPTION
) -> None:
    """Register a library pipeline (champion if the name has none), tagged by category."""
    number = call(lambda app: app.catalog.register(name), db=db)
    typer.echo(f"registered {name} v{number}")


CLI: tuple[Commands, ...] = (
    Commands(
        {"list": list_cmd, "show": show_cmd, "register": register_cmd},
        "catalog",
        "The catalog of pipelines.",
    ),
)
