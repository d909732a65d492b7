"""Keys, roles and tenants as operations (``evopipe keys``, the HTTP server's credentials).

A request is made by a :class:`Principal`: a tenant and a role, from an API key (header only)
or from a short-lived signed token minted for that key (browsers, event streams). Verifying a
key costs one primary-key read (so a revoked key stops at once, in every process) and, the
first time a secret is seen by this session, one scrypt hash.

>>> from evopipe.app.auth import Principal
>>> Principal("k1", "acme", "viewer").may("runner")
False
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from evopipe.app.group import OperationGroup
from evopipe.auth import keys as k
from evopipe.auth import tokens
from evopipe.auth.keys import KeyInfo
from evopipe.auth.ownership import DEFAULT_TENANT
from evopipe.auth.roles import ROLES, AuthError, Forbidden, allows
from evopipe.spec.errors import EvopipeError

if TYPE_CHECKING:
    from evopipe.app.root import App

__all__ = ["DEFAULT_TENANT", "ROLES", "Auth", "AuthError", "Forbidden", "KeyInfo", "Principal"]

TOKEN_TTL_S = 300.0
"""How long a signed token lives (seconds)."""


@dataclass(frozen=True)
class Principal:
    """Who is asking: the key (None: the local, keyless session), its tenant and role."""

    key_id: str | None
    tenant: str
    role: str

    def may(self, needed: str) -> bool:
        return allows(self.role, needed)

    def require(self, needed: str) -> Principal:
        if not self.may(needed):
            raise Forbidden(f"role {self.role!r} may not do this (needs {needed!r} or above)")
        return self

    def to_json(self) -> dict[str, Any]:
        return {"key_id": self.key_id, "tenant": self.tenant, "role": self.role}


LOCAL = Principal(None, DEFAULT_TENANT, "admin")
"""The keyless session of a server bound to 127.0.0.1 (and of the CLI)."""


class Auth(OperationGroup):
    def __init__(self, app: App) -> None:
        super().__init__(app)
        self._verified: dict[str, bytes] = {}  # key id -> sha256 of the secret seen valid
        self._signing: bytes | None = None

    # -- keys --------------------------------------------------------------------------------

    def create_key(self, *, tenant: str, role: str, name: str = "") -> tuple[str, KeyInfo]:
        """A new key; the whole key is in the result once and never again."""
        return k.create_key(self.app.store, tenant=tenant, role=role, name=name)

    def list_keys(self, tenant: str | None = None) -> list[KeyInfo]:
        return k.list_keys(self.app.store, tenant)

    def revoke(self, key_id: str, *, tenant: str | None = None) -> KeyInfo:
        from evopipe.app.tenancy import NotFound

        self._verified.pop(key_id, None)
        try:
            return k.revoke_key(self.app.store, key_id, tenant)
        except EvopipeError as exc:
            raise NotFound(str(exc)) from None

    def any_keys(self) -> bool:
        return k.any_keys(self.app.store)

    # -- credentials -------------------------------------------------------------------------

    def authenticate(self, key: str) -> Principal:
        """The principal of a valid, unrevoked API key; :class:`AuthError` otherwise."""
        key_id, secret = k.parse_key(key)
        found = k.get_key(self.app.store, key_id)
        if found is None or found[0].revoked_at is not None:
            raise AuthError("unknown or revoked API key")
        info, stored = found
        fast = hashlib.sha256(secret.encode()).digest()
        known = self._verified.get(key_id)
        if known is None or not hmac.compare_digest(known, fast):
            if not k.secret_matches(secret, stored):
                raise AuthError("unknown or revoked API key")
            self._verified[key_id] = fast
        return Principal(info.key_id, info.tenant, info.role)

    def issue_token(
        self, principal: Principal, ttl_s: float = TOKEN_TTL_S, *, session: str | None = None
    ) -> tuple[str, float]:
        """A signed token standing for ``principal`` until the returned expiry (epoch s);
        with ``session``, it belongs to that dashboard session and dies when it is signed
        out."""
        if principal.key_id is None:
            raise AuthError("the local session has no key to mint a token for")
        expires = time.time() + max(1.0, min(ttl_s, tokens.SESSION_TOKENS_LAST_S))
        claims: dict[str, Any] = {
            "k": principal.key_id,
            "t": principal.tenant,
            "r": principal.role,
            "exp": expires,
        }
        if session is not None:
            claims["s"] = session
        return tokens.sign(self._key(), claims), expires

    def authenticate_token(self, token: str) -> Principal:
        """The principal of a valid token whose key is still unrevoked (and whose session,
        if it has one, is not signed out)."""
        return self._check_token(token)[0]

    def open_session(self, principal: Principal) -> str:
        """A new dashboard session for ``principal``: its first token (an hour)."""
        return self.issue_token(principal, 3600, session=secrets.token_hex(16))[0]

    def renew_session(self, token: str) -> tuple[Principal, str, str]:
        """The principal of a session token, the token renewed for another hour and the
        session id (refused once the session is signed out, renewals in flight included)."""
        principal, session = self._check_token(token)
        if session is None:
            raise AuthError("not a session token: sign in again")
        return principal, self.issue_token(principal, 3600, session=session)[0], session

    def sign_out(self, token: str) -> None:
        """End the session ``token`` belongs to, in every process sharing the store: its
        tokens, renewed or not, are refused from now on."""
        with contextlib.suppress(AuthError):  # a lapsed or forged token has nothing to end
            session = self._check_token(token)[1]
            if session is not None:
                tokens.sign_out(self.app.store, session)

    def _check_token(self, token: str) -> tuple[Principal, str | None]:
        claims = tokens.verify(self._key(), token)
        found = k.get_key(self.app.store, str(claims.get("k")))
        if found is None or found[0].revoked_at is not None:
            raise AuthError("the token's key was revoked")
        session = claims.get("s")
        if session is not None and tokens.is_signed_out(self.app.store, str(session)):
            raise AuthError("this session was signed out")
        principal = Principal(found[0].key_id, found[0].tenant, found[0].role)
        return principal, None if session is None else str(session)

    def form_token(self, subject: str) -> str:
        """A CSRF token for ``subject`` (a key id, or ``local``): the same in every process
        sharing the store, unguessable without its signing key."""
        return hmac.new(self._key(), f"form:{subject}".encode(), hashlib.sha256).hexdigest()

    def _key(self) -> bytes:
        if self._signing is None:
            self._signing = tokens.signing_key(self.app.store)
        return self._signing
