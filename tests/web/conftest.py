"""Fixtures for the dashboard's browser tests: a seeded store served on 127.0.0.1 (see
``web_served``), and Debian's Chromium driven by Playwright with every request to another host
aborted and every console error collected. One browser serves a test module (Playwright's
loop then stops, leaving the thread to other tests); each test gets a fresh context and page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Browser, Page, Playwright, Route, sync_playwright
from web_served import CHROMIUM, FLAGS, Served, start_served


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A keyless local server (the local admin session) over a seeded store."""
    yield from start_served(tmp_path_factory.mktemp("web"))


@pytest.fixture(scope="module")
def served_keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A server whose store has keys: the dashboard asks for one."""
    yield from start_served(tmp_path_factory.mktemp("webkeys"), keys=True)


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
    yield browser
    browser.close()


@dataclass
class Console:
    errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)


def _only_loopback(console: Console) -> Callable[[Route], None]:
    def handle(route: Route) -> None:
        url = route.request.url
        host = urlparse(url).hostname
        if url.startswith("data:") or host == "127.0.0.1":
            route.continue_()
        else:
            console.blocked.append(url)
            route.abort()

    return handle


@pytest.fixture
def console() -> Console:
    return Console()


@pytest.fixture
def page(browser: Browser, console: Console) -> Iterator[Page]:
    """A fresh page; requests leave only for 127.0.0.1; no console error may appear."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.route("**/*", _only_loopback(console))
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.on("console", lambda m: console.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: console.errors.append(f"uncaught: {e}"))
    yield page
    context.close()
    assert console.errors == [], f"console errors: {console.errors}"
    assert console.blocked == [], f"requests to other hosts: {console.blocked}"
