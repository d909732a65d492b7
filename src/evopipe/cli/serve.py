"""``evopipe serve``: the HTTP API (``/api/v1``) with in-process queue workers, on the
embedded defaults (SQLite under ``.evopipe/``, the local model) or ``--db postgresql://…``."""

from __future__ import annotations

import asyncio
import contextlib

import typer

from evopipe.app import EvopipeError
from evopipe.app.queue import check_worker_executor
from evopipe.app.ratelimit import Rate
from evopipe.app.serving import LOOPBACK, ServerOptions
from evopipe.cli._options import (
    MODEL_OPTION,
    RAY_ADDRESS_OPTION,
    TRUST_OPTION,
    WORKERS_EXECUTOR_OPTION,
)
from evopipe.cli._session import Commands, fail, open_app


def serve_cmd(
    host: str = typer.Option(
        LOOPBACK, "--host", help="Address to bind (keys required off 127.0.0.1)."
    ),
    port: int = typer.Option(8420, "--port", min=1, max=65535, help="Port."),
    db: str | None = typer.Option(
        None, "--db", help="Store URL or path (postgresql://… for teams)."
    ),
    workers: int = typer.Option(2, "--workers", min=0, help="Queue workers (0: none)."),
    executor: str = WORKERS_EXECUTOR_OPTION,
    ray_address: str | None = RAY_ADDRESS_OPTION,
    model: str | None = MODEL_OPTION,
    trust: bool = TRUST_OPTION,
    scheduler: bool = typer.Option(
        True, "--scheduler/--no-scheduler", help="Run due schedules in this process."
    ),
    key_rate: float = typer.Option(
        100.0, "--key-rate", min=0.1, help="Requests a second per API key (burst: 2 s of it)."
    ),
    tenant_rate: float = typer.Option(
        500.0, "--tenant-rate", min=0.1, help="Requests a second per tenant (burst: 2 s of it)."
    ),
) -> None:
    """Serve the API. Without any API key (``evopipe keys create``) it serves without
    authentication on 127.0.0.1 only, and says so. Rate limits are per process: with N
    servers behind a balancer, give each rate/N (docs/decisions/0040s-rate-limits.md)."""
    from evopipe.server.run import serve

    try:
        check_worker_executor(executor)
    except EvopipeError as exc:
        fail(exc)
    options = ServerOptions(
        host=host,
        port=port,
        workers=workers,
        worker_executor=executor,
        scheduler=scheduler,
        key_rate=Rate(burst=max(1, round(2 * key_rate)), per_s=key_rate),
        tenant_rate=Rate(burst=max(1, round(2 * tenant_rate)), per_s=tenant_rate),
    )
    session = open_app(db=db, model=model, trust=trust, ray_address=ray_address)
    with session as app, contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(app, options, say=lambda line: typer.echo(line, err=True)))


CLI: tuple[Commands, ...] = (Commands({"serve": serve_cmd}),)
