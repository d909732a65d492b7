"""``evopipe registry list`` and ``evopipe registry show NAME``: the registered pipelines,
their versions and champion (run one with ``evopipe run NAME`` or ``NAME@N``)."""

from __future__ import annotations

import json

import typer

from evopipe.cli._options import DB_OPTION, JSON_OPTION
from evopipe.cli._session import Commands, call, echo_records


def list_cmd(db: str | None = DB_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Registered names with their number of versions and current champion."""
    echo_records(
        call(lambda app: app.registry.list(), db=db),
        lambda e: f"{e.name:30}  versions {e.versions:<3}  champion {_version(e.champion)}",
        as_json=as_json,
        empty="nothing registered yet (evopipe promote CANDIDATE registers a champion)",
    )


def _version(number: int | None) -> str:
    return f"v{number}" if number is not None else "-"


def show_cmd(
    name: str = typer.Argument(..., help="Registered pipeline name."),
    db: str | None = DB_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Versions (with their promotion evidence), the champion and the pointer's history."""
    data = call(lambda app: app.registry.show(name), db=db)
    if as_json:
        typer.echo(json.dumps(data, indent=2, default=str))
        return
    typer.echo(f"{name}: champion v{data['champion']}" if data["champion"] else f"{name}:")
    for v in data["versions"]:
        mark = "*" if v["version"] == data["champion"] else " "
        by = f", approved by {v['approved_by']}" if v["approved_by"] else ""
        typer.echo(f" {mark} v{v['version']}  {v['candidate_id'][:12]}  {v['pipeline']}{by}")
    for event in data["history"]:
        typer.echo(f"   {event['action']}: v{event['from_version']} -> v{event['to_version']}")


CLI: tuple[Commands, ...] = (
    Commands(
        {"list": list_cmd, "show": show_cmd},
        "registry",
        "Registered pipelines: versions and champions.",
    ),
)
