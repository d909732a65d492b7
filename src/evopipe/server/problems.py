"""Errors as ``application/problem+json`` (RFC 9457), carrying evopipe's diagnostics.

One table maps an application error type to its HTTP status; bad input is always a 4xx.
An unexpected error is a bare 500 problem whose detail names nothing internal.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from evopipe.app import EvopipeError, FieldValuesError, SpecError
from evopipe.app.auth import AuthError, Forbidden
from evopipe.app.queue import QueueBusyError
from evopipe.app.tenancy import Conflict, NotFound

PROBLEM = "application/problem+json"
log = logging.getLogger("evopipe.server")


class DiagnosticOut(BaseModel):
    rule: str
    severity: str
    message: str
    line: int
    column: int
    where: str = ""
    hint: str = ""


class Problem(BaseModel):
    type: str = "about:blank"
    title: str
    status: int
    detail: str = ""
    diagnostics: list[DiagnosticOut] = Field(default_factory=list)


class RateLimited(Exception):
    def __init__(self, headers: dict[str, str]) -> None:
        super().__init__("rate limit exceeded")
        self.headers = headers


class BodyTooLarge(StarletteHTTPException):
    """A request body above the limit (a 413 even when found while the body is parsed)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, "Content Too Large")
        self.limit = limit


STATUS: tuple[tuple[type[BaseException], int, str], ...] = (
    (AuthError, 401, "Unauthorized"),
    (Forbidden, 403, "Forbidden"),
    (NotFound, 404, "Not Found"),
    (Conflict, 409, "Conflict"),
    (QueueBusyError, 409, "Conflict"),
    (SpecError, 422, "Invalid pipeline"),
    (FieldValuesError, 422, "Invalid values"),
    (EvopipeError, 400, "Bad Request"),
)
"""The first matching type decides the status (most specific first)."""

DOCUMENTED = (400, 401, 403, 404, 409, 413, 422, 429)
RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {PROBLEM: {}}} for code in DOCUMENTED
}
"""The error responses every operation documents (all ``application/problem+json``)."""


def problem(
    status: int,
    title: str,
    detail: str = "",
    *,
    diagnostics: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = Problem(title=title, status=status, detail=detail[:2000])
    if diagnostics:
        body.diagnostics = [DiagnosticOut.model_validate(d) for d in diagnostics]
    return JSONResponse(body.model_dump(), status_code=status, media_type=PROBLEM, headers=headers)


def from_error(exc: BaseException) -> JSONResponse:
    for kind, status, title in STATUS:
        if isinstance(exc, kind):
            diagnostics = (
                [d.to_json() for d in exc.diagnostics] if isinstance(exc, SpecError) else None
            )
            headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
            return problem(status, title, str(exc), diagnostics=diagnostics, headers=headers)
    log.exception("unexpected error", exc_info=exc)
    return problem(500, "Internal Server Error", "an unexpected error; see the server log")


def install(api: FastAPI) -> None:
    """Register the handlers that turn every error into a problem."""

    async def on_evopipe(_request: Request, exc: Exception) -> JSONResponse:
        return from_error(exc)

    async def on_validation(_request: Request, exc: Exception) -> JSONResponse:
        errors = exc.errors() if isinstance(exc, RequestValidationError) else []
        detail = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}" for e in errors
        )
        return problem(422, "Invalid request", detail or str(exc))

    async def on_http(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        headers = dict(exc.headers) if exc.headers else None
        detail = (
            f"the request body exceeds {exc.limit} bytes" if isinstance(exc, BodyTooLarge) else ""
        )
        return problem(exc.status_code, str(exc.detail), detail, headers=headers)

    async def on_rate(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RateLimited)
        return problem(429, "Too Many Requests", "rate limit exceeded", headers=exc.headers)

    api.add_exception_handler(EvopipeError, on_evopipe)
    api.add_exception_handler(RequestValidationError, on_validation)
    api.add_exception_handler(StarletteHTTPException, on_http)
    api.add_exception_handler(RateLimited, on_rate)
    api.add_exception_handler(Exception, on_evopipe)
