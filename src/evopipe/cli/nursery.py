"""``evopipe nursery run NAME`` (certify in stages: smoke → dataset → robustness under injected
faults) and ``evopipe factory run FILE`` (generate and register a pipeline per request,
deduplicated against the registry, resumable)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import typer

from evopipe.app import EvopipeError
from evopipe.app.nursery import Item, NurseryConfig, NurseryRequest
from evopipe.cli._options import DB_OPTION, JSON_OPTION
from evopipe.cli._session import add_group, echo_json_list, fail, open_app

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
    file: Path = typer.Argument(..., help="Demand list: one request per line, or a YAML list."),
    model: str = typer.Option(None, "--model", help="Model generating the pipelines."),
    db: str | None = DB_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Generate and register a pipeline per request (run again to resume after a kill)."""

    def show(item: Item, total: int) -> None:
        if not as_json:
            what = item.name or item.error or ""
            typer.echo(f"[{item.index + 1}/{total}] {item.status:9} {what}")

    try:
        with open_app(db=db, model=model) as app:
            items = asyncio.run(app.nursery.factory(file, model=model, on_item=show))
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


def register(app: typer.Typer) -> None:
    add_group(
        app, "nursery", "Certify pipelines in stages before release.", {"run": nursery_run_cmd}
    )
    add_group(
        app, "factory", "Mass-produce pipelines from a demand list.", {"run": factory_run_cmd}
    )
