"""``evopipe mcp``: serve evopipe to MCP clients (agent hosts) over stdio or streamable HTTP."""

from __future__ import annotations

import asyncio

import typer

from evopipe.cli._options import DB_OPTION, MODEL_OPTION, TRUST_OPTION
from evopipe.cli._session import Commands, open_app


def mcp_cmd(
    http: bool = typer.Option(False, "--http", help="Streamable HTTP (stateless), not stdio."),
    host: str = typer.Option("127.0.0.1", "--host", help="HTTP: the address to bind."),
    port: int = typer.Option(8765, "--port", help="HTTP: the port (0: any free port)."),
    db: str = DB_OPTION,
    model: str = MODEL_OPTION,
    trust: bool = TRUST_OPTION,
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not use the response cache."),
    otel: bool = typer.Option(False, "--otel", help="OpenTelemetry spans of every run."),
) -> None:
    """Serve generate, validate, run, run_status, run_events, approve, evolve, lineage and
    registry as MCP tools, and pipelines and runs as resources (docs/mcp.md).

    stdio by default (for an agent host that launches `evopipe mcp`); with --http, streamable
    HTTP at http://HOST:PORT/mcp, bound to 127.0.0.1 unless --host says otherwise."""
    try:
        from evopipe.mcp import serve
    except ImportError as exc:
        if not (exc.name or "").startswith(("mcp", "uvicorn")):
            raise
        typer.echo("error: evopipe mcp needs the mcp extra: pip install 'evopipe[mcp]'", err=True)
        raise typer.Exit(2) from None
    app = open_app(db=db, model=model, trust=trust, no_cache=no_cache, otel=otel)

    def announce(text: str) -> None:
        typer.echo(text, err=True)

    asyncio.run(serve(app, http=http, host=host, port=port, announce=announce))


CLI: tuple[Commands, ...] = (Commands({"mcp": mcp_cmd}),)
