"""Fixtures for the HTTP server tests: an app on a fresh store, keys for two tenants, the API
over it with in-process queue workers, and an HTTP client (ASGI transport, no socket)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from evopipe.app import App, Settings
from evopipe.app.serving import ServerOptions
from evopipe.server import create_server
from evopipe.store.testing import create_database, throwaway_postgres

SPEC = """apiVersion: evopipe/v1
kind: Pipeline
name: echo
inputs: {text: {type: string, default: hi}}
outputs: {summary: "{{ steps.s.output }}"}
steps:
  - {id: s, kind: llm, prompt: "Summarise {{ inputs.text }}"}
"""
GATED = """apiVersion: evopipe/v1
kind: Pipeline
name: gated
outputs: {text: "{{ steps.draft.output }}"}
steps:
  - {id: draft, kind: llm, prompt: "Draft a note"}
  - {id: review, kind: approval, message: "ok?", needs: [draft]}
  - {id: after, kind: llm, prompt: "Polish {{ steps.draft.output }}", needs: [review]}
"""
CHAIN = """apiVersion: evopipe/v1
kind: Pipeline
name: chain
outputs: {last: "{{ steps.s6.output }}"}
steps:
  - {id: s1, kind: llm, prompt: "one"}
  - {id: s2, kind: llm, prompt: "two {{ steps.s1.output }}"}
  - {id: s3, kind: llm, prompt: "three {{ steps.s2.output }}"}
  - {id: s4, kind: llm, prompt: "four {{ steps.s3.output }}"}
  - {id: s5, kind: llm, prompt: "five {{ steps.s4.output }}"}
  - {id: s6, kind: llm, prompt: "six {{ steps.s5.output }}"}
"""
TYPED = """apiVersion: evopipe/v1
kind: Pipeline
name: typed
outputs: {copies: "{{ steps.review.output.values.copies }}"}
steps:
  - id: review
    kind: approval
    message: "How many copies?"
    fields:
      copies: {type: integer, min: 1, max: 9}
"""
SPECS = {"echo": SPEC, "gated": GATED, "chain": CHAIN, "typed": TYPED}
ENV = {"EVOPIPE_CONFIG": "/nonexistent/evopipe.toml"}


@dataclass
class Served:
    app: App
    api: FastAPI
    keys: dict[str, str] = field(default_factory=dict)
    """``"a:admin"`` → a whole key of tenant ``a`` with role ``admin`` (and so on)."""

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}


def make_app(project: Path, db: str | None = None, model: str = "fake") -> App:
    settings = Settings.load(
        project, environ=ENV, db=db or str(project / "evopipe.db"), default_model=model
    )
    return App(settings, environ=ENV)


def add_keys(app: App, tenants: tuple[str, ...] = ("a", "b")) -> dict[str, str]:
    auth = app.auth
    return {
        f"{t}:{r}": auth.create_key(tenant=t, role=r, name=f"{t}-{r}")[0]
        for t in tenants
        for r in ("admin", "editor", "runner", "viewer")
    }


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EVOPIPE_CONFIG", str(tmp_path / "none.toml"))
    for name in ("EVOPIPE_DB", "EVOPIPE_MODEL"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture
def specs() -> dict[str, str]:
    """The pipelines the tests post (YAML text): ``echo``, ``gated``, ``chain``."""
    return SPECS


@pytest.fixture
def options() -> ServerOptions:
    return ServerOptions(keepalive_s=1.0)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL cluster, started once per session (fails if not installed)."""
    with throwaway_postgres() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, project: Path) -> str:
    """The API tests run on SQLite and on PostgreSQL (a fresh database each)."""
    if request.param == "sqlite":
        return str(project / "evopipe.db")
    return create_database(request.getfixturevalue("postgres_url"), "server")


@pytest.fixture
def served(project: Path, db_url: str, options: ServerOptions) -> Iterator[Served]:
    with make_app(project, db_url) as app:
        keys = add_keys(app)
        yield Served(app, create_server(app, options, keyless=False), keys)


@pytest.fixture
def served_keyless(project: Path) -> Iterator[App]:
    """An app on a fresh SQLite store with no API key at all."""
    with make_app(project) as app:
        yield app


@pytest.fixture
async def workers(served: Served) -> AsyncIterator[None]:
    """Two in-process queue workers for the test's duration."""
    served.app.queue.configure(poll_s=0.05)
    stop = asyncio.Event()
    tasks = [asyncio.ensure_future(served.app.queue.worker().run(stop)) for _ in range(2)]
    yield
    stop.set()
    await asyncio.wait_for(asyncio.gather(*tasks), 30)


@pytest.fixture
async def client(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=served.api)
    async with httpx.AsyncClient(transport=transport, base_url="http://test/api/v1") as c:
        yield c
