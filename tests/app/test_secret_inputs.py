"""Secret inputs (``writeOnly: true``): used by the run, never written; given again to resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evopipe.cli import build_app
from evopipe.engine.secrets import mask_of

TOKEN = "tok-3f9a61c07be24d58"
GATED = """apiVersion: evopipe/v1
kind: Pipeline
name: gated
inputs:
  user: {type: string}
  token: {type: string, writeOnly: true}
steps:
  - {id: header, kind: set, values: {auth: "Bearer {{ inputs.token }}", user: "{{ inputs.user }}"}}
  - {id: gate, kind: approval, message: "send as {{ inputs.user }}?", needs: [header]}
  - id: send
    kind: set
    needs: [gate]
    values: {sent: "{{ steps.header.output.auth == 'Bearer ' ~ inputs.token }}"}
outputs:
  sent: "{{ steps.send.output.sent }}"
  auth: "{{ steps.header.output.auth }}"
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EVOPIPE_CONFIG", str(tmp_path / "no-user-config.toml"))
    monkeypatch.delenv("EVOPIPE_DB", raising=False)
    (tmp_path / "gated.yaml").write_text(GATED)
    return tmp_path


def _cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(build_app(), list(args))
    return result.exit_code, result.stdout, result.stderr


def _written(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in root.rglob("*") if p.is_file())


def test_a_secret_input_is_used_but_never_written_and_must_be_given_to_resume(
    project: Path,
) -> None:
    args = ["--db", "s.db", "--json"]
    code, out, _ = _cli("run", "gated.yaml", "-i", "user=ana", "-i", f"token={TOKEN}", *args)
    waiting = json.loads(out)
    assert waiting["status"] == "waiting", out
    run_id = waiting["run_id"]
    assert TOKEN.encode() not in _written(project)  # the journal, the run row, the events

    code, _, err = _cli("approve", run_id, "gate", "--db", "s.db")
    assert code != 0
    assert "secret inputs that were not stored (token)" in err
    assert f"evopipe resume {run_id} -i token=" in err

    code, out, err = _cli("resume", run_id, "-i", "user=bob", *args)
    assert code != 0
    assert "only secret inputs can be given to a resumed run; user is kept" in err

    # refused before the decision was recorded: the step still waits for one
    code, out, err = _cli("approve", run_id, "gate", "-i", f"token={TOKEN}", *args)
    assert code == 0, err
    done = json.loads(out)
    assert done["status"] == "succeeded"
    assert done["outputs"]["sent"] is True  # the resumed steps had the real token
    assert TOKEN.encode() not in _written(project)

    code, out, _ = _cli("runs", "show", run_id, "--db", "s.db", "--json")
    shown = json.loads(out)
    assert shown["inputs"] == {"user": "ana", "token": mask_of("token")}
    assert shown["outputs"]["auth"] == f"Bearer {mask_of('token')}"
