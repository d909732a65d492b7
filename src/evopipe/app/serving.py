"""How ``evopipe serve`` runs: the server's options and where it may listen.

Without an API key in the store the server serves the keyless local session (tenant
``default``, role ``admin``) and therefore binds to 127.0.0.1 only, whatever host was asked.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from evopipe.app.ratelimit import Rate

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class ServerOptions:
    host: str = LOOPBACK
    port: int = 8420
    key_rate: Rate = field(default_factory=lambda: Rate(burst=200, per_s=100.0))
    """Token bucket per API key."""
    tenant_rate: Rate = field(default_factory=lambda: Rate(burst=1000, per_s=500.0))
    """Token bucket per tenant (all its keys together)."""
    max_body_bytes: int = 1_000_000
    """Request bodies above this are refused with 413."""
    keepalive_s: float = 10.0
    """An event stream sends a comment at least this often (<= 15 s)."""
    wait_timeout_s: float = 300.0
    """``POST /runs/wait`` answers 202 with the run when it is not done by then."""
    workers: int = 2
    """Queue workers (0: none; run ``evopipe worker`` elsewhere)."""
    worker_executor: str = "local"
    """Where the queue workers run: ``local`` (in the server's event loop) or ``ray`` (one Ray
    actor each; :mod:`evopipe.app.ray_workers`)."""
    scheduler: bool = True
    """Run due schedules in this process (``evopipe schedule``); exactly-once fires make it
    safe beside other schedulers on the same database."""


@dataclass(frozen=True)
class Binding:
    host: str
    keyless: bool
    note: str


def binding(requested_host: str, *, have_keys: bool) -> Binding:
    """Where to listen: keys required off loopback; without keys, 127.0.0.1 and a note."""
    if have_keys:
        return Binding(requested_host, False, f"API keys required; listening on {requested_host}")
    note = "no API keys exist: serving the local session without authentication on 127.0.0.1 only"
    if requested_host != LOOPBACK:
        note += f" (not {requested_host}; create a key with `evopipe keys create` first)"
    return Binding(LOOPBACK, True, note)
