"""Roles, ordered by what they may do: ``viewer`` reads; ``runner`` also starts, cancels and
approves runs; ``editor`` also generates, evaluates, evolves and moves registry champions;
``admin`` also manages the tenant's API keys."""

from __future__ import annotations

from evopipe.spec.errors import EvopipeError

ROLES: tuple[str, ...] = ("viewer", "runner", "editor", "admin")
"""Every role, weakest first: a role may do everything the ones before it may."""


class AuthError(EvopipeError):
    """A missing, malformed, unknown, revoked or expired credential (HTTP 401)."""


class Forbidden(EvopipeError):
    """A valid credential whose role may not do this (HTTP 403)."""


def check_role(role: str) -> str:
    if role not in ROLES:
        raise EvopipeError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    return role


def allows(role: str, needed: str) -> bool:
    """Whether ``role`` may do what ``needed`` may."""
    return ROLES.index(check_role(role)) >= ROLES.index(check_role(needed))
