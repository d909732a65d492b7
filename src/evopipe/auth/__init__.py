"""Keys, roles and tenants: API keys (hashed secrets, a public lookup prefix), short-lived
signed tokens, the role ladder, and which tenant owns a resource. The application layer
(:mod:`evopipe.app.auth`) composes these into the operations faces call."""

from evopipe.auth.keys import KeyInfo
from evopipe.auth.roles import ROLES, AuthError, Forbidden

__all__ = ["ROLES", "AuthError", "Forbidden", "KeyInfo"]
