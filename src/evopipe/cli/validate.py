"""``evopipe validate`` and ``evopipe schema``."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path

import typer
from rich.text import Text

from evopipe.app import Diagnostic, FileReport, reports_json, summary
from evopipe.cli._session import Commands, open_app


class Profile(StrEnum):
    default = "default"
    generated = "generated"


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


def validate(
    paths: list[Path] = typer.Argument(..., help="Pipeline files or directories of them."),
    profile: Profile = typer.Option(Profile.default, "--profile", help="Rule profile."),
    output_format: OutputFormat = typer.Option(
        OutputFormat.text, "--format", help="text (like a compiler) or json."
    ),
    trust: bool = typer.Option(
        False, "--trust", help="Trusted policy: allow shell, python and http steps."
    ),
) -> None:
    """Check pipeline files; exit 0 if valid, 1 if errors were found, 2 on a usage error."""
    with open_app(trust=trust) as app:
        reports = app.pipelines.validate(paths, profile=profile.value)
    if output_format is OutputFormat.json:
        typer.echo(reports_json(reports))
    else:
        _print_text(reports)
    raise typer.Exit(0 if all(r.valid for r in reports) else 1)


def _print_text(reports: list[FileReport]) -> None:
    if sys.stdout.isatty():
        _print_rich(reports)
        return
    for report in reports:
        for d in report.diagnostics:
            typer.echo(d.format())
        if not report.diagnostics:
            typer.echo(f"{report.path}: ok")
    typer.echo(summary(reports))


def _print_rich(reports: list[FileReport]) -> None:
    from rich.console import Console

    console = Console(highlight=False, soft_wrap=True)  # one diagnostic per line, like a compiler
    colours = {"error": "bold red", "warning": "bold yellow", "info": "bold blue"}
    for report in reports:
        for d in report.diagnostics:
            console.print(_rich_line(d, colours))
        if not report.diagnostics:
            console.print(Text.assemble((report.path, "bold"), ": ", ("ok", "green")))
    console.print(Text(summary(reports), style="dim"))


def _rich_line(d: Diagnostic, colours: dict[str, str]) -> Text:
    line = Text.assemble(
        (f"{d.path}:{d.line}:{d.column}: ", "bold"),
        (f"{d.severity}[{d.rule}]", colours.get(d.severity, "bold")),
        f": {d.message}",
        (f" (at {d.where})" if d.where else "", "dim"),
    )
    if d.hint:
        line.append(f"\n  hint: {d.hint}", style="cyan")
    return line


def schema(
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file."),
) -> None:
    """Print the JSON Schema of the pipeline format (for editors: see docs/format.md)."""
    with open_app() as app:
        text = app.pipelines.schema_text()
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {output}", err=True)


CLI: tuple[Commands, ...] = (Commands({"validate": validate, "schema": schema}),)
