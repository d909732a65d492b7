"""``evopipe runs list|show`` and ``evopipe gc`` through the real CLI app."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evopipe.cli import build_app
from evopipe.store import EventRecord, Store


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "cli.db")
    with Store.open(path) as store:
        old = time.time() - 90 * 86400
        store.create_run(
            "old",
            pipeline_name="p",
            spec_hash="h",
            spec_json="{}",
            inputs={},
            created_at=old,
            status="succeeded",  # finished 90 days ago
        )
        store.create_run(
            "r1", pipeline_name="summarise", spec_hash="h", spec_json="{}", inputs={"q": "x"}
        )
        store.append_events(
            "r1",
            [
                EventRecord("run_started", None, 0, {}),
                EventRecord("step_started", "fan[0].a", 1, {"attempt": 1}),
                EventRecord("step_attempt_started", "fan[0].a", 2, {"attempt": 2}),
                EventRecord(
                    "step_succeeded",
                    "fan[0].a",
                    2,
                    {"attempts": 2, "duration_ms": 12.0, "cached": False, "output": "ok"},
                ),
                EventRecord("step_started", "b", 1, {"attempt": 1}),
                EventRecord(
                    "step_succeeded", "b", 1, {"attempts": 1, "duration_ms": 0.5, "cached": True}
                ),
                EventRecord("step_started", "c", 1, {"attempt": 1}),
            ],
        )
        store.set_run_status(
            "r1", "failed", error="c timed out", outputs={"text": "[x]"}, usage={"calls": 3}
        )
    return path


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(build_app(), list(args))
    return result.exit_code, result.output


def test_runs_list_json_and_table(db: str) -> None:
    code, out = _invoke("runs", "list", "--db", db, "--json")
    assert code == 0, out
    assert [r["run_id"] for r in json.loads(out)] == ["r1", "old"]
    code, out = _invoke("runs", "list", "--db", db)
    assert code == 0, out
    assert "summarise" in out
    assert "failed" in out


def test_runs_show_json_has_steps_outputs_usage(db: str) -> None:
    code, out = _invoke("runs", "show", "r1", "--db", db, "--json")
    assert code == 0, out
    shown = json.loads(out)
    assert shown["status"] == "failed"
    assert shown["error"] == "c timed out"
    assert shown["outputs"] == {"text": "[x]"}
    assert shown["usage"] == {"calls": 3}
    assert [(s["id"], s["status"], s["attempts"], s["cached"]) for s in shown["steps"]] == [
        ("fan[0].a", "succeeded", 2, False),
        ("b", "succeeded", 1, True),
        ("c", "running", 1, False),
    ]
    assert shown["steps"][0]["duration_ms"] == 12.0


def test_runs_show_table_keeps_brackets(db: str) -> None:
    code, out = _invoke("runs", "show", "r1", "--db", db)
    assert code == 0, out
    assert "fan[0].a" in out
    assert '{"text": "[x]"}' in out


def test_runs_show_unknown_run(db: str) -> None:
    code, out = _invoke("runs", "show", "nope", "--db", db)
    assert code == 2
    assert "no run with id 'nope'" in out


def test_db_from_environment(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVOPIPE_DB", db)
    code, out = _invoke("runs", "list", "--json")
    assert code == 0, out
    assert len(json.loads(out)) == 2


def test_gc_older_than(db: str) -> None:
    code, out = _invoke("gc", "--older-than", "30d", "--db", db, "--json")
    assert code == 0, out
    assert json.loads(out)["runs"] == 1
    with Store.open(db) as store:
        assert [r.run_id for r in store.list_runs()] == ["r1"]


def test_gc_bad_age_is_a_usage_error(db: str) -> None:
    code, out = _invoke("gc", "--older-than", "soon", "--db", db)
    assert code == 2
    assert "invalid age 'soon'" in out
