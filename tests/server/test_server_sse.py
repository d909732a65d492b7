"""The event stream over a real socket (uvicorn on 127.0.0.1): reconnecting with
``Last-Event-ID`` after 50 random disconnects reassembles exactly the run's journal; the
stream's headers; keepalive comments; a client that never reads stalls no one else."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

SLOW = "sim:latency_ms=400,seed=3"  # 6 steps: 2.4 s, so that most of the cuts fall mid-run
FAST = "sim:latency_ms=30,seed=3"


@pytest.fixture
def db_url(project: Path) -> str:
    """SQLite only (the API tests cover PostgreSQL)."""
    return str(project / "evopipe.db")


@pytest.fixture
async def base_url(served: Any, workers: None) -> AsyncIterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(served.api, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.ensure_future(server.serve(sockets=[sock]))
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{port}/api/v1"
    server.should_exit = True
    await asyncio.wait_for(task, 10)
    sock.close()


def _frames(buffer: str) -> tuple[list[dict[str, str]], str]:
    """Complete SSE frames in ``buffer`` and the incomplete rest."""
    frames = []
    while "\n\n" in buffer:
        raw, buffer = buffer.split("\n\n", 1)
        fields: dict[str, str] = {}
        for line in raw.split("\n"):
            if line.startswith(":") or ":" not in line:
                continue
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
        if fields:
            frames.append(fields)
    return frames, buffer


async def _submit(client: httpx.AsyncClient, served: Any, spec: str, model: str = FAST) -> str:
    posted = await client.post(
        "/runs", json={"spec": spec, "model": model}, headers=served.headers("a:runner")
    )
    assert posted.status_code == 202, posted.text
    return str(posted.json()["run_id"])


async def test_fifty_random_disconnects_lose_and_double_nothing(
    served: Any, base_url: str, specs: dict[str, str]
) -> None:
    rng = random.Random(12)
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        run_id = await _submit(client, served, specs["chain"], SLOW)
        got: list[dict[str, Any]] = []
        last, cuts, live, ended = 0, 0, 0, False
        while cuts < 50 or not ended:
            headers = {**served.headers("a:viewer"), "Last-Event-ID": str(last)}
            budget = rng.uniform(0.0, 0.05) if cuts < 50 else 60.0
            buffer = ""
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(budget):
                    async with client.stream("GET", f"/runs/{run_id}/events", headers=headers) as r:
                        assert r.status_code == 200
                        async for chunk in r.aiter_text():
                            buffer += chunk
                            frames, buffer = _frames(buffer)
                            for frame in frames:
                                if frame["event"] == "end":
                                    ended = True
                                    continue
                                assert int(frame["id"]) == last + 1  # gap-free, no repeat
                                last = int(frame["id"])
                                got.append(json.loads(frame["data"]))
            if cuts < 50:
                cuts += 1
                journaled = served.app.store.find_run(run_id)
                live += journaled is not None and journaled.status == "running"
    journal = [e.to_json() for e in served.app.store.load_events(run_id)]
    assert cuts >= 50
    assert live >= 10, live  # most cuts fall while the run is going on
    assert [e["seq"] for e in got] == list(range(1, len(journal) + 1))
    assert got == json.loads(json.dumps(journal))
    assert journal[-1]["type"] == "run_finished"


async def test_the_stream_is_unbuffered_uncached_and_kept_alive(
    served: Any, project: Any, specs: dict[str, str], base_url: str
) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        run_id = await _submit(client, served, specs["chain"])
        headers = served.headers("a:viewer")
        async with client.stream("GET", f"/runs/{run_id}/events", headers=headers) as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            assert r.headers["cache-control"] == "no-cache"
            assert r.headers["x-accel-buffering"] == "no"
            text = ""
            async for chunk in r.aiter_text():
                text += chunk
        assert ": connected" in text
        assert "event: end" in text


async def test_a_client_that_never_reads_stalls_no_one(
    served: Any, base_url: str, specs: dict[str, str]
) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        run_id = await _submit(client, served, specs["chain"])
        host, port = base_url.split("//")[1].split("/")[0].split(":")
        _reader, writer = await asyncio.open_connection(host, int(port))
        key = served.keys["a:viewer"]
        writer.write(
            f"GET /api/v1/runs/{run_id}/events HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {key}\r\n\r\n".encode()
        )
        await writer.drain()  # ... and never read
        async with asyncio.timeout(20):
            async with client.stream(
                "GET", f"/runs/{run_id}/events", headers=served.headers("a:viewer")
            ) as r:
                text = "".join([c async for c in r.aiter_text()])
        assert "event: end" in text
        writer.close()


async def test_keepalive_comments_flow_while_a_run_waits_in_the_queue(
    served: Any, specs: dict[str, str]
) -> None:
    """No worker runs here: the stream stays open and sends comments (keepalive_s = 1)."""
    from evopipe.server import sse

    async def never() -> AsyncIterator[bytes]:
        await asyncio.sleep(3600)
        yield b""

    stream = sse.with_keepalive(never(), 0.05)
    first = [await stream.__anext__() for _ in range(3)]
    await stream.aclose()
    assert first == [b": connected\n\n", b": keepalive\n\n", b": keepalive\n\n"]


async def test_a_signed_token_opens_a_stream_and_an_api_key_in_the_query_does_not(
    served: Any, base_url: str, specs: dict[str, str]
) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        run_id = await _submit(client, served, specs["echo"])
        minted = await client.post("/tokens", headers=served.headers("a:viewer"))
        token = minted.json()["token"]
        assert token.startswith("evt_")
        url = f"/runs/{run_id}/events"
        async with client.stream("GET", url, params={"access_token": token}) as r:
            assert r.status_code == 200
            text = "".join([c async for c in r.aiter_text()])
        assert "event: end" in text
        keyed = await client.get(url, params={"access_token": served.keys["a:viewer"]})
        assert keyed.status_code == 401
        elsewhere = await client.get("/runs", params={"access_token": token})
        assert elsewhere.status_code == 401  # tokens only open event streams
        other = await client.post("/tokens", headers=served.headers("b:viewer"))
        cross = await client.get(url, params={"access_token": other.json()["token"]})
        assert cross.status_code == 404
