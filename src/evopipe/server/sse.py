"""Server-sent events replayed from the journal.

Each event's SSE ``id`` is its journal ``seq``. A client that reconnects with
``Last-Event-ID: N`` (or ``?after=N``) gets exactly the events with ``seq > N``: the stream
reads the journal, not a broadcast buffer, so nothing is lost or doubled across disconnects,
and each subscriber reads at its own pace (a slow client stalls no one else). A comment is
sent at least every ``keepalive_s`` seconds; proxies are told not to buffer.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Header, Query
from fastapi.responses import StreamingResponse

HEADERS = {
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
    "Connection": "keep-alive",
}
MEDIA_TYPE = "text/event-stream"


def frame(event_id: int | None, kind: str, data: Any) -> bytes:
    """One SSE frame (``data`` as one line of JSON)."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {kind}\ndata: {json.dumps(data, default=str)}\n\n".encode()


def resume_point(
    after: Annotated[int | None, Query(ge=0)] = None,
    last_event_id: Annotated[str | None, Header(max_length=40)] = None,
    access_token: Annotated[str | None, Query(max_length=2000)] = None,
) -> int:
    """Where a stream starts: after ``Last-Event-ID`` if sent, else after ``?after=``
    (a dependency of every stream; ``access_token`` is read by the credential check)."""
    if last_event_id is not None and last_event_id.strip().isdigit():
        return int(last_event_id.strip())
    return max(0, after or 0)


StartAfter = Annotated[int, Depends(resume_point)]


async def with_keepalive(source: AsyncIterator[bytes], keepalive_s: float) -> AsyncIterator[bytes]:
    """``source``'s frames, with a comment whenever it is quiet for ``keepalive_s``."""
    iterator = source.__aiter__()
    pending: asyncio.Future[bytes] | None = None
    try:
        yield b": connected\n\n"
        while True:
            if pending is None:
                pending = asyncio.ensure_future(iterator.__anext__())
            done, _ = await asyncio.wait({pending}, timeout=keepalive_s)
            if not done:
                yield b": keepalive\n\n"
                continue
            try:
                item = pending.result()
            except StopAsyncIteration:
                return
            pending = None
            yield item
    finally:
        if pending is not None and not pending.done():
            pending.cancel()
            await asyncio.wait({pending})  # let the source unwind before closing it
        closer = getattr(iterator, "aclose", None)
        if closer is not None:
            await closer()


def stream(source: AsyncIterator[bytes], keepalive_s: float) -> StreamingResponse:
    return StreamingResponse(
        with_keepalive(source, keepalive_s), media_type=MEDIA_TYPE, headers=HEADERS
    )
