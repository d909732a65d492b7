"""``evopipe schedule add|list|remove|fires`` and ``evopipe scheduler``: cron schedules of
pipelines, and the process that runs them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import time
from datetime import UTC, datetime

import typer

from evopipe.app import EvopipeError, parse_inputs
from evopipe.cli._options import DB_OPTION, JSON_OPTION, MODEL_OPTION, TRUST_OPTION
from evopipe.cli._session import Commands, call, echo_records, fail, open_app


def add_cmd(
    name: str = typer.Argument(..., help="Schedule name."),
    cron: str = typer.Argument(..., help="Cron expression, e.g. '*/5 * * * *'."),
    target: str = typer.Argument(..., help="Pipeline: file, library name, NAME or NAME@N."),
    inputs: list[str] = typer.Option([], "-i", "--input", help="Run input key=value."),
    tz: str = typer.Option("UTC", "--tz", help="Time zone of the cron expression."),
    missed: str = typer.Option("skip", "--missed", help="skip | run_once | all"),
    max_catchup: int = typer.Option(10, "--max-catchup", help="Most missed runs caught up."),
    window: float = typer.Option(86400.0, "--catchup-window", help="Catch-up window, seconds."),
    overlap: str = typer.Option(
        "skip", "--overlap", help="skip | buffer_one | buffer_all | cancel_other | allow_all"
    ),
    replace: bool = typer.Option(False, "--replace", help="Replace a schedule of that name."),
    db: str = DB_OPTION,
) -> None:
    """Add a schedule."""
    policy = {
        "tz": tz,
        "missed": missed,
        "max_catchup": max_catchup,
        "catchup_window_s": window,
        "overlap": overlap,
    }
    schedule = call(
        lambda app: app.scheduling.add(
            name, cron, target, parse_inputs(inputs), replace=replace, **policy
        ),
        db=db,
    )
    when = schedule.next_time(time.time())
    typer.echo(f"{schedule.name}: {schedule.cron} ({schedule.tz}) next {_iso(when)}")


def list_cmd(db: str = DB_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Schedules with their policies and next nominal time."""
    items = call(lambda app: app.scheduling.list(), db=db)
    if as_json:
        typer.echo(json.dumps(items, indent=2))
        return
    if not items:
        typer.echo("no schedules (evopipe schedule add NAME CRON PIPELINE)")
    for s in items:
        typer.echo(
            f"{s['name']:20} {s['cron']:16} {s['tz']:12} {s['target']:24} "
            f"missed={s['missed']} overlap={s['overlap']} next {_iso(s['next'])}"
        )


def remove_cmd(name: str = typer.Argument(..., help="Schedule name."), db: str = DB_OPTION) -> None:
    """Remove a schedule (its past fires stay recorded)."""
    call(lambda app: app.scheduling.remove(name), db=db)
    typer.echo(f"removed {name}")


def fires_cmd(
    name: str = typer.Argument(None, help="Schedule name (default: all)."),
    db: str = DB_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Recorded fires: nominal time, status, run, start lateness."""
    echo_records(
        call(lambda app: app.scheduling.fires(name), db=db),
        lambda f: (
            f"{f.schedule:20} {_iso(f.nominal)} {f.status:10} {f.run_id or '-':28} "
            f"late {f.lateness:.3f}s"
        ),
        as_json=as_json,
    )


def scheduler_cmd(
    once: bool = typer.Option(False, "--once", help="Fire what is due now, wait, and exit."),
    model: str = MODEL_OPTION,
    trust: bool = TRUST_OPTION,
    max_per_pipeline: int = typer.Option(
        None, "--max-per-pipeline", help="Most runs of one pipeline at once (across processes)."
    ),
    db: str = DB_OPTION,
) -> None:
    """Run due schedules until interrupted (Ctrl-C or SIGTERM stop it cleanly)."""

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        with open_app(db=db, model=model, trust=trust) as app:
            fired = await app.scheduling.serve(
                stop, model=model, once=once, max_per_pipeline=max_per_pipeline
            )
        return len(fired)

    try:
        count = asyncio.run(main())
    except EvopipeError as exc:
        fail(exc)
    if once:
        typer.echo(f"fired {count}")


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


CLI: tuple[Commands, ...] = (
    Commands(
        {"add": add_cmd, "list": list_cmd, "remove": remove_cmd, "fires": fires_cmd},
        "schedule",
        "Cron schedules of pipelines.",
    ),
    Commands({"scheduler": scheduler_cmd}),
)
