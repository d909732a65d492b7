"""Requests the router found nothing for become the factory's demand: ``evopipe factory
demand`` lists them, most asked first, and ``evopipe factory run --from-misses N`` builds and
registers a pipeline for each."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from typer.testing import CliRunner

from evopipe.app import App, Settings
from evopipe.cli import build_app

ENV = {"EVOPIPE_CONFIG": "/nonexistent/evopipe.toml"}


def test_routing_misses_are_the_factory_demand(tmp_path: Path) -> None:
    db = str(tmp_path / "f.db")

    async def ask() -> None:
        with App(Settings.load(tmp_path, environ=ENV, db=db), environ=ENV) as app:
            for text in ("qwerty zxcvb", "qwerty zxcvb", "plokij uhygt"):
                outcome = await app.routing.route(text)
                assert outcome.target is None

    asyncio.run(ask())
    runner, cli = CliRunner(), build_app()
    shown = runner.invoke(cli, ["factory", "demand", "--db", db, "--json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output) == [
        {"request": "qwerty zxcvb", "asked": 2},
        {"request": "plokij uhygt", "asked": 1},
    ]
    built = runner.invoke(
        cli, ["factory", "run", "--from-misses", "5", "--db", db, "--model", "fake", "--json"]
    )
    assert built.exit_code == 0, built.output
    items = json.loads(built.output)
    assert [i["request"] for i in items] == ["qwerty zxcvb", "plokij uhygt"]
    assert all(i["status"] == "done" for i in items), items
    with App(Settings.load(tmp_path, environ=ENV, db=db), environ=ENV) as app:
        names = {e.name for e in app.registry.list()}
    assert {i["name"] for i in items} <= names
    empty = runner.invoke(cli, ["factory", "run", "--db", db])
    assert empty.exit_code != 0
    assert "no demand" in empty.output
