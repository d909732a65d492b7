"""Run the API with uvicorn and queue workers, in-process or on Ray (``evopipe serve``)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import uvicorn

from evopipe.app import App
from evopipe.app.serving import ServerOptions, binding
from evopipe.server.api import PREFIX, create_server

_WHERE = {"local": "in-process ", "ray": "Ray actor "}


async def serve(
    app: App,
    options: ServerOptions,
    say: Callable[[str], None] = print,
    shutdown: asyncio.Event | None = None,
) -> None:
    """Serve until interrupted (or ``shutdown`` is set); the runs in the workers' hands are
    finished first."""
    bound = binding(options.host, have_keys=app.auth.any_keys())
    say(bound.note)
    api = create_server(app, options, keyless=bound.keyless)
    config = uvicorn.Config(
        api, host=bound.host, port=options.port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    stop = asyncio.Event()
    workers: list[asyncio.Future[Any]] = []
    if options.workers:
        pool = app.queue.serve(stop, workers=options.workers, executor=options.worker_executor)
        workers.append(asyncio.ensure_future(pool))
    if options.scheduler:
        workers.append(asyncio.ensure_future(app.scheduling.serve(stop)))
    say(
        f"the evopipe API is on http://{bound.host}:{options.port}{PREFIX} "
        f"(docs: {PREFIX}/docs; dashboard: http://{bound.host}:{options.port}/ui; "
        f"{options.workers} {_WHERE.get(options.worker_executor, '')}worker(s); "
        f"schedules {'run here' if options.scheduler else 'off'})"
    )

    async def watch() -> None:
        if shutdown is not None:
            await shutdown.wait()
            server.should_exit = True

    watcher = asyncio.ensure_future(watch())
    try:
        await server.serve()
    finally:
        watcher.cancel()
        stop.set()
        await app.evolution_jobs.drain()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*workers, return_exceptions=True)
