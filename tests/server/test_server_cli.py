"""``evopipe keys create|list|revoke`` and ``evopipe serve``: a key is printed once and
stored as a hash; without keys the server listens on 127.0.0.1 only, and says so."""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from evopipe.app.serving import ServerOptions, binding
from evopipe.cli import build_app
from evopipe.server.run import serve


def _invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(build_app(), list(args))
    return result.exit_code, result.stdout, result.stderr


def test_keys_are_created_shown_once_listed_without_secrets_and_revoked(project: Path) -> None:
    db = str(project / "k.db")
    code, out, err = _invoke("keys", "create", "--tenant", "acme", "--role", "editor", "--db", db)
    assert code == 0, err
    key = out.strip()
    assert key.startswith("evp_")
    assert "not shown again" in err
    key_id = key.split("_")[1]
    code, out, _ = _invoke("keys", "list", "--json", "--db", db)
    listed = json.loads(out)
    assert [(k["key_id"], k["tenant"], k["role"]) for k in listed] == [(key_id, "acme", "editor")]
    raw = Path(db).read_bytes()
    assert key.split("_", 2)[2].encode() not in raw  # only the hash is stored
    code, out, _ = _invoke("keys", "revoke", key_id, "--db", db)
    assert code == 0
    assert "revoked" in out
    code, out, _ = _invoke("keys", "list", "--db", db)
    assert "revoked" in out


def test_bad_key_requests_exit_2(project: Path) -> None:
    db = str(project / "k.db")
    assert _invoke("keys", "create", "--role", "root", "--db", db)[0] == 2
    assert _invoke("keys", "create", "--tenant", "Not A Tenant", "--db", db)[0] == 2
    assert _invoke("keys", "revoke", "000000000000", "--db", db)[0] == 2


def test_without_keys_the_server_binds_to_loopback_only() -> None:
    alone = binding("0.0.0.0", have_keys=False)
    assert alone.host == "127.0.0.1"
    assert alone.keyless
    assert "127.0.0.1 only" in alone.note
    assert "0.0.0.0" in alone.note
    keyed = binding("0.0.0.0", have_keys=True)
    assert keyed.host == "0.0.0.0"
    assert not keyed.keyless


async def test_serve_answers_on_loopback_and_runs_queued_runs(
    served_keyless: object, project: Path, specs: dict[str, str]
) -> None:
    app = served_keyless
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    said: list[str] = []
    shutdown = asyncio.Event()
    schedules = _Schedules()
    app._ops["scheduling"] = schedules  # type: ignore[attr-defined]
    options = ServerOptions(host="0.0.0.0", port=port, workers=1)
    task = asyncio.ensure_future(serve(app, options, say=said.append, shutdown=shutdown))  # type: ignore[arg-type]
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}/api/v1") as client:
            async with asyncio.timeout(30):
                while True:
                    try:
                        health = await client.get("/health")
                        break
                    except httpx.ConnectError:
                        await asyncio.sleep(0.1)
            assert health.json()["authentication"] == "none (loopback only)"
            done = await client.post("/runs/wait", json={"spec": specs["echo"], "timeout_s": 30})
            assert done.json()["run"]["status"] == "succeeded"
    finally:
        shutdown.set()
        await asyncio.wait_for(task, 30)
    assert any("127.0.0.1 only" in line for line in said)
    assert schedules.states == ["serving", "stopped"]  # the scheduler ran inside serve


class _Schedules:
    """Stands in for ``app.scheduling``: records that serve ran it until shutdown."""

    def __init__(self) -> None:
        self.states: list[str] = []

    async def serve(self, stop: asyncio.Event) -> None:
        self.states.append("serving")
        await stop.wait()
        self.states.append("stopped")


def test_serve_refuses_workers_it_cannot_run(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = str(project / "s.db")
    code, _, err = _invoke("serve", "--db", db, "--executor", "nope")
    assert code == 2
    assert "unknown worker executor 'nope'" in err
    monkeypatch.setitem(sys.modules, "ray", None)  # an install without the ray extra
    code, _, err = _invoke("serve", "--db", db, "--executor", "ray")
    assert code == 2
    assert "evopipe[ray]" in err
