"""Serving a seeded store with ``evopipe serve``'s own loop (API, dashboard, queue workers) on
127.0.0.1 in a thread, and the flags Debian's Chromium runs with: shared by the browser
tests, ``bench/dashboard.py`` and ``scripts/screenshots.py``."""

from __future__ import annotations

import asyncio
import concurrent.futures
import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evopipe.app import App, Settings
from evopipe.app.demo_store import seed_demo
from evopipe.app.serving import ServerOptions
from evopipe.server.run import serve

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ENV = {"EVOPIPE_CONFIG": "/nonexistent/evopipe.toml"}
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_app(db: Path, model: str) -> App:
    return App(Settings.load(db.parent, environ=ENV, db=str(db), default_model=model), environ=ENV)


@dataclass
class Served:
    base: str
    app: App
    ids: dict[str, str]
    keys: dict[str, str] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return self.base + path


def serve_in_thread(app: App, port: int) -> Callable[[], None]:
    """Run ``evopipe serve``'s loop in a thread; returns the function that stops it."""
    ready = threading.Event()
    holder: dict[str, Any] = {}

    def main() -> None:
        async def run() -> None:
            holder["loop"] = asyncio.get_running_loop()
            holder["stop"] = asyncio.Event()
            ready.set()
            options = ServerOptions(host="127.0.0.1", port=port, workers=2, keepalive_s=1.0)
            await serve(app, options, say=lambda _s: None, shutdown=holder["stop"])

        asyncio.run(run())

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    ready.wait(10)
    _wait_listening(port)

    def stop() -> None:
        holder["loop"].call_soon_threadsafe(holder["stop"].set)
        thread.join(30)

    return stop


def _wait_listening(port: int) -> None:
    for _ in range(400):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        threading.Event().wait(0.025)
    raise RuntimeError(f"the server did not listen on 127.0.0.1:{port}")


def _in_thread(work: Callable[[], Any]) -> Any:
    """Run ``work`` in a thread of its own (the test thread may hold Playwright's loop)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(work).result()


def start_served(
    tmp: Path, *, keys: bool = False, model: str = "sim:latency_ms=150"
) -> Iterator[Served]:
    """Seed a store (fake model), then serve it (``model``: runs started from the pages)."""
    db = tmp / "evopipe.db"
    with make_app(db, "fake") as seeding:
        ids = _in_thread(lambda: asyncio.run(seed_demo(seeding, EXAMPLES, runs=6)))
        made = {}
        if keys:
            made = {
                role: seeding.auth.create_key(tenant="default", role=role, name=role)[0]
                for role in ("admin", "viewer")
            }
    port = free_port()
    with make_app(db, model) as app:
        app.queue.configure(poll_s=0.05)
        stop = serve_in_thread(app, port)
        try:
            yield Served(f"http://127.0.0.1:{port}", app, ids, made)
        finally:
            stop()
