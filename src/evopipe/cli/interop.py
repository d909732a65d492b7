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


def register(app: typer.Typer) -> None:
    imports = typer.Typer(help="Import pipelines written for other systems.", no_args_is_help=True)
    for fmt in import_formats():
        imports.command(fmt)(_importer(fmt))
    exports = typer.Typer(help="Export a pipeline to another system.", no_args_is_help=True)
    for target in export_targets():
        exports.command(target)(_exporter(target))
    app.add_typer(imports, name="import")
    app.add_typer(exports, name="export")
