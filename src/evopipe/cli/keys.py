"""``evopipe keys create|list|revoke``: API keys for the HTTP server (one tenant and one role
each; the key is printed once and only its hash is stored)."""

from __future__ import annotations

import json

import typer

from evopipe.app.auth import ROLES, KeyInfo
from evopipe.cli._options import DB_OPTION, JSON_OPTION
from evopipe.cli._session import Commands, call, echo_records, open_app


def create_cmd(
    tenant: str = typer.Option("default", "--tenant", help="The tenant the key acts for."),
    role: str = typer.Option("runner", "--role", help=f"One of: {', '.join(ROLES)}."),
    name: str = typer.Option("", "--name", help="A label (who or what uses the key)."),
    db: str | None = DB_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Create a key and print it (this is the only time the whole key is shown)."""
    key, info = call(lambda app: app.auth.create_key(tenant=tenant, role=role, name=name), db=db)
    if as_json:
        typer.echo(json.dumps({**info.to_json(), "key": key}, indent=2))
        return
    typer.echo(key)
    typer.echo(
        f"key {info.key_id}: tenant {info.tenant}, role {info.role} "
        "(store it now: it is not shown again)",
        err=True,
    )


def list_cmd(
    tenant: str | None = typer.Option(None, "--tenant", help="Only this tenant's keys."),
    db: str | None = DB_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Keys (never their secrets)."""
    with open_app(db=db) as app:
        keys = app.auth.list_keys(tenant)
    empty = "no API keys (evopipe keys create --tenant T --role R)"
    echo_records(keys, _key_line, as_json=as_json, empty=empty)


def _key_line(k: KeyInfo) -> str:
    state = "revoked" if k.revoked_at is not None else "active"
    return f"{k.key_id}  {k.tenant:20}  {k.role:7}  {state:8}  {k.name}"


def revoke_cmd(
    key_id: str = typer.Argument(..., help="The key id (the part after evp_)."),
    db: str | None = DB_OPTION,
) -> None:
    """Revoke a key: refused from then on, by every server on the store."""
    info = call(lambda app: app.auth.revoke(key_id), db=db)
    typer.echo(f"revoked {info.key_id} (tenant {info.tenant})")


CLI: tuple[Commands, ...] = (
    Commands(
        {"create": create_cmd, "list": list_cmd, "revoke": revoke_cmd},
        "keys",
        "API keys for `evopipe serve`.",
    ),
)
