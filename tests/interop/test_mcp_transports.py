"""The MCP server over its two transports, with the SDK's own client: streamable HTTP
(stateless) on 127.0.0.1, where a run started by one request is found again by id in later,
independent requests; and stdio, launching `evopipe mcp` as an agent host does."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from interop_needs import need_module

need_module("mcp", reason="the mcp extra is not installed")

import httpx
from mcp import Client, StdioServerParameters
from typer.testing import CliRunner

from evopipe.app import App, Settings
from evopipe.app.remote import Remote
from evopipe.cli import build_app
from evopipe.mcp import bound_url, http_server

SRC = Path(__file__).resolve().parents[2] / "src"
KINDS = SRC.parent / "examples" / "kinds"


async def _status(url: str, run_id: str) -> dict[str, Any]:
    async with Client(url) as client:  # a new connection, and a new stateless request
        result = await client.call_tool("run_status", {"run_id": run_id})
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


async def test_run_and_poll_over_streamable_http(project: Path) -> None:
    settings = Settings.load(
        project, environ={}, db=str(project / "s.db"), model="sim:latency_ms=300,seed=1"
    )
    async with App(settings) as app:
        remote = Remote(app)
        server = http_server(remote, port=0)
        serving = asyncio.ensure_future(server.serve())
        try:
            for _ in range(500):
                if server.started:
                    break
                await asyncio.sleep(0.01)
            url = bound_url(server)
            assert url.startswith("http://127.0.0.1:")
            async with Client(url) as client:
                names = {t.name for t in (await client.list_tools()).tools}
                assert {"run", "run_status", "run_events"} <= names
                started = await client.call_tool("run", {"pipeline": str(KINDS / "llm.yaml")})
            assert started.structured_content is not None
            run_id = started.structured_content["run_id"]
            assert started.structured_content["status"] == "running"  # returned before the end
            status = await _status(url, run_id)
            for _ in range(200):
                if status["status"] != "running":
                    break
                await asyncio.sleep(0.05)
                status = await _status(url, run_id)
            assert status["status"] == "succeeded", status
            assert [s["id"] for s in status["steps"]] == ["summarise"]

            async with httpx.AsyncClient() as raw:  # DNS rebinding: a foreign Host is refused
                refused = await raw.post(
                    url, headers={"Host": "evil.example"}, json={"jsonrpc": "2.0", "id": 1}
                )
            assert refused.status_code in (403, 421)
        finally:
            server.should_exit = True
            await serving
            await remote.close()


ECHO = """apiVersion: evopipe/v1
kind: Pipeline
name: echo
inputs: {text: {type: string}}
outputs: {answer: "{{ steps.say.output }}"}
steps:
  - {id: say, kind: llm, prompt: "Repeat {{ inputs.text }}"}
"""


async def test_evopipe_mcp_serves_stdio(tmp_path: Path) -> None:
    (tmp_path / "echo.yaml").write_text(ECHO)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
        "EVOPIPE_CONFIG": str(tmp_path / "none.toml"),
    }
    command = StdioServerParameters(
        command=sys.executable,
        args=["-m", "evopipe", "mcp", "--db", str(tmp_path / "s.db"), "--model", "fake"],
        env=env,
        cwd=str(tmp_path),
    )
    async with Client(command) as client:
        assert "run" in {t.name for t in (await client.list_tools()).tools}
        started = await client.call_tool("run", {"pipeline": "echo.yaml", "inputs": {"text": "hi"}})
        assert started.structured_content is not None, started.content
        run_id = started.structured_content["run_id"]
        for _ in range(200):
            status = await client.call_tool("run_status", {"run_id": run_id})
            assert status.structured_content is not None
            if status.structured_content["status"] != "running":
                break
            await asyncio.sleep(0.05)
    assert status.structured_content["status"] == "succeeded"
    assert status.structured_content["outputs"]["answer"].startswith("fake-")


def test_evopipe_mcp_without_the_extra_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [m for m in sys.modules if m == "evopipe.mcp" or m.startswith("evopipe.mcp.")]:
        monkeypatch.delitem(sys.modules, name)
    for name in [m for m in sys.modules if m == "mcp" or m.startswith("mcp.")]:
        monkeypatch.setitem(sys.modules, name, None)  # as if the SDK were not installed
    out = CliRunner().invoke(build_app(), ["mcp", "--db", str(tmp_path / "s.db")])
    assert out.exit_code == 2
    assert "pip install 'evopipe[mcp]'" in out.stderr
