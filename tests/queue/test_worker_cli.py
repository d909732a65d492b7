"""``evopipe worker``: drains the queue of a store shared with the process that submitted."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from evopipe.app import App, Settings
from evopipe.cli import worker as worker_cli
from evopipe.cli._session import mount
from evopipe.spec.loader import loads

SIM = loads(
    """
apiVersion: evopipe/v1
name: sim
inputs: {text: {type: string}}
steps:
  - {id: a, kind: llm, model: "sim:latency_ms=5", prompt: "say {{ inputs.text }}"}
outputs: {out: "{{ steps.a.output }}"}
"""
).pipeline


def _app() -> typer.Typer:
    app = typer.Typer()
    mount(app, *worker_cli.CLI)

    @app.command("noop", hidden=True)
    def _noop() -> None:  # a second command keeps `worker` a named subcommand
        """unused"""

    return app


def test_worker_drains_the_queue(tmp_path: Path) -> None:
    db = str(tmp_path / "q.db")
    with App(Settings.load(tmp_path, db=db)) as app:
        ids = [asyncio.run(app.queue.submit(SIM, {"text": f"t{i}"})).run_id for i in range(3)]
    args = ["worker", "--db", db, "--drain", "--concurrency", "2", "--heartbeat-s", "1"]
    result = CliRunner().invoke(_app(), args)
    assert result.exit_code == 0, result.output
    assert "after 3 run(s)" in result.output
    with App(Settings.load(tmp_path, db=db)) as app:
        assert {app.queue.get(i).outcome for i in ids} == {"succeeded"}
        assert all(app.runs.get(i)["status"] == "succeeded" for i in ids)


def test_worker_refuses_a_heartbeat_not_below_the_lease(tmp_path: Path) -> None:
    args = ["worker", "--db", str(tmp_path / "q.db"), "--lease-s", "5", "--heartbeat-s", "5"]
    result = CliRunner().invoke(_app(), args)
    assert result.exit_code == 2
    assert "heartbeat_s" in result.output


def test_ray_workers_without_ray_installed_say_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # what an install without the extra sees
    args = ["worker", "--db", str(tmp_path / "q.db"), "--executor", "ray"]
    result = CliRunner().invoke(_app(), args)
    assert result.exit_code == 2
    assert "evopipe[ray]" in result.output


def test_worker_refuses_to_drain_on_ray_and_an_unknown_executor(tmp_path: Path) -> None:
    db = str(tmp_path / "q.db")
    result = CliRunner().invoke(_app(), ["worker", "--db", db, "--drain", "--executor", "ray"])
    assert result.exit_code == 2
    assert "--drain" in result.output
    result = CliRunner().invoke(_app(), ["worker", "--db", db, "--executor", "nope"])
    assert result.exit_code == 2
    assert "unknown worker executor 'nope' (known: local, ray)" in result.output


def test_a_queued_secret_input_leaves_the_queue_when_the_run_starts(tmp_path: Path) -> None:
    token = "tok-queue-8d1f44a2c9e0"
    secret = loads(
        """
apiVersion: evopipe/v1
name: secret
inputs: {token: {type: string, writeOnly: true}}
steps:
  - {id: a, kind: set, values: {auth: "Bearer {{ inputs.token }}"}}
outputs: {ok: "{{ steps.a.output.auth == 'Bearer ' ~ inputs.token }}"}
"""
    ).pipeline
    db = tmp_path / "q.db"
    with App(Settings.load(tmp_path, db=str(db))) as app:
        run_id = asyncio.run(app.queue.submit(secret, {"token": token})).run_id
        assert app.queue.rq.get(run_id).inputs == {"token": token}  # waiting for a worker
    args = ["worker", "--db", str(db), "--drain", "--heartbeat-s", "1"]
    result = CliRunner().invoke(_app(), args)
    assert result.exit_code == 0, result.output
    with App(Settings.load(tmp_path, db=str(db))) as app:
        assert app.runs.get(run_id)["outputs"] == {"ok": True}
        assert app.queue.rq.get(run_id).inputs == {"token": "[REDACTED:token]"}
    assert token.encode() not in b"".join(p.read_bytes() for p in tmp_path.rglob("q.db*"))
