"""Every entry point is composed the same way (issue 11's bugs, each pinned here):

- ``default_model`` in ``evopipe.toml`` is honoured by ``run``, ``generate``, ``eval``,
  ``evolve`` and the Python API ``evopipe.load(...).run(...)`` alike;
- an API key planted in the environment reaches no byte that any entry point writes.

Only the CLI and ``evopipe.load`` are used, so these tests also ran (and failed) against the
release before the application layer existed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import evopipe
from evopipe.cli import build_app

CANARY = "sk-planted-canary-7c1e9a44d2b85f60"
ANSWER = "42"
LLM = """apiVersion: evopipe/v1
kind: Pipeline
name: answerer
description: Answer a question.
inputs: {question: {type: string}}
outputs: {answer: "{{ steps.answer.output }}"}
steps:
  - {id: answer, kind: llm, prompt: "{{ inputs.question }}", max_tokens: 16}
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project whose config names a scripted default model that always answers 42."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EVOPIPE_CONFIG", str(tmp_path / "no-user-config.toml"))
    monkeypatch.delenv("EVOPIPE_DB", raising=False)
    script = tmp_path / "answers.yaml"
    script.write_text(f'fallback: "{ANSWER}"\n')
    (tmp_path / "evopipe.toml").write_text(f'default_model = "scripted:{script}"\n')
    (tmp_path / "answerer.yaml").write_text(LLM)
    rows = [{"question": f"What is {n} + {42 - n}?", "answer": ANSWER} for n in range(12)]
    (tmp_path / "data.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return tmp_path


def _cli(*args: str) -> tuple[int, str]:
    """Exit code and stdout (diagnostics and progress go to stderr)."""
    result = CliRunner().invoke(build_app(), list(args))
    return result.exit_code, result.stdout


def test_run_honours_the_configured_default_model(project: Path) -> None:
    code, out = _cli("run", "answerer.yaml", "-i", "question=hi", "--json")
    assert code == 0, out
    assert json.loads(out)["outputs"] == {"answer": ANSWER}


def test_python_api_honours_the_configured_default_model(project: Path) -> None:
    result = evopipe.load(project / "answerer.yaml").run_sync({"question": "hi"})
    assert result.status == "succeeded", result.error
    assert result.outputs == {"answer": ANSWER}


def test_eval_honours_the_configured_default_model(project: Path) -> None:
    code, out = _cli(
        "eval", "answerer.yaml", "--dataset", "data.jsonl", "--split", "all",
        "--metric", "exact", "--expected", "answer", "--json",
    )  # fmt: skip
    assert code == 0, out
    assert json.loads(out)["objectives"]["quality"]["mean"] == 1.0


def test_evolve_honours_the_configured_default_model(project: Path) -> None:
    code, out = _cli(
        "evolve", "answerer.yaml", "--dataset", "data.jsonl", "--metric", "exact",
        "--expected", "answer", "--generations", "1", "--population", "2", "--offspring", "1",
        "--operators", "params", "--json",
    )  # fmt: skip
    assert code == 0, out
    summary = json.loads(out)
    assert summary["seed_quality"] == 1.0


def test_generate_honours_the_configured_default_model(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "evopipe.toml").write_text('default_model = "fake"\n')
    code, out = _cli("generate", "Summarise a support email", "--json")
    assert code in (0, 1), out
    code, out = _cli("generations", "list", "--json")
    assert code == 0, out
    assert [row["model"] for row in json.loads(out)] == ["fake"]


# -- secrets -------------------------------------------------------------------------------


def _written_bytes(root: Path) -> bytes:
    """Every byte of every file under ``root`` except the inputs the test wrote itself."""
    mine = {"answers.yaml", "evopipe.toml", "answerer.yaml", "data.jsonl", "secret.json"}
    return b"".join(p.read_bytes() for p in root.rglob("*") if p.is_file() and p.name not in mine)


@pytest.fixture
def planted(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    (project / "secret.json").write_text(json.dumps({"question": f"key is {CANARY}"}))
    return project


def test_python_api_masks_a_planted_key_in_the_database(planted: Path) -> None:
    db = planted / "api.db"
    result = evopipe.load(planted / "answerer.yaml").run_sync(
        {"question": f"my key is {CANARY}"}, db=str(db)
    )
    assert result.status == "succeeded", result.error
    assert db.exists()
    assert CANARY.encode() not in _written_bytes(planted)


@pytest.mark.parametrize(
    "args",
    [
        ["run", "answerer.yaml", "--inputs", "secret.json", "--db", "cli.db"],
        ["generate", f"Summarise an email that says {CANARY}", "--db", "cli.db",
         "--model", "fake"],
        ["eval", "answerer.yaml", "--dataset", "data.jsonl", "--metric", "exact",
         "--expected", "answer", "--map", "question=question", "--db", "cli.db"],
    ],
    ids=["run", "generate", "eval"],
)  # fmt: skip
def test_cli_entry_points_mask_a_planted_key(planted: Path, args: list[str]) -> None:
    if args[0] == "eval":  # the planted key reaches the dataset rows too
        rows = [{"question": f"{CANARY} {n}", "answer": ANSWER} for n in range(6)]
        (planted / "data.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    _cli(*args)
    assert (planted / "cli.db").exists()
    assert CANARY.encode() not in _written_bytes(planted)
