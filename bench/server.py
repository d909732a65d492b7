"""HTTP API benchmark on loopback (``evopipe serve``'s stack: uvicorn, FastAPI, SQLite).

With 10,000 runs stored and 20 concurrent clients: ``GET /runs`` (a page of 50) and
``POST /runs`` latency, side by side in the same run with a bare FastAPI endpoint returning a
JSON of the same size (the floor: what uvicorn + FastAPI cost with no evopipe in the way);
requests per second sustained for reads, with the errors counted; then server-sent events:
emit → receive latency with 100 subscribers (event ``ts`` at emission vs arrival, same clock).

The server runs in a child process (its own core where there is one); the clients use a
minimal keep-alive HTTP client so that they cost the server little CPU. Writes
``bench/results/server.json``.

    .venv/bin/python bench/server.py [--runs 10000] [--clients 20] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _http import Conn

RESULTS = Path(__file__).parent / "results" / "server.json"
SPEC = """apiVersion: evopipe/v1
kind: Pipeline
name: bench
inputs: {text: {type: string, default: hi}}
outputs: {a: "{{ steps.s3.output }}"}
steps:
  - {id: s1, kind: llm, prompt: "one {{ inputs.text }}"}
  - {id: s2, kind: llm, prompt: "two {{ steps.s1.output }}"}
  - {id: s3, kind: llm, prompt: "three {{ steps.s2.output }}"}
