"""``evopipe eval`` end to end through the CLI (tool and scripted-model pipelines)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from eval_helpers import CALC, CLASSIFY
from typer.testing import CliRunner

from evopipe.app.schema import MIGRATIONS
from evopipe.cli import eval as eval_cli
from evopipe.cli._session import mount
from evopipe.evaluate.records import load_eval
from evopipe.store import Store


def _app() -> typer.Typer:
    app = typer.Typer()
    mount(app, *eval_cli.CLI)

    @app.command("noop", hidden=True)
    def _noop() -> None:  # a second command keeps `eval` a named subcommand
        """unused"""

    return app


def _files(tmp_path: Path) -> tuple[Path, Path]:
    pipe = tmp_path / "calc.yaml"
    pipe.write_text(CALC, encoding="utf-8")
    data = tmp_path / "data.jsonl"
    rows = [
        {"question": "1+1", "answer": "2"},
        {"question": "2*3", "answer": "6"},
        {"question": "5-1", "answer": "3"},
        {"question": "1/0", "answer": "0"},
    ]
    data.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    return pipe, data


def test_eval_json_has_the_documented_shape(tmp_path: Path) -> None:
    pipe, data = _files(tmp_path)
    db = tmp_path / "e.db"
    args = ["eval", str(pipe), "--dataset", str(data), "--metric", "numeric", "--split", "all"]
    args += ["--map", "expr=question", "--expected", "answer", "--db", str(db), "--json"]
    result = CliRunner().invoke(_app(), args)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert set(doc) == {"pipeline", "dataset", "split", "n", "objectives", "examples", "stopped"}
    assert (doc["pipeline"], doc["dataset"], doc["split"], doc["n"]) == ("calc", "data", "all", 4)
    assert doc["objectives"]["quality"]["mean"] == 0.5
    assert doc["objectives"]["success_rate"] == 0.75
    assert doc["stopped"] is None
    with Store.open(f"sqlite:///{db}", migrations=MIGRATIONS) as store:
        with store.begin() as conn:
            ids = [r[0] for r in conn.exec_driver_sql("SELECT eval_id FROM eval_runs")]
        assert len(ids) == 1
        stored = load_eval(store, ids[0])
    assert stored is not None
    assert len(stored["examples"]) == 4


def test_eval_table_and_errors(tmp_path: Path) -> None:
    pipe, data = _files(tmp_path)
    base = [
        "eval",
        str(pipe),
        "--dataset",
        str(data),
        "--split",
        "all",
        "--db",
        str(tmp_path / "d"),
    ]
    ok = CliRunner().invoke(
        _app(), [*base, "--metric", "numeric", "--map", "expr=question", "--expected", "answer"]
    )
    assert ok.exit_code == 0, ok.output
    assert "quality" in ok.stdout
    assert "success rate" in ok.stdout
    assert "75.0%" in ok.stdout
    bad = CliRunner().invoke(_app(), [*base, "--metric", "nope", "--expected", "answer"])
    assert bad.exit_code == 2
    assert "unknown metric 'nope'" in bad.stderr
    unmapped = CliRunner().invoke(_app(), [*base, "--metric", "exact", "--expected", "answer"])
    assert unmapped.exit_code == 2
    assert "--map INPUT=FIELD" in unmapped.stderr


def test_eval_budget_calls_stops_and_says_so(tmp_path: Path) -> None:
    pipe = tmp_path / "classify.yaml"
    pipe.write_text(CLASSIFY, encoding="utf-8")
    script = tmp_path / "model.yaml"
    script.write_text("rules: {}\nfallback: other\n", encoding="utf-8")
    data = tmp_path / "d.jsonl"
    data.write_text(
        "\n".join(json.dumps({"text": f"m{i}", "label": "other"}) for i in range(8)),
        encoding="utf-8",
    )
    args = ["eval", str(pipe), "--dataset", str(data), "--split", "all", "--json"]
    args += ["--model", f"scripted:{script}", "--budget-calls", "5", "--concurrency", "1"]
    args += ["--db", str(tmp_path / "b.db"), "--project", "2"]
    result = CliRunner().invoke(_app(), args)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["stopped"] == "budget"
    assert doc["n"] == 5  # 2 projected (then cached) + 3 more within the 5-call cap
    assert doc["objectives"]["quality"]["mean"] == 1.0
    assert "projection from 2 example(s)" in result.stderr


def test_eval_compare(tmp_path: Path) -> None:
    pipe, data = _files(tmp_path)
    args = ["eval", "compare", str(pipe), str(pipe), "--dataset", str(data), "--split", "all"]
    args += ["--metric", "numeric", "--map", "expr=question", "--expected", "answer"]
    args += ["--db", str(tmp_path / "c.db")]
    table = CliRunner().invoke(_app(), args)
    assert table.exit_code == 0, table.output
    assert "B - A" in table.stdout
    result = CliRunner().invoke(_app(), [*args, "--json"])
    doc = json.loads(result.stdout)
    assert doc["paired"]["n"] == 4
    assert doc["paired"]["diff"] == 0.0
    assert doc["paired"]["p_value"] == 1.0
