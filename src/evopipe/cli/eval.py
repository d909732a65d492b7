"""``evopipe eval``: a thin face over :mod:`evopipe.app.evaluate`."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
from collections.abc import Callable

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from evopipe.app import App, EvopipeError
from evopipe.app.evaluate import (
    Comparison,
    EvalReport,
    EvalRequest,
    EvalStarted,
    ExampleResult,
    Projection,
)
from evopipe.cli._options import EXECUTOR_OPTION, JSON_OPTION, RAY_ADDRESS_OPTION
from evopipe.cli._session import Commands, open_app

Session = Callable[[], App]

_HELP = (
    "Evaluate a pipeline on a dataset, or compare two (paired bootstrap).\n\n"
    "Usage: `evopipe eval PIPELINE --dataset FILE --metric exact` "
    "or `evopipe eval compare A B --dataset FILE --metric exact`.\n\n"
    "--dataset: a JSONL/CSV file (seeded splits, or a `split` column), a directory with "
    "train/val/test.jsonl, or SPLIT=FILE repeated. --map INPUT=FIELD gives a pipeline input a "
    "dataset field. --metric: NAME or NAME\\[key=value;...], comma-separated."
)


def _fmt_usd(value: float, known: bool = True) -> str:
    if not known:
        return "unknown (a model has no price)"
    return f"${value:.6f}" if value < 0.01 else f"${value:.4f}"


def report_table(report: EvalReport) -> Table:
    obj = report.objectives
    q = obj.quality
    title = f"{report.pipeline} on {report.dataset} [{report.split}], n={report.n}"
    table = Table(title=escape(title))
    table.add_column("objective")
    table.add_column("value", justify="right")
    half = (q.high - q.low) / 2
    table.add_row("quality", f"{q.mean:.3f} ± {half:.3f}  [{q.low:.3f}, {q.high:.3f}]")
    if len(report.metric_means) > 1:
        for name, value in report.metric_means.items():
            table.add_row(f"  {name}", f"{value:.3f}")
    cost = f"{_fmt_usd(obj.cost_usd)}  (total {_fmt_usd(obj.total_cost_usd)})"
    table.add_row("cost / example", cost if obj.cost_known else _fmt_usd(0.0, known=False))
    table.add_row("tokens / example", f"{obj.tokens:.1f}  (total {obj.total_tokens})")
    cached = sum(r.cached_calls for r in report.examples)
    table.add_row(
        "model calls",
        f"{obj.total_calls - cached} made, {cached} cached (+{report.judge_calls} judge)",
    )
    table.add_row("spent now", _fmt_usd(report.spent_usd, obj.cost_known))
    table.add_row("latency p50 / p95", f"{obj.latency_p50_ms:.0f} ms / {obj.latency_p95_ms:.0f} ms")
    table.add_row("success rate", f"{obj.success_rate:.1%}")
    table.add_row("failures", str(report.failures))
    if report.stopped:
        table.add_row("stopped", f"{report.stopped} after {report.n} of {report.planned} examples")
    return table


def comparison_table(cmp: Comparison) -> Table:
    p = cmp.paired
    table = Table(title=escape(f"{cmp.b.pipeline} (B) vs {cmp.a.pipeline} (A), {p.n} examples"))
    table.add_column("")
    table.add_column("A", justify="right")
    table.add_column("B", justify="right")
    table.add_row("quality", f"{p.mean_a:.3f}", f"{p.mean_b:.3f}")
    oa, ob = cmp.a.objectives, cmp.b.objectives
    table.add_row(
        "cost / example",
        _fmt_usd(oa.cost_usd, oa.cost_known),
        _fmt_usd(ob.cost_usd, ob.cost_known),
    )
    table.add_row("latency p50", f"{oa.latency_p50_ms:.0f} ms", f"{ob.latency_p50_ms:.0f} ms")
    table.add_row("success rate", f"{oa.success_rate:.1%}", f"{ob.success_rate:.1%}")
    table.add_row(
        "B - A",
        "",
        f"{p.diff:+.3f}  [{p.low:+.3f}, {p.high:+.3f}]  p={p.p_value:.3g}",
    )
    return table


def _projection_line(p: Projection) -> str:
    return (
        f"projection from {p.sampled} example(s): {p.n} examples ≈ {p.calls:.0f} calls, "
        f"{p.tokens:.0f} tokens, {_fmt_usd(p.cost_usd)}"
    )


class _ProgressDisplay:
    """A recorder that advances a Rich progress bar (stderr) as examples finish."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def start(self, started: EvalStarted) -> None:
        name = escape(started.pipeline.name)
        self.tasks[started.eval_id] = self.progress.add_task(name, total=started.planned)

    def add_example(self, eval_id: str, result: ExampleResult) -> None:
        self.progress.advance(self.tasks[eval_id])

    def finish(self, eval_id: str, report: EvalReport) -> None:
        return None


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )


