"""The options many commands share, declared once so that they read the same everywhere."""

from __future__ import annotations

import typer

DB_OPTION = typer.Option(
    None, "--db", help="Store URL or path (default: $EVOPIPE_DB or .evopipe/evopipe.db)."
)
JSON_OPTION = typer.Option(False, "--json", help="Print JSON.")
MODEL_OPTION = typer.Option(None, "--model", help="Model for every step that does not pin one.")
TRUST_OPTION = typer.Option(False, "--trust", help="Trusting policy (python/shell/http allowed).")
EXECUTOR_OPTION = typer.Option(
    None, "--executor", help="Where steps run: local or ray (default: config, else local)."
)
RAY_ADDRESS_OPTION = typer.Option(
    None, "--ray-address", help="Ray cluster for --executor ray (default: $RAY_ADDRESS)."
)
WORKERS_EXECUTOR_OPTION = typer.Option(
    "local",
    "--executor",
    help="Where the queue workers run: local (this process) or ray (one Ray actor each, "
    "building its own app from these settings, on the same database; --ray-address).",
)
