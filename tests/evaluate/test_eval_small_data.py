"""Small-data defaults say what they do (issue 20, item 5): `eval` on one file says it scored
n of N rows of one split and suggests `--split all`."""

from __future__ import annotations

import json
from pathlib import Path

from eval_helpers import CALC, CLASSIFY
from test_eval_cli import _app
from typer.testing import CliRunner


def _files(tmp_path: Path, n: int) -> tuple[Path, Path]:
    pipe = tmp_path / "calc.yaml"
    pipe.write_text(CALC, encoding="utf-8")
    data = tmp_path / "data.jsonl"
    rows = [{"question": f"{i}+1", "answer": str(i + 1)} for i in range(n)]
    data.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    return pipe, data


def _eval(tmp_path: Path, *extra: str) -> tuple[str, str]:
    pipe, data = _files(tmp_path, 10)
    args = ["eval", str(pipe), "--dataset", str(data), "--metric", "numeric", *extra]
    args += ["--map", "expr=question", "--expected", "answer", "--db", str(tmp_path / "e.db")]
    result = CliRunner().invoke(_app(), args)
    assert result.exit_code == 0, result.output
    return result.stdout, result.stderr


def test_eval_says_it_scored_one_split_of_the_file(tmp_path: Path) -> None:
    _, err = _eval(tmp_path)
    assert "of 10 rows (split val)" in err
    assert "--split all" in err


def test_no_note_when_every_row_is_scored(tmp_path: Path) -> None:
    _, err = _eval(tmp_path, "--split", "all")
    assert "rows (split" not in err


def test_eval_no_cache_reads_no_stored_response(tmp_path: Path) -> None:
    pipe = tmp_path / "classify.yaml"
    pipe.write_text(CLASSIFY, encoding="utf-8")
    (tmp_path / "script.yaml").write_text("fallback: other\n", encoding="utf-8")
    data = tmp_path / "data.jsonl"
    rows = [{"text": f"message {i}", "label": "other"} for i in range(3)]
    data.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    args = ["eval", str(pipe), "--dataset", str(data), "--split", "all", "--project", "0"]
    args += ["--model", f"scripted:{tmp_path / 'script.yaml'}", "--expected", "label"]
    args += ["--db", str(tmp_path / "e.db"), "--json"]

    def cached_calls(*extra: str) -> int:
        result = CliRunner().invoke(_app(), [*args, *extra])
        assert result.exit_code == 0, result.output
        return sum(e["cached_calls"] for e in json.loads(result.stdout)["examples"])

    assert cached_calls() == 0
    assert cached_calls() == 3  # the second evaluation is served from the store
    assert cached_calls("--no-cache") == 0
