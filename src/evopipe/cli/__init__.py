"""The ``evopipe`` command: a thin face over :mod:`evopipe.app`.

One module per command group; each declares its commands in a table, ``CLI`` (rows of
:class:`~evopipe.cli._session.Commands`: top-level commands, or a group and its commands), which
:func:`build_app` mounts. Adding a module is one line in ``_GROUPS``.
"""

from __future__ import annotations

import importlib

import typer

from evopipe import __version__
from evopipe.cli._session import mount

_GROUPS: tuple[str, ...] = (
    "evopipe.cli.run",
    "evopipe.cli.validate",
    "evopipe.cli.models",
    "evopipe.cli.evolve",
    "evopipe.cli.generate",
    "evopipe.cli.eval",
    "evopipe.cli.runs",
    "evopipe.cli.registry",
    "evopipe.cli.interop",
    "evopipe.cli.memory",
    "evopipe.cli.nursery",
    "evopipe.cli.mcp",
    "evopipe.cli.worker",
    "evopipe.cli.release",
    "evopipe.cli.route",
    "evopipe.cli.chat",
    "evopipe.cli.chain",
    "evopipe.cli.schedule",
    "evopipe.cli.catalog",
    "evopipe.cli.report",
    "evopipe.cli.keys",
    "evopipe.cli.serve",
)
"""Modules whose ``CLI: tuple[Commands, ...]`` table is mounted, in this order."""


def _version(value: bool) -> None:
    if value:
        typer.echo(f"evopipe {__version__}")
        raise typer.Exit()


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="evopipe",
        help="Pipelines that build pipelines: generate, validate, run and evolve LLM pipelines.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )

    @app.callback()
    def _root(
        version: bool = typer.Option(
            False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ) -> None:
        """evopipe command line."""

    for name in _GROUPS:
        mount(app, *importlib.import_module(name).CLI)
    return app


def main() -> None:
    build_app()()
