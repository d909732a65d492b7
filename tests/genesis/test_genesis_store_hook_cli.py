"""Stored generations, the engine's generator hook and meta limits, and the CLI faces."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from evopipe.app import UsageError, parse_inputs
from evopipe.app.schema import MIGRATIONS
from evopipe.cli import generate as generate_cli
from evopipe.cli._session import mount
from evopipe.engine import RunOptions, Services, run_pipeline
from evopipe.genesis import MetaLimitExceeded, MetaLimits, agenerate, make_generator, records
from evopipe.models import ModelHub
from evopipe.models.testing import FakeModel, ScriptedModel
from evopipe.spec import loads
from evopipe.store import Store


async def test_generation_and_rounds_are_stored() -> None:
    with Store.open("sqlite:///:memory:", migrations=MIGRATIONS) as store:
        services = Services(models=ModelHub(), store=store)
        result = await agenerate("triage bug reports", model=FakeModel(), services=services)
        assert result.generation_id is not None
        rows = records.list_generations(store)
        assert [r.generation_id for r in rows] == [result.generation_id]
        assert rows[0].status == "succeeded"
        shown = records.get_generation(store, result.generation_id[:8])
        assert shown["spec_yaml"] == result.yaml
        assert shown["request"] == "triage bug reports"
        assert len(shown["round_records"]) == result.rounds_needed
        first = shown["round_records"][0]
        assert first["draft"] == result.rounds[0].draft
        assert isinstance(first["first_diagnostics"], list)
        with pytest.raises(records.GenerationNotFoundError):
            records.get_generation(store, "nope")


async def test_failed_generation_is_stored_too() -> None:
    with Store.open("sqlite:///:memory:", migrations=MIGRATIONS) as store:
        services = Services(models=ModelHub(), store=store)
        model = ScriptedModel(fallback="not json", model_id="s")
        with pytest.raises(Exception, match="no valid pipeline"):
            await agenerate("x y z", model=model, services=services, max_rounds=0)
        (row,) = records.list_generations(store)
        assert row.status == "failed"
        assert records.get_generation(store, row.generation_id)["spec_yaml"] is None


GENERATE_PARENT = """
apiVersion: evopipe/v1
kind: Pipeline
name: parent
inputs: {topic: {type: string, default: rust}}
steps:
  - id: make
    kind: generate
    request: "Summarise articles about {{ inputs.topic }}"
    inputs: {text: "an article about {{ inputs.topic }}"}
outputs:
  name: "{{ steps.make.output.name }}"
  result: "{{ steps.make.output.outputs }}"
"""


async def test_generate_step_runs_through_the_hook() -> None:
    hub = ModelHub()
    hub.add(FakeModel())
    services = Services(models=hub, hooks={"generator": make_generator(hub)})
    parent = loads(GENERATE_PARENT).pipeline
    result = await run_pipeline(parent, {}, services=services, options=RunOptions(model="fake"))
    assert result.status == "succeeded", result.error
    assert result.outputs["name"]


async def test_hook_depth_and_budget_limits() -> None:
    hub = ModelHub()
    hub.add(FakeModel())
    generator = make_generator(hub, limits=MetaLimits(max_depth=2))
    with pytest.raises(MetaLimitExceeded) as info:
        await generator(request="summarise", model_id="fake", depth=3)
    assert info.value.rule == "depth-exceeded"
    assert "depth-exceeded" in str(info.value)
    small = make_generator(hub, limits=MetaLimits(max_total_tokens=1))
    with pytest.raises(MetaLimitExceeded) as info:  # the first draft spends the budget
        await small(request="summarise text", model_id="fake")
    assert info.value.rule == "tokens-exceeded"
    few = make_generator(hub, limits=MetaLimits(max_total_steps=1))
    with pytest.raises(MetaLimitExceeded) as info:
        await few(request="summarise text", model_id="fake")
    assert info.value.rule == "steps-exceeded"


def test_parse_inputs() -> None:
    assert parse_inputs(["a=1", "b=hello", "c=[1, 2]", "d=x=y"]) == {
        "a": 1,
        "b": "hello",
        "c": [1, 2],
        "d": "x=y",
    }
    with pytest.raises(UsageError):
        parse_inputs(["novalue"])


def _app() -> typer.Typer:
    app = typer.Typer()
    mount(app, *generate_cli.CLI)
    return app


SCRIPT = {
    "rules": {
        "Decide what the pipeline does": {
            "functionality": "review a diff",
            "pattern": "code-review-diff",
            "steps": [{"id": "summarise", "purpose": "summarise the diff"}],
            "model": "default",
        },
        "Write the pipeline for this request as JSON": {
            "name": "diff-summary",
            "description": "Summarise a diff.",
            "inputs": {"diff": {"type": "string"}},
            "steps": [
                {
                    "id": "summarise",
                    "kind": "extract",
                    "prompt": "Summarise this diff: {{ inputs.diff }}",
                    "output": {
                        "schema": {
                            "type": "object",
                            "properties": {"summary": {"type": "string"}},
                            "required": ["summary"],
                        }
                    },
                }
            ],
            "outputs": {"summary": "{{ steps.summarise.output.summary }}"},
        },
        "Summarise this diff: \\+x": {"summary": "adds x"},
    }
}


def test_cli_generate_writes_valid_files_and_lists(tmp_path: Path) -> None:
    db = str(tmp_path / "evopipe.db")
    out = tmp_path / "review.yaml"
    script = tmp_path / "script.json"
    script.write_text(json.dumps(SCRIPT))
    runner = CliRunner()
    args = ["generate", "review a diff", "-o", str(out), "--model", f"scripted:{script}"]
    res = runner.invoke(_app(), [*args, "--db", db, "--json", "--run", "-i", "diff=+x"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["valid"] is True
    assert data["run"]["status"] == "succeeded"
    assert data["run"]["outputs"] == {"summary": "adds x"}
    assert data["first_try_valid"] is True
    assert loads(out.read_text()).pipeline.name == data["name"]
    assert (tmp_path / "review.README.md").exists()
    assert list((tmp_path / "review.schemas").glob("*.schema.json"))
    listed = runner.invoke(_app(), ["generations", "list", "--db", db, "--json"])
    assert json.loads(listed.stdout)[0]["generation_id"] == data["generation_id"]
    shown = runner.invoke(_app(), ["generations", "show", data["generation_id"][:10], "--db", db])
    assert json.loads(shown.stdout)["spec_yaml"] == data["spec"]


def test_cli_never_writes_an_invalid_pipeline(tmp_path: Path) -> None:
    script = tmp_path / "script.yaml"
    script.write_text("fallback: 'no JSON here'\n")
    out = tmp_path / "bad.yaml"
    args = ["generate", "anything", "-o", str(out), "--model", f"scripted:{script}"]
    db = str(tmp_path / "db.sqlite")
    res = CliRunner().invoke(_app(), [*args, "--db", db, "--max-rounds", "0", "--json"])
    assert res.exit_code == 1
    assert not out.exists()
    data = json.loads(res.stdout)
    assert data["valid"] is False
    assert data["diagnostics"][0]["rule"] == "model-failed"
