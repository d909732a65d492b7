"""Secrets: a planted API key never reaches the journal, logs, events, errors, CLI output or an
exported spec — even when the provider's error message echoes it back.

The run goes through the composition root every face uses (``evopipe.app.App``: the store,
JSON lines events) with the real OpenAI SDK adapter answering from a mock transport; one step
succeeds, one fails with a 401 that quotes the key (as OpenAI does), one fails in a model that
does not scrub anything (the store must still mask the key).
"""

from __future__ import annotations

import io
import json
import logging
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from typer.testing import CliRunner

from evopipe.app import App, JsonLinesSubscriber, Settings
from evopipe.cli import build_app
from evopipe.engine.replay import stored_pipeline
from evopipe.models import ModelHub
from evopipe.models.base import ModelError, ModelRequest
from evopipe.models.testing import FakeModel, FunctionModel
from evopipe.spec.canonical import canonical_json, to_yaml
from evopipe.spec.loader import loads

CANARY = "sk-evopipe-canary-4f1c9a7e2b6d80351"
TOKEN_CANARY = "tok-evopipe-canary-8e2d4c6a0b1f"

PIPELINE = """apiVersion: evopipe/v1
name: leaky
inputs: {topic: {type: string}}
steps:
  - {id: ok, kind: llm, model: fake, prompt: "About {{ inputs.topic }}"}
  - {id: provider, kind: llm, model: "openai:gpt-4o-mini", prompt: "{{ steps.ok.output }}",
     retry: {max_attempts: 1}}
outputs: {a: "{{ steps.ok.output }}"}
"""

PLUGIN_PIPELINE = """apiVersion: evopipe/v1
name: plugin
steps:
  - {id: plugin, kind: llm, model: leaky-plugin, prompt: "hi", retry: {max_attempts: 1}}
"""


def _echo_key(request: httpx2.Request) -> httpx2.Response:
    key = request.headers.get("authorization", "").removeprefix("Bearer ")
    body = {
        "error": {
            "message": f"Incorrect API key provided: {key}. You can find your API key at ...",
            "type": "invalid_request_error",
            "code": "invalid_api_key",
        }
    }
    return httpx2.Response(401, json=body)


def _leaky_plugin(request: ModelRequest) -> str:
    """A third-party model that puts a secret in its error (nothing upstream scrubs it)."""
    raise ModelError(f"plugin: upstream refused token {TOKEN_CANARY}")


def _dump(value: Any) -> str:
    if is_dataclass(value) and not isinstance(value, type):
        value = asdict(value)
    return json.dumps(value, default=repr)


def _assert_clean(where: str, text: str | bytes) -> None:
    data = text.encode() if isinstance(text, str) else text
    for canary in (CANARY, TOKEN_CANARY):
        assert canary.encode() not in data, f"secret found in {where}"
        assert canary[-12:].encode() not in data, f"part of a secret found in {where}"


@pytest.fixture
def planted(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    monkeypatch.setenv("LEAKY_PLUGIN_TOKEN", TOKEN_CANARY)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "leaky.yaml").write_text(PIPELINE)
    return tmp_path


async def test_planted_key_is_nowhere(planted: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, the SDKs' included
    db = planted / "runs.db"
    stream = io.StringIO()
    pipeline = loads(PIPELINE).pipeline
    events = [JsonLinesSubscriber(stream)]
    async with httpx2.AsyncClient(transport=httpx2.MockTransport(_echo_key)) as client:
        hub = ModelHub(http_client=client)  # keys come from os.environ, as in production
        hub.add(FakeModel(), "fake")
        hub.add(FunctionModel(_leaky_plugin, model_id="leaky-plugin"))
        async with App(Settings.load(planted, db=str(db)), models=hub) as app:
            result = await app.runs.run(pipeline, {"topic": "tickets"}, subscribers=events)
            plugin = await app.runs.run(loads(PLUGIN_PIPELINE).pipeline, {}, subscribers=events)
            run_id = result.run_id
            exported = stored_pipeline(app.store.get_run(run_id))
            journal = [
                _dump(e) for rid in (run_id, plugin.run_id) for e in app.store.load_events(rid, 0)
            ]

    # the run really hit both failures, and the errors still say what happened
    assert result.status == "failed"
    assert plugin.status == "failed"
    steps = {s.id: s for s in result.steps}
    assert steps["ok"].status == "succeeded"
    provider_error = steps["provider"].error or ""
    assert "401" in provider_error
    assert "Incorrect API key provided: [REDACTED]" in provider_error
    assert any(
        "invalid_api_key" in line or "401" in line for line in stream.getvalue().splitlines()
    )

    _assert_clean("the run result", _dump(result) + repr(result))
    # the plugin's error is the plugin's own business in memory, but never stored
    _assert_clean("the JSON lines events", stream.getvalue())
    _assert_clean("the log records", caplog.text + "".join(repr(r.args) for r in caplog.records))
    _assert_clean("the journal read back", "\n".join(journal))
    _assert_clean("the exported spec", to_yaml(exported) + canonical_json(exported))
    for suffix in ("", "-wal", "-shm", "-journal"):
        file = db.with_name(db.name + suffix)
        if file.exists():
            _assert_clean(f"the database file {file.name}", file.read_bytes())
    # the plugin's secret reached the store only masked
    plugin_events = [line for line in journal if "plugin: upstream refused token" in line]
    assert plugin_events
    assert all("[REDACTED]" in line for line in plugin_events)

    runner = CliRunner()
    app = build_app()
    for args in (["runs", "show", run_id, "--db", str(db)], ["runs", "list", "--db", str(db)]):
        out = runner.invoke(app, args)
        assert out.exit_code == 0, out.output
        _assert_clean(f"`evopipe {' '.join(args[:2])}` output", out.output)


def test_cli_run_output_carries_no_key(planted: Path) -> None:
    """``evopipe run`` end to end; the provider step cannot reach the network under pytest."""
    db = planted / "cli.db"
    out = CliRunner().invoke(
        build_app(),
        ["run", "leaky.yaml", "-i", "topic=x", "--db", str(db), "--events", "jsonl"],
    )
    assert out.exit_code != 0
    assert "provider" in out.output
    _assert_clean("`evopipe run` output", out.output)
    for suffix in ("", "-wal"):
        file = db.with_name(db.name + suffix)
        if file.exists():
            _assert_clean(f"the database file {file.name}", file.read_bytes())
