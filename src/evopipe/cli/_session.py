"""The one way a command composes its session: flags → :class:`Settings` → :class:`App`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import typer

from evopipe.app import App, EvopipeError, Settings

T = TypeVar("T")


def open_app(
    *,
    db: str | None = None,
    model: str | None = None,
    trust: bool = False,
    no_cache: bool = False,
    otel: bool = False,
    executor: str | None = None,
    ray_address: str | None = None,
) -> App:
    """Config files and the environment, overridden by the flags that were given."""
    try:
        settings = Settings.load(
            db=db,
            model=model,
            trust=trust or None,
            cache=False if no_cache else None,
            otel=otel or None,
            executor=executor,
            ray_address=ray_address,
        )
    except EvopipeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    return App(settings)


def call(op: Callable[[App], T], *, db: str | None = None, exit_code: int = 2) -> T:
    """Run one operation in a fresh session; an :class:`EvopipeError` is printed as
    ``error: …`` on stderr and exits with ``exit_code``."""
    try:
        with open_app(db=db) as app:
            return op(app)
    except EvopipeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(exit_code) from None


EXECUTOR_OPTION = typer.Option(
    None, "--executor", help="Where steps run: local or ray (default: config, else local)."
)
RAY_ADDRESS_OPTION = typer.Option(
    None, "--ray-address", help="Ray cluster for --executor ray (default: $RAY_ADDRESS)."
)
