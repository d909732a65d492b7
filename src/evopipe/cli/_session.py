"""The one way a command composes its session: flags → :class:`Settings` → :class:`App`."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Commands:
    """One row of a cli module's ``CLI`` table: ``evopipe GROUP COMMAND`` for each of
    ``commands`` (``group`` None: ``evopipe COMMAND``, top-level). A group prints its ``help``
    when called bare (unless ``no_args_is_help`` is False: then it fails with "Missing
    command")."""

    commands: Mapping[str, Callable[..., Any]]
    group: str | None = None
    help: str | None = None
    no_args_is_help: bool = True


def mount(app: typer.Typer, *table: Commands) -> None:
    """Add the commands of ``table``'s rows to ``app``, in order; a row with a group adds it as
    a sub-app of its own."""
    for row in table:
        target = app
        if row.group is not None:
            target = typer.Typer(help=row.help, no_args_is_help=row.no_args_is_help)
        for name, fn in row.commands.items():
            target.command(name)(fn)
        if row.group is not None:
            app.add_typer(target, name=row.group)
