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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from evopipe.app import App, Settings
from evopipe.app.demo_store import seed_demo
from evopipe.app.serving import ServerOptions
from evopipe.models import ModelHub, load_config
from evopipe.models.base import Model, ModelRequest, ModelResponse, ModelWrapper
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


def make_app(db: Path, model: str, *, gate: threading.Event | None = None) -> App:
    """An app on ``db`` whose default model is ``model``; with ``gate``, every model call waits
    while the gate is clear (a test holds a run in progress for as long as it needs)."""
    settings = Settings.load(db.parent, environ=ENV, db=str(db), default_model=model)
    if gate is None:
        return App(settings, environ=ENV)
    config = load_config(db.parent, user_path=settings.user_config, env=ENV)
    config = replace(config, default_model=model)
    return App(settings, environ=ENV, models=HeldModels(ModelHub(config), gate))


class _Held(ModelWrapper):
    def __init__(self, inner: Model, gate: threading.Event) -> None:
        super().__init__(inner)
        self.gate = gate

    async def complete(self, request: ModelRequest) -> ModelResponse:
        if not self.gate.is_set():
            await asyncio.to_thread(self.gate.wait)  # set from the test's thread
        return await self.inner.complete(request)


class HeldModels:
    """The hub's models behind a gate (the hub's other attributes pass through)."""

    def __init__(self, hub: ModelHub, gate: threading.Event) -> None:
        self.hub, self.gate = hub, gate

    @property
    def default_model_id(self) -> str:
        return self.hub.default_model_id

    def get(self, model_id: str | None = None, *, cache_policy: Any = None) -> Model:
        return _Held(self.hub.get(model_id, cache_policy=cache_policy), self.gate)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.hub, name)


@dataclass
class Served:
    base: str
    app: App
    ids: dict[str, str]
    keys: dict[str, str] = field(default_factory=dict)
    gate: threading.Event = field(default_factory=threading.Event)
    """Set (open) by default; a test clears it to hold the served runs' model calls."""

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
    gate = threading.Event()
    gate.set()
    with make_app(db, model, gate=gate) as app:
        app.queue.configure(poll_s=0.05)
        stop = serve_in_thread(app, port)
        try:
            yield Served(f"http://127.0.0.1:{port}", app, ids, made, gate)
        finally:
            stop()
