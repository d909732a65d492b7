"""``evopipe worker``: run queued runs (``app.queue``) until stopped, without the HTTP API."""

from __future__ import annotations

import asyncio
import contextlib
import signal

import typer

from evopipe.app import App, EvopipeError
from evopipe.app.queue import QueueSettings
from evopipe.app.worker import Worker
from evopipe.cli._options import RAY_ADDRESS_OPTION, TRUST_OPTION, WORKERS_EXECUTOR_OPTION
from evopipe.cli._session import Commands, fail, open_app


def worker_cmd(
    db: str | None = typer.Option(None, "--db", help="Store URL or path (the shared queue)."),
    concurrency: int = typer.Option(1, "--concurrency", min=1, help="Runs at once."),
    lease_s: float = typer.Option(
        30.0, "--lease-s", help="Lease time; a dead worker's runs are taken over after it."
    ),
    heartbeat_s: float = typer.Option(10.0, "--heartbeat-s", help="Lease renewal interval."),
    drain: bool = typer.Option(False, "--drain", help="Exit once the queue is empty."),
    trust: bool = TRUST_OPTION,
    executor: str = WORKERS_EXECUTOR_OPTION,
    ray_address: str | None = RAY_ADDRESS_OPTION,
) -> None:
    """Lease queued runs and run them; SIGTERM or Ctrl-C finishes the runs in hand, then
    exits (a killed worker's runs are resumed by another worker after its lease expires).
    With ``--executor ray`` the workers are Ray actors (one per ``--concurrency``)."""
    try:
        settings = QueueSettings(lease_s=lease_s, heartbeat_s=heartbeat_s)
    except EvopipeError as exc:
        fail(exc)
    if drain and executor != "local":
        fail(EvopipeError("--drain runs the workers in this process: use --executor local"))
    with open_app(db=db, trust=trust, ray_address=ray_address) as app:
        try:
            handled = asyncio.run(_serve(app, settings, concurrency, drain, executor))
        except EvopipeError as exc:
            fail(exc)
    typer.echo(f"worker stopped after {handled} run(s)", err=True)


async def _serve(
    app: App, settings: QueueSettings, concurrency: int, drain: bool, executor: str
) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    if not drain:
        return await app.queue.serve(
            stop, workers=concurrency, executor=executor, settings=settings
        )
    workers = [app.queue.worker(settings=settings) for _ in range(concurrency)]
    return sum(await asyncio.gather(*(_drain(w) for w in workers)))


async def _drain(worker: Worker) -> int:
    handled = 0
    while await worker.run_once() is not None:
        handled += 1
    return handled


CLI: tuple[Commands, ...] = (Commands({"worker": worker_cmd}),)
