"""``evopipe runs list``, ``evopipe runs show RUN_ID`` and ``evopipe gc``: thin faces over
:mod:`evopipe.app.runs`."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from evopipe.cli._options import DB_OPTION
from evopipe.cli._session import Commands, call, echo_json_list

_JSON = typer.Option(False, "--json", help="Print JSON instead of a table.")


def _fmt_ms(value: Any) -> str:
    return "-" if value is None else f"{float(value):.0f} ms"


def list_cmd(
    db: str | None = DB_OPTION,
    as_json: bool = _JSON,
    limit: int = typer.Option(50, "--limit", "-n", help="How many runs, newest first."),
    status: str | None = typer.Option(None, "--status", help="Only runs with this status."),
) -> None:
    """List recent runs, newest first."""
    runs = call(lambda app: app.runs.list(limit=limit, status=status), db=db)
    if as_json:
        echo_json_list(runs)
        return
    table = Table("run id", "pipeline", "status", "created", "events", box=None)
    for run in runs:
        created = run.created_at.strftime("%Y-%m-%d %H:%M:%S")
        cells = (run.run_id, run.pipeline_name, run.status, created, str(run.last_seq))
        table.add_row(*(Text(c) for c in cells))
    Console(width=120, highlight=False).print(table)


def show_cmd(
    run_id: str = typer.Argument(..., help="The run to show."),
    db: str | None = DB_OPTION,
    as_json: bool = _JSON,
) -> None:
    """Show a run: status, steps (attempts, durations, cached), outputs and usage."""
    summary = call(lambda app: app.runs.get(run_id), db=db)
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    console = Console(width=120, highlight=False)
    console.print(f"run {summary['run_id']}  pipeline {summary['pipeline_name']}", markup=False)
    error = f"  error: {summary['error']}" if summary["error"] else ""
    console.print(f"status {summary['status']}{error}", markup=False)
    table = Table("step", "status", "attempts", "duration", "cached", box=None)
    for step in summary["steps"]:
        cached = "yes" if step["cached"] else ""
        cells = (step["id"], step["status"], str(step["attempts"]), _fmt_ms(step["duration_ms"]))
        table.add_row(*(Text(c) for c in (*cells, cached)))
    console.print(table)
    console.print("outputs " + json.dumps(summary["outputs"], ensure_ascii=False), markup=False)
    console.print("usage " + json.dumps(summary["usage"]), markup=False)


def gc_cmd(
    older_than: str = typer.Option(
        ..., "--older-than", help="Age of finished runs to delete, e.g. 30d, 12h, 2w."
    ),
    db: str | None = DB_OPTION,
    as_json: bool = _JSON,
) -> None:
    """Delete finished runs older than the age (with their events), unreferenced blobs and
    stale cache entries. Unfinished runs are never deleted."""
    counts = call(lambda app: app.runs.gc(older_than), db=db)
    if as_json:
        typer.echo(json.dumps(counts.to_json()))
        return
    typer.echo(
        f"deleted {counts.runs} runs, {counts.events} events, {counts.approvals} approvals, "
        f"{counts.blobs} blobs, {counts.cache_entries} cache entries"
    )


CLI: tuple[Commands, ...] = (
    Commands({"list": list_cmd, "show": show_cmd}, "runs", "Inspect recorded runs."),
    Commands({"gc": gc_cmd}),
)
