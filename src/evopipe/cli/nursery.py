"""``evopipe nursery run NAME`` (certify in stages: smoke → dataset → robustness under injected
faults) and ``evopipe factory run FILE`` (generate and register a pipeline per request,
deduplicated against the registry, resumable)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import typer

from evopipe.app import EvopipeError
from evopipe.app.nursery import Item, NurseryConfig, NurseryRequest, read_demands
from evopipe.cli._options import DB_OPTION, JSON_OPTION
from evopipe.cli._session import Commands, echo_json_list, fail, open_app

_MODEL = typer.Option(None, "--model", help="Model the pipeline runs with.")


def nursery_run_cmd(
    name: str = typer.Argument(..., help="A pipeline file, NAME or NAME@N from the registry."),
    dataset: list[str] = typer.Option(..., "--dataset", "-d", help="Dataset file(s)."),
    metric: str = typer.Option("exact", "--metric", help="Metric(s), as for evopipe eval."),
    model: str = _MODEL,
    mapping: list[str] = typer.Option([], "--map", help="INPUT=FIELD."),
    expected: str = typer.Option(None, "--expected", help="The expected-answer field."),
    min_quality: float = typer.Option(0.8, help="The dataset stage's gate (mean score)."),
    fault_rate: float = typer.Option(0.3, help="Share of model calls failing in robustness."),
    tolerance: float = typer.Option(0.1, help="Score drop allowed under faults."),
    db: str | None = DB_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Certify a pipeline in stages; exit 1 when a gate refuses it."""
    try:
        config = NurseryConfig(min_quality=min_quality, fault_rate=fault_rate, tolerance=tolerance)
        req = NurseryRequest(dataset, metric, model, mapping, expected, config=config)
        with open_app(db=db, model=model) as app:
            cert = asyncio.run(app.nursery.run(name, req))
    except EvopipeError as exc:
        fail(exc)
    if as_json:
        typer.echo(json.dumps(cert.to_json(), indent=2, default=str))
    else:
        for stage in cert.stages:
            typer.echo(f"{'pass' if stage.passed else 'FAIL'}  {stage.stage:11} {stage.reason}")
        typer.echo(f"{cert.status}: {cert.name} {cert.candidate_id[:12]}")
    if not cert.certified:
        raise typer.Exit(1)


def factory_run_cmd(
    file: Path = typer.Argument(None, help="Demand list: one request per line, or a YAML list."),
    from_misses: int = typer.Option(
        0, "--from-misses", help="Also build for the N requests the router found nothing for."
    ),
    model: str = typer.Option(None, "--model", help="Model generating the pipelines."),
    db: str | None = DB_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Generate and register a pipeline per request (run again to resume after a kill)."""
    try:
        with open_app(db=db, model=model) as app:
            demands = read_demands_arg(file) + [r for r, _ in app.nursery.demand(from_misses)]
            if not demands:
                fail(EvopipeError("no demand: give a demand file or --from-misses N"))
            with _Progress(quiet=as_json) as progress:
                items = asyncio.run(
                    app.nursery.factory(demands, model=model, on_item=progress.show)
                )
    except EvopipeError as exc:
        fail(exc)
    if as_json:
        echo_json_list(items)
    counts: dict[str, int] = {}
    for item in items:
        counts[item.status] = counts.get(item.status, 0) + 1
    if not as_json:
        typer.echo(", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    if counts.get("failed"):
        raise typer.Exit(1)


def read_demands_arg(file: Path | None) -> list[str]:
    return read_demands(file) if file is not None else []


class _Progress:
    """A progress bar on a terminal (rich); a line per item otherwise (logs, pipes)."""

    def __init__(self, *, quiet: bool) -> None:
        self.quiet = quiet
        self.bar: Any = None
        self.task: Any = None

    def __enter__(self) -> _Progress:
        if not self.quiet and sys.stdout.isatty():
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self.bar = Progress(
                TextColumn("factory"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.description}"),
            )
            self.bar.__enter__()
        return self

    def show(self, item: Item, total: int) -> None:
        what = item.name or item.error or ""
        if self.bar is not None:
            if self.task is None:
                self.task = self.bar.add_task("", total=total)
            self.bar.update(self.task, advance=1, description=f"{item.status} {what}"[:60])
        elif not self.quiet:
            typer.echo(f"[{item.index + 1}/{total}] {item.status:9} {what}")

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


def factory_demand_cmd(
    limit: int = typer.Option(20, "--limit", help="How many requests."),
    db: str | None = DB_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """The requests the router found no pipeline for, most asked first (the factory's demand)."""
    try:
        with open_app(db=db) as app:
            rows = app.nursery.demand(limit)
    except EvopipeError as exc:
        fail(exc)
    if as_json:
        typer.echo(json.dumps([{"request": r, "asked": n} for r, n in rows], indent=2))
        return
    for request, asked in rows:
        typer.echo(f"{asked:4}  {request}")
    if not rows:
        typer.echo("no unserved request (the router found a pipeline every time)")


CLI: tuple[Commands, ...] = (
    Commands({"run": nursery_run_cmd}, "nursery", "Certify pipelines in stages before release."),
    Commands(
        {"run": factory_run_cmd, "demand": factory_demand_cmd},
        "factory",
        "Mass-produce pipelines from a demand list.",
    ),
)
