"""Dashboard sessions end when signed out, in the store: a page answered just before the
sign-out renews the cookie, and that renewed token must not bring the session back (the
browser test saw exactly that under load)."""

from __future__ import annotations

import re

import httpx
import pytest
from web_served import Served

from evopipe.app.auth import AuthError

COOKIE = "evopipe_session"


def _signed_in(served: Served, client: httpx.Client, role: str = "viewer") -> None:
    login = client.post("/ui/login", data={"key": served.keys[role], "next": "/ui/runs"})
    assert login.status_code == 303, login.text


def test_a_renewal_answered_before_sign_out_does_not_bring_the_session_back(
    served_keys: Served,
) -> None:
    with httpx.Client(base_url=served_keys.base, follow_redirects=False) as client:
        _signed_in(served_keys, client)
        page = client.get("/ui/costs")
        assert page.status_code == 200
        renewed = page.cookies[COOKIE]  # what a page still in flight would set again
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf is not None
        out = client.post("/ui/logout", data={"csrf": csrf.group(1)})
        assert out.status_code == 303
        assert COOKIE not in client.cookies
        client.cookies.set(COOKIE, renewed)
        again = client.get("/ui/costs")
    assert again.status_code == 303
    assert again.headers["location"].startswith("/ui/login")


def test_signing_out_ends_the_session_and_its_stream_tokens_not_other_tokens(
    served_keys: Served,
) -> None:
    auth = served_keys.app.auth
    principal = auth.authenticate(served_keys.keys["viewer"])
    first = auth.open_session(principal)
    _, renewed, session = auth.renew_session(first)
    stream, _ = auth.issue_token(principal, 600, session=session)
    api, _ = auth.issue_token(principal, 600)  # a plain token (POST /auth/token)
    other = auth.open_session(principal)
    auth.sign_out(first)
    for token in (first, renewed, stream):
        with pytest.raises(AuthError, match="signed out"):
            auth.authenticate_token(token)
    with pytest.raises(AuthError):
        auth.renew_session(renewed)
    assert auth.authenticate_token(api) == principal
    assert auth.renew_session(other)[0] == principal  # another browser's session lives on
    with pytest.raises(AuthError, match="not a session token"):
        auth.renew_session(api)
    auth.sign_out("evt_forged")  # nothing to end, no error
