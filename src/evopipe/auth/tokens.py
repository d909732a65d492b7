"""Short-lived signed tokens for browsers and SSE clients (which cannot send headers): an
HMAC-SHA256 over ``key id, tenant, role, expiry`` with a signing key kept in the store.

A token is the only credential accepted in a query string, and only by the event streams.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from evopipe.auth import tables as t
from evopipe.auth.keys import Transactional
from evopipe.auth.roles import AuthError

PREFIX = "evt_"
SESSION_TOKENS_LAST_S = 3600.0
"""The longest a session token lives; a signed-out session is remembered this long after."""
_SIGNING = "token_signing_key"


def signing_key(store: Transactional) -> bytes:
    """The store's signing key, created on first use (shared by every server on the store)."""
    query = select(t.auth_secrets.c.value).where(t.auth_secrets.c.name == _SIGNING)
    with store.begin() as conn:
        value = conn.execute(query).scalar()
    if value is None:
        try:
            with store.begin() as conn:
                conn.execute(
                    insert(t.auth_secrets).values(
                        name=_SIGNING, value=secrets.token_hex(32), created_at=time.time()
                    )
                )
        except IntegrityError:  # another process created it first
            pass
        with store.begin() as conn:
            value = conn.execute(query).scalar()
    return bytes.fromhex(str(value))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(key: bytes, claims: dict[str, Any]) -> str:
    body = _b64(json.dumps(claims, sort_keys=True, separators=(",", ":")).encode())
    mac = hmac.new(key, body.encode(), hashlib.sha256).digest()
    return f"{PREFIX}{body}.{_b64(mac)}"


def verify(key: bytes, token: str, *, now: float | None = None) -> dict[str, Any]:
    """The token's claims if its signature is right and it has not expired."""
    if not token.startswith(PREFIX) or token.count(".") != 1:
        raise AuthError("malformed token")
    body, mac = token[len(PREFIX) :].split(".")
    expected = hmac.new(key, body.encode(), hashlib.sha256).digest()
    try:
        given = _unb64(mac)
        claims = json.loads(_unb64(body))
    except (ValueError, json.JSONDecodeError):
        raise AuthError("malformed token") from None
    if not hmac.compare_digest(expected, given) or not isinstance(claims, dict):
        raise AuthError("bad token signature")
    if float(claims.get("exp", 0)) < (time.time() if now is None else now):
        raise AuthError("token expired")
    return claims


def sign_out(store: Transactional, session_id: str) -> None:
    """Remember that ``session_id`` was signed out, for as long as a token of it could still
    be valid (renewals already in flight included); forget sessions past that."""
    now = time.time()
    with store.begin() as conn:
        conn.execute(delete(t.signed_out).where(t.signed_out.c.until < now))
        known = select(t.signed_out.c.session_id).where(t.signed_out.c.session_id == session_id)
        if conn.execute(known).first() is None:
            until = now + SESSION_TOKENS_LAST_S + 60.0
            conn.execute(insert(t.signed_out).values(session_id=session_id, until=until))


def is_signed_out(store: Transactional, session_id: str) -> bool:
    query = select(t.signed_out.c.session_id).where(t.signed_out.c.session_id == session_id)
    with store.begin() as conn:
        return conn.execute(query).first() is not None
