"""``http``: call an HTTP endpoint on an allowlisted host.

Allowed only under a trusting policy, and only to hosts listed exactly (case-insensitive) in
``policy.http_allow_hosts``. IP literals are refused (an allowlist names hosts, and literals are
how requests reach metadata services and internal networks). Redirects are followed by hand, at
most :data:`MAX_REDIRECTS` hops, each hop checked against the allowlist again. The response
body is read as a stream and the step fails once it exceeds the policy's ``max_output_bytes``.

Connections go only to addresses checked by :mod:`evopipe.steps.netguard`: the host is
resolved once, an address that is not public (loopback, private, link-local: metadata
services, internal networks) is refused unless the policy sets ``http_private_networks``, and
the connection is pinned to the checked address (no DNS rebinding between check and connect).

The transport is injectable through ``services.hooks["http_transport"]`` (an
``httpx2.AsyncBaseTransport``; tests use ``httpx2.MockTransport`` and never the network).

Output: ``{"status", "headers", "json"}`` when the response is JSON, else
``{"status", "headers", "text"}``. 429 and 5xx raise a retryable error (the engine backs off and
retries); other 4xx fail the step.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

import httpx2

from evopipe.models.base import RateLimitedError, ServerError
from evopipe.spec.kinds import HttpStep
from evopipe.steps.base import StepContext, StepFailed, StepResult
from evopipe.steps.netguard import AddressRefused, PinnedBackend, PinnedTransport

kind = "http"
config_model = HttpStep

MAX_REDIRECTS = 5
DEFAULT_TIMEOUT_S = 30.0
_FORBIDDEN_HEADERS = frozenset({"host", "content-length", "transfer-encoding"})


def check_url(ctx: StepContext, url: httpx2.URL) -> None:
    """Refuse non-http(s) schemes, IP literals and hosts off the allowlist."""
    if url.scheme not in ("http", "https"):
        raise StepFailed(ctx.step_id, f"only http and https URLs are allowed, got {url.scheme!r}")
    host = url.host
    if not host:
        raise StepFailed(ctx.step_id, f"URL {str(url)!r} has no host")
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    else:
        raise StepFailed(ctx.step_id, f"IP literal hosts are refused ({host!r}); use a host name")
    ctx.policy.check_http_host(ctx.step_id, host)


def _render_request(ctx: StepContext, config: HttpStep) -> dict[str, Any]:
    url = ctx.render(config.url, where="url")
    if not isinstance(url, str):
        raise StepFailed(ctx.step_id, "url must render to a string")
    headers = {str(k): str(v) for k, v in ctx.render(config.headers, where="headers").items()}
    for name in headers:
        if name.lower() in _FORBIDDEN_HEADERS:
            raise StepFailed(ctx.step_id, f"header {name!r} may not be set by a step")
    request: dict[str, Any] = {"method": config.method, "url": url, "headers": headers}
    if config.json_body is not None:
        request["json"] = ctx.render(config.json_body, where="json")
    elif config.body is not None:
        request["content"] = str(ctx.render(config.body, where="body")).encode("utf-8")
    return request


async def run(ctx: StepContext, config: HttpStep) -> StepResult:
    ctx.policy.require_trusted(ctx.step_id, "http")
    request = _render_request(ctx, config)
    request["headers"].setdefault("Idempotency-Key", ctx.idempotency_key)
    try:
        url = httpx2.URL(request["url"])
    except (httpx2.InvalidURL, TypeError, ValueError) as exc:
        raise StepFailed(ctx.step_id, f"invalid URL {request['url']!r}: {exc}") from None
    transport = ctx.services.hooks.get("http_transport")
    if transport is None:
        backend = PinnedBackend(private_networks=ctx.policy.http_private_networks)
        transport = PinnedTransport(backend)
    timeout = config.timeout_s or DEFAULT_TIMEOUT_S
    async with httpx2.AsyncClient(
        transport=transport, follow_redirects=False, timeout=timeout, trust_env=False
    ) as client:
        for _hop in range(MAX_REDIRECTS + 1):
            check_url(ctx, url)
            request["url"] = url
            try:
                status, headers, body, location = await _send(ctx, client, request)
            except AddressRefused as exc:
                raise StepFailed(ctx.step_id, str(exc)) from None
            if location is None:
                return StepResult(output=_output(ctx, status, headers, body))
            url = url.join(location)
            if status == 303 or (status in (301, 302) and request["method"] == "POST"):
                request = {"method": "GET", "url": url, "headers": request["headers"]}
    raise StepFailed(ctx.step_id, f"more than {MAX_REDIRECTS} redirects")


async def _send(
    ctx: StepContext, client: httpx2.AsyncClient, request: dict[str, Any]
) -> tuple[int, dict[str, str], bytes, str | None]:
    cap = ctx.policy.max_output_bytes
    try:
        async with client.stream(**request) as response:
            if response.is_redirect and "location" in response.headers:
                return response.status_code, {}, b"", response.headers["location"]
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > cap:
                    raise StepFailed(
                        ctx.step_id,
                        f"the response body exceeded the policy's max_output_bytes={cap}",
                    )
            headers = {k.lower(): v for k, v in response.headers.items()}
            status = response.status_code
    except httpx2.TimeoutException as exc:
        raise ServerError(f"step {ctx.step_id!r}: HTTP request timed out: {exc}") from None
    except httpx2.TransportError as exc:
        raise ServerError(f"step {ctx.step_id!r}: HTTP connection failed: {exc}") from None
    _raise_for_status(ctx, status, headers, bytes(body))
    return status, headers, bytes(body), None


def _raise_for_status(ctx: StepContext, status: int, headers: dict[str, str], body: bytes) -> None:
    if status < 400:
        return
    snippet = body[:300].decode("utf-8", errors="replace")
    message = f"step {ctx.step_id!r}: HTTP {status}: {snippet}"
    if status == 429:
        retry_after = headers.get("retry-after", "")
        delay = float(retry_after) if retry_after.replace(".", "", 1).isdigit() else None
        raise RateLimitedError(message, retry_after_s=delay)
    if status >= 500:
        raise ServerError(message)
    raise StepFailed(ctx.step_id, f"HTTP {status}: {snippet}")


def _output(ctx: StepContext, status: int, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    out: dict[str, Any] = {"status": status, "headers": headers}
    text = body.decode("utf-8", errors="replace")
    if "json" in headers.get("content-type", "") and body:
        try:
            out["json"] = json.loads(text)
            return out
        except json.JSONDecodeError:
            pass
    out["text"] = text
    return out
