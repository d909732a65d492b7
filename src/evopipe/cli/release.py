"""``evopipe release ...``: aliases, tags, the undoable change log and canaries of registered
pipelines."""

from __future__ import annotations

import json
from typing import Any

import typer

from evopipe.cli._options import DB_OPTION, JSON_OPTION
from evopipe.cli._session import Commands, call, echo_records

_REASON = typer.Option("", "--reason", help="Why (kept in the change log).")
_NAME = typer.Argument(..., help="Registered pipeline name.")


def _echo_change(change: Any) -> None:
    typer.echo(
        f"#{change.id} {change.action} {change.name} {change.subject}: "
        f"{change.before} -> {change.after}"
    )


def alias_cmd(
    name: str = _NAME,
    alias: str = typer.Argument(..., help="champion, canary or your own word."),
    version: int = typer.Argument(..., help="Version number."),
    reason: str = _REASON,
    db: str = DB_OPTION,
) -> None:
    """Point an alias at a version (``champion`` moves the champion)."""
    _echo_change(call(lambda app: app.releases.set_alias(name, alias, version, reason), db=db))


def unalias_cmd(
    name: str = _NAME, alias: str = typer.Argument(...), reason: str = _REASON, db: str = DB_OPTION
) -> None:
    """Remove an alias."""
    _echo_change(call(lambda app: app.releases.remove_alias(name, alias, reason), db=db))


def tag_cmd(
    name: str = _NAME,
    version: int = typer.Argument(...),
    tag: str = typer.Argument(..., help="Tag or category."),
    remove: bool = typer.Option(False, "--remove", help="Remove the tag instead."),
    reason: str = _REASON,
    db: str = DB_OPTION,
) -> None:
    """Tag a version (or remove a tag)."""
    if remove:
        _echo_change(call(lambda app: app.releases.untag(name, version, tag, reason), db=db))
    else:
        _echo_change(call(lambda app: app.releases.tag(name, version, tag, reason), db=db))


def changes_cmd(
    name: str = typer.Argument(None, help="Only this name."),
    db: str = DB_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """The change log (aliases, tags, canaries); any change can be undone by its number."""
    echo_records(
        call(lambda app: app.releases.changes(name), db=db),
        lambda c: (
            f"#{c.id:<4} {c.name:20} {c.action:12} {c.subject:12} {c.before} -> {c.after}  "
            f"{c.reason}{_undone(c.undone_by)}"
        ),
        as_json=as_json,
    )


def _undone(by: int | None) -> str:
    return f"  (undone by #{by})" if by else ""


def undo_cmd(change: int = typer.Argument(..., help="Change number."), db: str = DB_OPTION) -> None:
    """Undo one change (logged as a change of its own)."""
    _echo_change(call(lambda app: app.releases.undo(change), db=db))


def show_cmd(name: str = _NAME, db: str = DB_OPTION) -> None:
    """Aliases, tags and the canary (with observed stats) of a name."""
    typer.echo(json.dumps(call(lambda app: app.releases.describe(name), db=db), indent=2))


def canary_cmd(
    name: str = _NAME,
    version: int = typer.Argument(..., help="The challenger version."),
    share: float = typer.Option(0.1, "--share", help="Share of keys routed to it."),
    max_error_rate: float = typer.Option(0.2, "--max-error-rate"),
    min_fitness: float = typer.Option(None, "--min-fitness"),
    min_requests: int = typer.Option(20, "--min-requests", help="Outcomes before judging."),
    stop: bool = typer.Option(False, "--stop", help="Stop the running canary instead."),
    db: str = DB_OPTION,
) -> None:
    """Start a canary: a share of routed requests goes to the challenger, demoted on breach."""
    if stop:
        call(lambda app: app.releases.stop_canary(name), db=db)
        typer.echo(f"{name}: canary stopped")
        return
    canary = call(
        lambda app: app.releases.start_canary(
            name,
            version,
            share=share,
            max_error_rate=max_error_rate,
            min_fitness=min_fitness,
            min_requests=min_requests,
        ),
        db=db,
    )
    typer.echo(f"{name}: canary v{canary.challenger} on {canary.share:.0%} of keys")


CLI: tuple[Commands, ...] = (
    Commands(
        {
            "alias": alias_cmd,
            "unalias": unalias_cmd,
            "tag": tag_cmd,
            "changes": changes_cmd,
            "undo": undo_cmd,
            "show": show_cmd,
            "canary": canary_cmd,
        },
        "release",
        "Aliases, tags, changes and canaries.",
    ),
)