"""
TARGETS = {"get_runs_p95_ms": 50, "post_runs_p95_ms": 100, "sse_p95_ms": 100, "read_rps": 500}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def _summary(samples_s: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in samples_s]
    return {
        "n": len(ms),
        "p50_ms": round(_pct(ms, 0.50), 2),
        "p95_ms": round(_pct(ms, 0.95), 2),
        "p99_ms": round(_pct(ms, 0.99), 2),
        "mean_ms": round(statistics.fmean(ms), 2) if ms else float("nan"),
    }


# -- the server process --------------------------------------------------------------------


def serve(db: str, port: int, floor_port: int, workers: int, floor_bytes: int) -> None:
    """Child process: the evopipe API on ``port``, a bare FastAPI on ``floor_port``."""
    import uvicorn
    from fastapi import FastAPI

    from evopipe.app import App, Settings
    from evopipe.app.ratelimit import Rate
    from evopipe.app.serving import ServerOptions
    from evopipe.server import create_server

    env = {"EVOPIPE_CONFIG": "/nonexistent"}
    app = App(Settings.load(db=db, default_model="fake", environ=env), environ=env)
    fast = Rate(1_000_000, 1_000_000.0)
    options = ServerOptions(key_rate=fast, tenant_rate=fast, workers=workers)
    api = create_server(app, options, keyless=False)
    floor = FastAPI()
    payload = {"items": [{"pad": "x" * max(0, floor_bytes - 40)}], "next_cursor": None}

    @floor.get("/floor")
    def floor_get() -> dict[str, Any]:
        return payload

    @floor.post("/floor")
    def floor_post(body: dict[str, Any]) -> dict[str, Any]:
        return {"run_id": "x" * 32, "status": "queued", "echo": len(body)}

    async def main() -> None:
        quiet = {"log_level": "warning", "lifespan": "off", "access_log": False}
        servers = [
            uvicorn.Server(uvicorn.Config(api, host="127.0.0.1", port=port, **quiet)),  # type: ignore[arg-type]
            uvicorn.Server(uvicorn.Config(floor, host="127.0.0.1", port=floor_port, **quiet)),  # type: ignore[arg-type]
        ]
        stop = asyncio.Event()
        pool = [asyncio.ensure_future(app.queue.worker().run(stop)) for _ in range(workers)]
        app.queue.configure(poll_s=0.05)
        await asyncio.gather(*(s.serve() for s in servers))
        stop.set()
        await asyncio.gather(*pool)

    asyncio.run(main())


def _spawn(db: str, workers: int, floor_bytes: int) -> tuple[subprocess.Popen[bytes], int, int]:
    port, floor_port = _free_port(), _free_port()
    args = [sys.executable, __file__, "--serve", db, str(port), str(floor_port)]
    args += [str(workers), str(floor_bytes)]
    proc = subprocess.Popen(args, cwd=Path(__file__).parent)
    deadline = time.time() + 60
    for p in (port, floor_port):
        while True:
            try:
                socket.create_connection(("127.0.0.1", p), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    raise SystemExit("the server did not start") from None
                time.sleep(0.1)
    return proc, port, floor_port


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


# -- seeding -------------------------------------------------------------------------------


def seed(db: str, runs: int, clients: int) -> list[str]:
    """``runs`` queued runs of tenant ``bench`` (then marked done) and one key per client."""
    from evopipe.app import App, Settings
    from evopipe.queue import NewRun, RunQueue
    from evopipe.queue.tables import run_queue
    from evopipe.spec import loads
    from evopipe.spec.canonical import spec_to_json

    env = {"EVOPIPE_CONFIG": "/nonexistent"}
    with App(Settings.load(db=db, default_model="fake", environ=env), environ=env) as app:
        keys = [
            app.auth.create_key(tenant="bench", role="runner", name=f"client{i}")[0]
            for i in range(clients)
        ]
        spec_json = spec_to_json(loads(SPEC).pipeline)
        queue = RunQueue(app.store)
        for i in range(runs):
            queue.submit(NewRun(f"seed{i:06d}", spec_json, {"text": str(i)}, tenant="bench"))
        with app.store.begin() as conn:
            conn.execute(run_queue.update().values(status="done", outcome="succeeded"))
    return keys


# -- load ----------------------------------------------------------------------------------


async def _client(
    port: int,
    key: str,
    method: str,
    path: str,
    body: Any,
    n: int,
    out: list[float],
    errors: list[int],
) -> None:
    conn = await Conn("127.0.0.1", port, {"Authorization": f"Bearer {key}"}).open()
    try:
        for _ in range(n):
            start = time.perf_counter()
            status, _data = await conn.request(method, path, body)
            out.append(time.perf_counter() - start)
            if status >= 400:
                errors.append(status)
    finally:
        conn.close()


async def latency(
    port: int, keys: list[str], method: str, path: str, body: Any, per_client: int
) -> tuple[list[float], list[int]]:
    samples: list[float] = []
    errors: list[int] = []
    await asyncio.gather(
        *(_client(port, k, method, path, body, per_client, samples, errors) for k in keys)
    )
    return samples, errors


async def sustained(port: int, keys: list[str], path: str, seconds: float) -> dict[str, Any]:
    """Reads as fast as ``len(keys)`` clients can for ``seconds``: rps and errors."""
    done = 0
    errors: list[int] = []
    stop_at = time.perf_counter() + seconds

    async def one(key: str) -> None:
        nonlocal done
        conn = await Conn("127.0.0.1", port, {"Authorization": f"Bearer {key}"}).open()
        try:
            while time.perf_counter() < stop_at:
                status, _ = await conn.request("GET", path)
                done += 1
                if status >= 400:
                    errors.append(status)
        finally:
            conn.close()

    start = time.perf_counter()
    await asyncio.gather(*(one(k) for k in keys))
    elapsed = time.perf_counter() - start
    return {
        "requests": done,
        "seconds": round(elapsed, 2),
        "rps": round(done / elapsed, 1),
        "errors": len(errors),
    }


SSE_SPEC = """apiVersion: evopipe/v1
kind: Pipeline
name: bench-sse
outputs: {a: "{{ steps.s8.output }}"}
steps:
""" + "".join(
    f"  - {{id: s{i}, kind: llm, prompt: 'step {i}'"
    + (f", needs: [s{i - 1}]" if i > 1 else "")
    + "}\n"
    for i in range(1, 9)
)


async def sse(port: int, keys: list[str], subscribers: int, runs: int) -> dict[str, Any]:
    """``subscribers`` streams on each of ``runs`` runs (one after the other): for every event
    emitted once all of them are connected, arrival time minus the event's ``ts`` (set when the
    engine emitted it; same clock)."""
    lags: list[float] = []
    incomplete = 0
    await latency(port, keys, "GET", "/api/v1/health", None, 1)
    await latency(port, keys, "GET", "/api/v1/runs?limit=1", None, 1)  # keys verified once
    body = {"spec": SSE_SPEC, "model": "sim:latency_ms=60,seed=1", "key": "sse"}
    for _ in range(runs):
        blocker = await _post(port, keys[0], {**body, "model": "sim:latency_ms=1500,seed=1"})
        run_id = await _post(port, keys[0], body)  # waits behind the blocker (same thread key)
        connected: list[float] = []
        results = await asyncio.gather(
            *(_subscribe(port, keys[i % len(keys)], run_id, connected) for i in range(subscribers))
        )
        assert blocker
        ready = max(connected)
        for got, ended in results:
            lags.extend(lag for emitted, lag in got if emitted >= ready)
            incomplete += 0 if ended else 1
    return {**_summary(lags), "subscribers": subscribers, "runs": runs, "incomplete": incomplete}


async def _post(port: int, key: str, body: Any) -> str:
    conn = await Conn("127.0.0.1", port, {"Authorization": f"Bearer {key}"}).open()
    status, data = await conn.request("POST", "/api/v1/runs", body)
    conn.close()
    assert status == 202, data
    return str(json.loads(data)["run_id"])


async def _subscribe(
    port: int, key: str, run_id: str, connected: list[float]
) -> tuple[list[tuple[float, float]], bool]:
    conn = await Conn("127.0.0.1", port, {"Authorization": f"Bearer {key}"}).open()
    got: list[tuple[float, float]] = []
    try:
        await conn.send("GET", f"/api/v1/runs/{run_id}/events")
        status, _ = await conn.head()
        assert status == 200
        assert conn.reader is not None
        async with asyncio.timeout(120):
            while True:
                line = await conn.reader.readline()
                if not line:
                    return got, False
                if line.startswith(b": connected"):
                    connected.append(time.time())
                if line.startswith(b"event: end"):
                    return got, True
                if line.startswith(b"data: "):
                    text = line[6:].strip()
                    if text.startswith(b"{") and b'"ts"' in text:
                        emitted = float(json.loads(text)["ts"])
                        got.append((emitted, time.time() - emitted))
    finally:
        conn.close()


# -- main ----------------------------------------------------------------------------------


async def phase_http(
    port: int, floor: int, keys: list[str], args: argparse.Namespace
) -> dict[str, Any]:
    get_api: list[float] = []
    get_floor: list[float] = []
    post_api: list[float] = []
    post_floor: list[float] = []
    errors: dict[str, list[int]] = {"get": [], "post": [], "floor": []}
    body = {"spec": SPEC, "inputs": {"text": "bench"}}
    await latency(port, keys, "GET", "/api/v1/runs", None, 5)  # warm up
    await latency(floor, keys, "GET", "/floor", None, 5)
    for _ in range(args.rounds):  # interleaved, so both see the same machine load
        s, e = await latency(port, keys, "GET", "/api/v1/runs", None, args.requests)
        get_api += s
        errors["get"] += e
        s, e = await latency(floor, keys, "GET", "/floor", None, args.requests)
        get_floor += s
        errors["floor"] += e
        s, e = await latency(port, keys, "POST", "/api/v1/runs", body, args.requests // 2)
        post_api += s
        errors["post"] += e
        s, e = await latency(floor, keys, "POST", "/floor", body, args.requests // 2)
        post_floor += s
        errors["floor"] += e
    reads = await sustained(port, keys, "/api/v1/runs", args.seconds)
    return {
        "get_runs": {**_summary(get_api), "errors": len(errors["get"])},
        "get_floor": _summary(get_floor),
        "post_runs": {**_summary(post_api), "errors": len(errors["post"])},
        "post_floor": _summary(post_floor),
        "floor_errors": len(errors["floor"]),
        "sustained_reads": reads,
    }


def _settle(db: str) -> None:
    import sqlite3

    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE run_queue SET status = 'done', outcome = 'cancelled'")


def _page_bytes(db: str, keys: list[str], port: int) -> int:
    async def one() -> int:
        conn = await Conn("127.0.0.1", port, {"Authorization": f"Bearer {keys[0]}"}).open()
        _status, data = await conn.request("GET", "/api/v1/runs")
        conn.close()
        return len(data)

    return asyncio.run(one())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=50, help="per client per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--subscribers", type=int, default=100)
    parser.add_argument("--sse-runs", type=int, default=3)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "bench.db")
        keys = seed(db, args.runs, args.clients)
        proc, port, _ = _spawn(db, 0, 100)
        try:
            size = _page_bytes(db, keys, port)
        finally:
            _stop(proc)
        proc, port, floor = _spawn(db, 0, size)
        try:
            http = asyncio.run(phase_http(port, floor, keys, args))
        finally:
            _stop(proc)
        _settle(db)  # the runs POSTed above are not what the SSE phase measures
        proc, port, _ = _spawn(db, 2, 100)
        try:
            events = asyncio.run(sse(port, keys, args.subscribers, args.sse_runs))
        finally:
            _stop(proc)
    measured = {
        "get_runs_p95_ms": http["get_runs"]["p95_ms"],
        "post_runs_p95_ms": http["post_runs"]["p95_ms"],
        "sse_p95_ms": events["p95_ms"],
        "read_rps": http["sustained_reads"]["rps"],
    }
    met = {
        k: (measured[k] >= v if k == "read_rps" else measured[k] <= v) for k, v in TARGETS.items()
    }
    results = {
        "benchmark": "server",
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_at_start": round(load, 2),
        },
        "setup": {
            "stored_runs": args.runs,
            "clients": args.clients,
            "page_bytes": size,
            "store": "SQLite (WAL) file",
            "transport": "loopback, HTTP/1.1 keep-alive, server in a child process",
        },
        "http": http,
        "sse": events,
        "targets": TARGETS,
        "measured": measured,
        "met": met,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        db, port, floor_port, workers, floor_bytes = sys.argv[2:7]
        serve(db, int(port), int(floor_port), int(workers), int(floor_bytes))
    else:
        main()
