"""``evopipe models list`` / ``evopipe models try`` through the real Typer app."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from evopipe.cli import build_app


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EVOPIPE_CONFIG", str(tmp_path / "no-user-config.toml"))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("MY_KEY", "sk-do-not-print")
    (tmp_path / "evopipe.toml").write_text(
        'default_model = "fake"\n'
        "[endpoints.ollama]\n"
        'base_url = "http://localhost:11434/v1"\n'
        'models = ["qwen3"]\n'
        "[endpoints.corp]\n"
        'base_url = "http://corp/v1"\n'
        'api_key_env = "MY_KEY"\n'
        'models = ["m1"]\n'
    )
    return tmp_path


def test_list_shows_configured_models_and_usability(project: Path) -> None:
    result = CliRunner().invoke(build_app(), ["models", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["id"]: r for r in json.loads(result.stdout)}
    assert rows["fake"]["default"] is True
    assert rows["ollama:qwen3"]["usable"] is True
    assert rows["corp:m1"]["usable"] is True
    assert "$MY_KEY" in rows["corp:m1"]["detail"]
    assert rows["openai:gpt-5-mini"]["usable"] is False
    assert "local:smollm2-135m" in rows
    assert "sk-do-not-print" not in result.output


def test_list_text(project: Path) -> None:
    result = CliRunner().invoke(build_app(), ["models", "list"])
    assert result.exit_code == 0
    assert "ollama:qwen3" in result.stdout
    assert "(default)" in result.stdout


def test_try_fake_with_schema(project: Path) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    (project / "s.json").write_text(json.dumps(schema))
    result = CliRunner().invoke(
        build_app(), ["models", "try", "fake", "count", "--schema", "s.json", "--json"]
    )
    assert result.exit_code == 0, result.output
    response = json.loads(result.stdout)
    jsonschema.validate(response["data"], schema)
    assert response["cost_usd"] == 0.0


def test_try_unknown_model_is_a_clear_error(project: Path) -> None:
    result = CliRunner().invoke(build_app(), ["models", "try", "nope:x", "hi"])
    assert result.exit_code == 1
    assert "unknown model" in result.stderr
    assert "ollama" in result.stderr