def _compare(req: EvalRequest, pipelines: list[str], session: Session, as_json: bool) -> None:
    if len(pipelines) != 3:
        raise typer.BadParameter("usage: evopipe eval compare A B --dataset ...")
    with session() as app, _progress() as bar:
        req = dataclasses.replace(req, progress=_ProgressDisplay(bar))
        outcome = asyncio.run(app.evaluations.compare(req, pipelines[1], pipelines[2]))
    if as_json:
        typer.echo(json.dumps(outcome.comparison.to_json(), indent=2, default=str))
    else:
        Console().print(comparison_table(outcome.comparison))


def _single(req: EvalRequest, pipelines: list[str], session: Session, as_json: bool) -> None:
    if len(pipelines) != 1:
        raise typer.BadParameter("give one PIPELINE (or: compare A B)")
    with session() as app, _progress() as bar:
        req = dataclasses.replace(req, progress=_ProgressDisplay(bar))
        outcome = asyncio.run(app.evaluations.evaluate(req, pipelines[0]))
    if outcome.projection is not None:
        Console(stderr=True).print(_projection_line(outcome.projection), markup=False)
    if as_json:
        typer.echo(json.dumps(outcome.report.to_json(), indent=2, default=str))
    else:
        Console().print(report_table(outcome.report))
    if (note := outcome.report.coverage_note()) is not None:
        Console(stderr=True).print(f"note: {note}", markup=False)


def eval_cmd(
    pipelines: list[str] = typer.Argument(..., help="PIPELINE, or: compare A B"),
    dataset: list[str] = typer.Option(..., "--dataset", "-d", help="FILE, DIR or SPLIT=FILE"),
    metric: str = typer.Option("exact", "--metric", "-m", help="NAME\\[,NAME]"),
    split: str = typer.Option("val", help="train, val, test or all"),
    limit: int | None = typer.Option(None, help="Evaluate at most N examples."),
    model: str | None = typer.Option(None, help="Model for steps that do not pin one."),
    map_: list[str] = typer.Option([], "--map", help="INPUT=FIELD (repeatable)"),
    expected: str | None = typer.Option(None, help="Dataset field holding the answer."),
    output: str | None = typer.Option(None, help="Pipeline output to score."),
    concurrency: int = typer.Option(8, min=1, help="Examples run at once."),
    budget_usd: float | None = typer.Option(None, "--budget-usd", min=0),
    budget_calls: int | None = typer.Option(None, "--budget-calls", min=0),
    seed: int = typer.Option(0, help="Seed of splits and bootstrap."),
    project: int = typer.Option(3, help="Examples run first to project cost (0: none)."),
    allow_python: list[str] = typer.Option([], help="Allow a python metric module:fn."),
    db: str | None = typer.Option(None, help="Store URL or path (default .evopipe/)."),
    as_json: bool = JSON_OPTION,
    no_cache: bool = typer.Option(False, "--no-cache", help="Read no stored response."),
    executor: str | None = EXECUTOR_OPTION,
    ray_address: str | None = RAY_ADDRESS_OPTION,
) -> None:
    req = EvalRequest(
        dataset=dataset,
        metrics=metric,
        split=split,
        limit=limit,
        model=model,
        mapping=map_,
        expected=expected,
        output=output,
        concurrency=concurrency,
        budget_usd=budget_usd,
        budget_calls=budget_calls,
        seed=seed,
        project=project,
        python_allow=allow_python,
    )
    session = functools.partial(
        open_app, db=db, no_cache=no_cache, executor=executor, ray_address=ray_address
    )
    try:
        if pipelines[0] == "compare":
            _compare(req, pipelines, session, as_json)
        else:
            _single(req, pipelines, session, as_json)
    except EvopipeError as exc:
        Console(stderr=True).print(f"error: {exc}", markup=False)
        raise typer.Exit(2) from None


eval_cmd.__doc__ = _HELP

CLI: tuple[Commands, ...] = (Commands({"eval": eval_cmd}),)
