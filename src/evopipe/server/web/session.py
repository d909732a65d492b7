"""Signing in to the dashboard: an API key is exchanged for a session cookie (a signed token
for that key and a session id: HttpOnly, SameSite=Strict, renewed on every page, so it lapses
an hour after the last one; signing out ends the session in the store, so a page answered
after the sign-out cannot bring it back), and every form carries a CSRF token bound to the
key (signed with the store's token key, so any server process sharing the store accepts it).

A server bound to 127.0.0.1 with no key in its store serves the local session (as the API
does): no sign-in, the local admin.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from evopipe.app.auth import LOCAL, AuthError, Forbidden, Principal
from evopipe.server.security import server_state
from evopipe.server.web.render import LoginRequired, render

__all__ = ["COOKIE", "User", "form_of", "posted", "router", "set_cookie", "signed_in"]

COOKIE = "evopipe_session"
router = APIRouter(prefix="/ui", include_in_schema=False)


@dataclass(frozen=True)
class User:
    principal: Principal
    csrf: str
    cookie: str | None
    """The renewed session token to set on the response (None: the local session)."""
    session: str | None = None
    """The dashboard session id (None: the local session); stream tokens carry it too."""

    @property
    def local(self) -> bool:
        return self.principal.key_id is None

    def may(self, role: str) -> bool:
        return self.principal.may(role)


def _csrf(request: Request, subject: str) -> str:
    return server_state(request).auth.form_token(subject)


def set_cookie(response: Response, token: str) -> None:
    response.set_cookie(
        COOKIE, token, max_age=3600, httponly=True, samesite="strict", path="/", secure=False
    )


def signed_in(request: Request) -> User:
    """The signed-in user of this request (a dependency); no session → the login page."""
    state = server_state(request)
    token = request.cookies.get(COOKIE)
    if token:
        try:
            principal, renewed, session = state.auth.renew_session(token)
        except AuthError:
            raise LoginRequired() from None
        return User(principal, _csrf(request, principal.key_id or "local"), renewed, session)
    if state.keyless:
        return User(LOCAL, _csrf(request, "local"), None)
    raise LoginRequired()


SignedIn = Annotated[User, Depends(signed_in)]


async def form_of(request: Request) -> dict[str, str]:
    """A posted ``application/x-www-form-urlencoded`` form (the last value of each field)."""
    body = (await request.body()).decode("utf-8", errors="replace")
    return {k: v[-1] for k, v in parse_qs(body, keep_blank_values=True).items()}


async def posted(request: Request, user: User, role: str) -> dict[str, str]:
    """The form of a state-changing request, after the CSRF and role checks."""
    form = await form_of(request)
    if not hmac.compare_digest(form.get("csrf", ""), user.csrf):
        raise Forbidden("the form's CSRF token is missing or stale: reload the page and retry")
    user.principal.require(role)
    return form


def _next(target: str | None) -> str:
    return target if target and target.startswith("/ui/") and "//" not in target else "/ui/runs"


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> HTMLResponse:
    keyless = server_state(request).keyless
    return render(request, "login.html", user=None, next=_next(next), keyless=keyless)


@router.post("/login")
async def login(request: Request) -> Response:
    form = await form_of(request)
    state = server_state(request)
    try:
        principal = state.auth.authenticate(form.get("key", "").strip())
        token = state.auth.open_session(principal)
    except AuthError:
        return render(
            request,
            "login.html",
            user=None,
            next=_next(form.get("next")),
            keyless=state.keyless,
            error="That key is not valid (unknown, revoked or mistyped).",
        )
    response = RedirectResponse(_next(form.get("next")), status_code=303)
    set_cookie(response, token)
    return response


@router.post("/logout")
async def logout(request: Request, user: SignedIn) -> Response:
    await posted(request, user, "viewer")
    state = server_state(request)
    state.auth.sign_out(request.cookies.get(COOKIE, ""))  # renewals in flight die with it
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response
