"""``evopipe patterns list|show|search``, ``evopipe failures`` and ``evopipe stats``: the
collective memory (stored champions and certified pipelines, failures clustered by cause,
meta-metrics of the whole ecosystem)."""

from __future__ import annotations

import json

import typer

from evopipe.app.memory import Cluster, StoredPattern
from evopipe.cli._options import DB_OPTION, JSON_OPTION
from evopipe.cli._session import Commands, call, echo_records


def _line(p: StoredPattern, score: float | None = None) -> str:
    fit = f"{p.fitness:.3f}" if p.fitness is not None else "-"
    head = f"{p.pattern_id[:12]}  {p.origin:9}  fitness {fit:5}  reused {p.reuse_count:<3}"
    tail = f"  {p.name}: {p.task[:60]}"
    return head + (f"  score {score:.2f}" if score is not None else "") + tail


def list_cmd(
    limit: int = typer.Option(50, help="How many, newest first."),
    db: str | None = DB_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Stored champions and certified pipelines."""
    entries = call(lambda app: app.memory.patterns(limit), db=db)
    empty = "memory is empty (promote a champion or certify one: evopipe nursery run)"
    echo_records(entries, _line, as_json=as_json, empty=empty)


def show_cmd(
    ident: str = typer.Argument(..., help="Pattern id (prefix) or pipeline name."),
    db: str | None = DB_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """One stored pipeline: where it came from, its fitness, its spec."""
    entry = call(lambda app: app.memory.pattern(ident), db=db, exit_code=1)
    if as_json:
        typer.echo(json.dumps(entry.to_json(with_spec=True), indent=2))
        return
    typer.echo(_line(entry))
    typer.echo(f"source: {entry.source_ref}")
    typer.echo(entry.yaml())


def search_cmd(
    text: str = typer.Argument(..., help="What the pipeline should do."),
    k: int = typer.Option(5, "-k", help="How many."),
    db: str | None = DB_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Stored pipelines most similar to TEXT (BM25 over name, task, kinds and prompts)."""
    hits = call(lambda app: app.memory.search(text, k), db=db)
    if as_json:
        typer.echo(json.dumps([{**p.to_json(), "score": s} for p, s in hits], indent=2))
        return
    if not hits:
        typer.echo("no stored pipeline matches")
    for p, s in hits:
        typer.echo(_line(p, s))


def failures_cmd(
    examples: int = typer.Option(3, help="Examples shown per cause."),
    db: str | None = DB_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """The failure museum: failures clustered by cause, with examples."""
    clusters = call(lambda app: app.memory.failures(examples), db=db)
    empty = "no failure recorded yet"
    echo_records(clusters, _cluster_lines, as_json=as_json, empty=empty, default=str)


def _cluster_lines(c: Cluster) -> str:
    """The cause, its count by origin, then one line per example."""
    origins = ", ".join(f"{k} {v}" for k, v in sorted(c.origins.items()))
    examples = (f"\n    - {e['subject'][:40]}: {e['message'][:100]}" for e in c.examples)
    return f"{c.cause:20} {c.count:5}  ({origins})" + "".join(examples)


def stats_cmd(db: str | None = DB_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Meta-metrics: generation rate, novelty, pattern reuse, fitness gain per 100 calls."""
    data = call(lambda app: app.memory.stats(), db=db)
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    g, e = data["generation"], data["evolution"]
    typer.echo(
        f"generation  {g['valid']}/{g['generations']} valid, {g['generated_per_hour']:.2f}/hour, "
        f"first-try valid {g['first_try_valid_share']:.0%}, mean rounds {g['mean_rounds']:.2f}"
    )
    typer.echo(
        f"evolution   {e['runs']} run(s), {e['calls']} calls, fitness gain "
        f"{e['fitness_gain']:+.3f} ({e['fitness_gain_per_100_calls']:+.4f} per 100 calls)"
    )
    typer.echo(
        f"novelty     {data['innovations']} innovation(s), "
        f"{data['novel_structure_share']:.1%} of candidates"
    )
    typer.echo(f"patterns    {data['patterns']} stored, {data['reused_patterns_share']:.0%} reused")


CLI: tuple[Commands, ...] = (
    Commands(
        {"list": list_cmd, "show": show_cmd, "search": search_cmd},
        "patterns",
        "The pattern DB: stored champions and certified pipelines.",
    ),
    Commands({"failures": failures_cmd, "stats": stats_cmd}),
)
