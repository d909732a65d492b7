"""``evopipe serve``: the HTTP API (``/api/v1``) with in-process queue workers, on the
embedded defaults (SQLite under ``.evopipe/``, the local model) or ``--db postgresql://…``."""

from __future__ import annotations

import asyncio
import contextlib

import typer

from evopipe.app.ratelimit import Rate
from evopipe.app.serving import LOOPBACK, ServerOptions
from evopipe.cli._options import MODEL_OPTION, TRUST_OPTION
from evopipe.cli._session import open_app


def serve_cmd(
    host: str = typer.Option(
        LOOPBACK, "--host", help="Address to bind (keys required off 127.0.0.1)."
    ),
    port: int = typer.Option(8420, "--port", min=1, max=65535, help="Port."),
    db: str | None = typer.Option(
        None, "--db", help="Store URL or path (postgresql://… for teams)."
    ),
    workers: int = typer.Option(2, "--workers", min=0, help="In-process queue workers (0: none)."),
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

    options = ServerOptions(
        host=host,
        port=port,
        workers=workers,
        scheduler=scheduler,
        key_rate=Rate(burst=max(1, round(2 * key_rate)), per_s=key_rate),
        tenant_rate=Rate(burst=max(1, round(2 * tenant_rate)), per_s=tenant_rate),
    )
    with open_app(db=db, model=model, trust=trust) as app, contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(app, options, say=lambda line: typer.echo(line, err=True)))


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_cmd)
