"""``evopipe import FORMAT FILE`` and ``evopipe export TARGET FILE``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import typer

from evopipe.app.interop import (
    SpecError,
    export_file,
    export_targets,
    import_file,
    import_formats,
)
from evopipe.cli._session import Commands

_OUT = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout.")
_STRICT = typer.Option(False, "--strict", help="Refuse on warnings too.")
_QUIET = typer.Option(False, "--quiet", "-q", help="Do not print warnings.")


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {output}", err=True)


def _importer(fmt: str) -> Callable[..., None]:
    def command(
        file: Path = typer.Argument(..., help="The file to import."),
        output: Path | None = _OUT,
        strict: bool = _STRICT,
        quiet: bool = _QUIET,
    ) -> None:
        result = import_file(fmt, file, strict=strict)
        for d in result.diagnostics:
            if d.severity == "error" or not quiet:
                typer.echo(d.format(), err=True)
        if result.text is None:
            typer.echo(f"{file}: not imported ({len(result.errors)} errors)", err=True)
            raise typer.Exit(1)
        _emit(result.text, output)

    command.__doc__ = f"Translate a {fmt} pipeline file into evopipe YAML (checked)."
    return command


def _exporter(target: str) -> Callable[..., None]:
    def command(
        file: Path = typer.Argument(..., help="The evopipe pipeline file."),
        output: Path | None = _OUT,
    ) -> None:
        try:
            text = export_file(target, file)
        except SpecError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(1) from None
        _emit(text, output)

    command.__doc__ = f"Export a pipeline as {target}."
    return command


CLI: tuple[Commands, ...] = (
    Commands(
        {fmt: _importer(fmt) for fmt in import_formats()},
        "import",
        "Import pipelines written for other systems.",
    ),
    Commands(
        {target: _exporter(target) for target in export_targets()},
        "export",
        "Export a pipeline to another system.",
    ),
)
