"""The one way a command composes its session: flags → :class:`Settings` → :class:`App`."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NoReturn, TypeVar

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
        fail(exc)
    return App(settings)


def call(op: Callable[[App], T], *, db: str | None = None, exit_code: int = 2) -> T:
    """Run one operation in a fresh session; an :class:`EvopipeError` is printed as
    ``error: …`` on stderr and exits with ``exit_code``."""
    try:
        with open_app(db=db) as app:
            return op(app)
    except EvopipeError as exc:
        fail(exc, exit_code)


def fail(exc: Exception, code: int = 2) -> NoReturn:
    """Print ``error: …`` on stderr and exit with ``code``."""
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(code) from None


def echo_json_list(items: Iterable[Any], *, default: Callable[[Any], Any] | None = None) -> None:
    """Print records (anything with ``to_json()``) as an indented JSON list."""
    typer.echo(json.dumps([item.to_json() for item in items], indent=2, default=default))


def echo_records(
    items: Sequence[T],
    line: Callable[[T], str],
    *,
    as_json: bool,
    empty: str | None = None,
    default: Callable[[Any], Any] | None = None,
) -> None:
    """Records as an indented JSON list with ``--json``, else one ``line`` each (``empty`` when
    there are none)."""
    if as_json:
        echo_json_list(items, default=default)
    elif not items and empty is not None:
        typer.echo(empty)
    else:
        for item in items:
            typer.echo(line(item))


def add_group(
    app: typer.Typer, name: str, help: str, commands: Mapping[str, Callable[..., Any]]
) -> None:
    """Add ``evopipe NAME COMMAND``: a group of commands (its help when called bare)."""
    group = typer.Typer(help=help, no_args_is_help=True)
    for command, fn in commands.items():
        group.command(command)(fn)
    app.add_typer(group, name=name)
