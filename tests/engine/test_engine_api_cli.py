"""The Python API (evopipe.engine.load) and the run/resume/cancel/approve commands, on a real
SQLite store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evopipe.app import EvopipeError, load, parse_inputs
from evopipe.app.schema import MIGRATIONS
from evopipe.cli import build_app
from evopipe.models import ModelHub
from evopipe.models.testing import FakeModel

PIPE = """\
apiVersion: evopipe/v1
name: demo
inputs: {topic: {type: string}, n: {type: integer, default: 1}}
steps:
  - {id: a, kind: llm, prompt: "Write about {{ inputs.topic }}"}
  - {id: gate, kind: approval, message: "ok?", needs: [a]}
  - {id: b, kind: set, values: {x: "{{ steps.a.output }}", n: "{{ inputs.n }}"}}
    # b waits for the approval through `needs`
outputs: {x: "{{ steps.b.output.x }}", n: "{{ steps.b.output.n }}"}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "p.yaml"
    path.write_text(text.replace("- {id: b, kind: set,", "- {id: b, kind: set, needs: [gate],"))
    return path


def test_python_api_runs_sync_with_a_typed_result(tmp_path: Path) -> None:
    hub = ModelHub(allow_network=False)
    hub.add(FakeModel(), "fake")
    path = tmp_path / "s.yaml"
    path.write_text(
        "apiVersion: evopipe/v1\nname: s\ninputs: {t: {type: string}}\n"
        "steps:\n  - {id: a, kind: llm, prompt: '{{ inputs.t }}'}\n"
        "outputs: {text: '{{ steps.a.output }}'}\n"
    )
    handle = load(path, models=hub)
    result = handle.run_sync({"t": "hello"}, model="fake")
    assert result.ok
    assert result.outputs["text"].startswith("fake-")
    assert result.usage.calls == 1
    assert result.step("a").status == "succeeded"


def test_parse_inputs_keeps_json_types(tmp_path: Path) -> None:
    f = tmp_path / "in.json"
    f.write_text('{"a": 1, "b": "x"}')
    assert parse_inputs(["b=y", "n=3", 'l=["q"]', "s=hello world"], f) == {
        "a": 1,
        "b": "y",
        "n": 3,
        "l": ["q"],
        "s": "hello world",
    }


def test_cli_run_waits_then_approve_resumes(cli: CliRunner, tmp_path: Path) -> None:
    path = _write(tmp_path, PIPE)
    app = build_app()
    first = cli.invoke(app, ["run", str(path), "-i", "topic=cats", "--model", "fake", "--json"])
    assert first.exit_code == 3, first.output
    doc = json.loads(first.stdout)
    assert doc["status"] == "waiting"
    assert set(doc) >= {"run_id", "status", "outputs", "usage", "steps"}
    assert set(doc["usage"]) == {"input_tokens", "output_tokens", "cost_usd", "calls"}
    assert set(doc["steps"][0]) == {"id", "status", "attempts", "duration_ms", "cached"}
    assert (tmp_path / ".evopipe" / "evopipe.db").exists()
    run_id = doc["run_id"]
    second = cli.invoke(app, ["approve", run_id, "gate", "--comment", "fine", "--json"])
    assert second.exit_code == 0, second.output
    done = json.loads(second.stdout)
    assert done["status"] == "succeeded"
    assert done["outputs"]["x"].startswith("fake-")
    assert done["outputs"]["n"] == 1
    again = cli.invoke(app, ["resume", run_id])
    assert again.exit_code == 2
    assert "already succeeded" in again.output


def test_cli_reject_and_bad_inputs(cli: CliRunner, tmp_path: Path) -> None:
    path = _write(tmp_path, PIPE)
    app = build_app()
    bad = cli.invoke(app, ["run", str(path), "--json"])
    assert bad.exit_code == 2
    assert "missing required input 'topic'" in bad.output
    first = cli.invoke(app, ["run", str(path), "-i", "topic=x", "--model", "fake", "--json"])
    run_id = json.loads(first.stdout)["run_id"]
    rejected = cli.invoke(app, ["approve", run_id, "gate", "--reject", "--json"])
    assert rejected.exit_code == 1
    assert json.loads(rejected.stdout)["status"] == "failed"


def test_cli_approve_gives_typed_values_and_a_misfit_is_refused_with_exit_2(
    cli: CliRunner, tmp_path: Path
) -> None:
    typed = PIPE.replace(
        'message: "ok?", needs: [a]}',
        'message: "ok?", needs: [a], fields: {n: {type: integer, max: 5}}}',
    ).replace('n: "{{ inputs.n }}"', 'n: "{{ steps.gate.output.values.n }}"')
    path = _write(tmp_path, typed)
    app = build_app()
    first = cli.invoke(app, ["run", str(path), "-i", "topic=x", "--model", "fake", "--json"])
    run_id = json.loads(first.stdout)["run_id"]
    refused = cli.invoke(app, ["approve", run_id, "gate", "--value", "n=7"])
    assert refused.exit_code == 2
    assert "n: 7 is above the maximum 5" in refused.output
    done = cli.invoke(app, ["approve", run_id, "gate", "--value", "n=4", "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["outputs"]["n"] == 4


def test_cli_resume_refuses_an_edited_file(cli: CliRunner, tmp_path: Path) -> None:
    path = _write(tmp_path, PIPE)
    app = build_app()
    first = cli.invoke(app, ["run", str(path), "-i", "topic=x", "--model", "fake", "--json"])
    run_id = json.loads(first.stdout)["run_id"]
    path.write_text(path.read_text().replace("Write about", "Write a poem about"))
    refused = cli.invoke(app, ["resume", run_id])
    assert refused.exit_code == 2
    assert f"--fork-from {run_id}" in refused.output
    cancel = cli.invoke(app, ["cancel", "no-such-run"])
    assert cancel.exit_code == 2


def test_cli_run_by_registered_name_runs_the_champion(cli: CliRunner, tmp_path: Path) -> None:
    from evopipe.orchestrate import Registry
    from evopipe.spec import loads
    from evopipe.store import Store

    spec = loads(
        "apiVersion: evopipe/v1\nkind: Pipeline\nname: greeter\n"
        "steps:\n  - {id: hi, kind: set, values: {greeting: champion-v1}}\n"
        "outputs: {greeting: '{{ steps.hi.output.greeting }}'}\n"
    ).pipeline
    app = build_app()
    missing = cli.invoke(app, ["run", "greeter", "--json"])
    assert missing.exit_code != 0
    assert "no champion registered under 'greeter'" in missing.output
    with Store.open(str(tmp_path / ".evopipe" / "evopipe.db"), migrations=MIGRATIONS) as store:
        registry = Registry(store)
        number = registry.add_version("greeter", "cand", spec, {"why": "test"})
        registry.set_champion("greeter", number)
    out = cli.invoke(app, ["run", "greeter", "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["outputs"] == {"greeting": "champion-v1"}


def test_parse_inputs_reads_at_files(tmp_path: Path) -> None:
    article = tmp_path / "article.txt"
    article.write_text("Otters hold hands.\n")
    assert parse_inputs([f"text=@{article}", "handle=@"]) == {
        "text": "Otters hold hands.\n",
        "handle": "@",
    }
    with pytest.raises(EvopipeError, match="cannot read input file"):
        parse_inputs([f"text=@{tmp_path / 'missing.txt'}"])
