"""The coding-agent CLI adapters against fake executables replaying recorded event streams."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from agents_helpers import alive, run_agent

from evopipe.engine.policy import Policy

FAKES = Path(__file__).resolve().parent.parent / "fixtures" / "coding_agents"

STEP = """
steps:
  - id: ca
    kind: coding_agent
    cli: {cli}
    prompt: "Fix the failing test in {{{{ inputs.repo }}}}"
    cli_model: {model}
    idle_timeout_s: {idle}
inputs: {{repo: {{type: string, default: calc}}}}
"""


@pytest.fixture
def fake_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    path = f"{FAKES / 'bin'}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}"
    monkeypatch.setenv("PATH", path + os.environ["PATH"])
    log = tmp_path / "cli.json"
    monkeypatch.setenv("FAKE_CLI_LOG", str(log))
    monkeypatch.setenv("FAKE_SECRET", "sk-must-not-pass")
    return log


def _use(monkeypatch: pytest.MonkeyPatch, stream: str, **env: str) -> None:
    monkeypatch.setenv("FAKE_CLI_STREAM", str(FAKES / stream))
    for k, v in env.items():
        monkeypatch.setenv(k, v)


PASS = ["FAKE_CLI_STREAM", "FAKE_CLI_LOG", "FAKE_CLI_EXIT", "FAKE_CLI_HANG", "FAKE_CLI_CHILD"]
TRUSTING = Policy.trusting(env_passthrough=PASS)


async def _run(ws: Path, cli: str, model: str = "m1", idle: float = 20, **kw: Any) -> Any:
    text = STEP.format(cli=cli, model=model, idle=idle)
    return await run_agent(text, ws, policy=kw.pop("policy", TRUSTING), **kw)


async def test_claude_stream_is_parsed(ws: Path, fake_env: Path, monkeypatch: Any) -> None:
    _use(monkeypatch, "claude_success.jsonl")
    result = await _run(ws, "claude")
    assert result.ok, result.error
    out = result.step("ca").output
    assert out["text"] == "Fixed: add now adds."
    assert out["session_id"] == "5f0c6a2e-1b7d-4c55-9a57-2f1d0d7c9e11"
    assert (out["input_tokens"], out["output_tokens"]) == (400, 95)  # cache reads/writes count
    assert out["cost_usd"] == 0.0421
    assert (out["num_turns"], out["tool_calls"], out["exit_code"]) == (3, 2, 0)
    assert result.usage.cost_usd == pytest.approx(0.0421)  # added to the run's totals
    called = _called(fake_env)
    assert called["argv"] == [
        "-p",
        "Fix the failing test in calc",
        "--output-format",
        "stream-json",
        "--verbose",
        "--model",
        "m1",
    ]
    assert called["stdin_eof"] is True  # stdin piped and closed
    assert called["secret"] is None  # the environment is scrubbed
    assert called["home"] == os.environ.get("HOME")


async def test_codex_stream_is_parsed(ws: Path, fake_env: Path, monkeypatch: Any) -> None:
    _use(monkeypatch, "codex_success.jsonl")
    result = await _run(ws, "codex")
    out = result.step("ca").output
    assert out["text"] == "Fixed add in calc.py; tests pass."
    assert out["session_id"] == "0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
    assert (out["input_tokens"], out["output_tokens"], out["cost_usd"]) == (2400, 210, None)
    assert out["tool_calls"] == 2
    called = _called(fake_env)
    assert called["argv"] == ["exec", "--json", "--model", "m1", "Fix the failing test in calc"]
    assert called["stdin_eof"] is True


async def test_gemini_stream_is_parsed(ws: Path, fake_env: Path, monkeypatch: Any) -> None:
    _use(monkeypatch, "gemini_success.jsonl")
    result = await _run(ws, "gemini")
    out = result.step("ca").output
    assert out["text"] == "Fixed the sign in add."  # streamed deltas joined
    assert (out["session_id"], out["model"]) == (
        "8c2d0e4f-5a6b-4c7d-9e8f-1a2b3c4d5e6f",
        "gemini-2.5-pro",
    )
    assert (out["input_tokens"], out["output_tokens"], out["tool_calls"]) == (1500, 150, 1)


@pytest.mark.parametrize(
    ("cli", "stream", "code", "message"),
    [
        ("claude", "claude_max_turns.jsonl", "1", "claude exit code 1 (error): error_max_turns"),
        ("claude", "claude_max_turns.jsonl", "0", "claude reported an error: error_max_turns"),
        ("codex", "codex_failed.jsonl", "1", "codex exit code 1 (error): stream disconnected"),
        ("gemini", "gemini_turn_limit.jsonl", "53", "exit code 53 (turn limit exceeded)"),
        ("gemini", "gemini_success.jsonl", "42", "exit code 42 (input error): gemini: stderr"),
        ("gemini", "gemini_success.jsonl", "-9", "gemini exit code 247"),
    ],
)
async def test_exit_codes_and_error_results_are_mapped(
    ws: Path, fake_env: Path, monkeypatch: Any, cli: str, stream: str, code: str, message: str
) -> None:
    _use(monkeypatch, stream, FAKE_CLI_EXIT=code)
    result = await _run(ws, cli)
    assert result.status == "failed"
    assert message in (result.error or "")


async def test_watchdog_kills_a_silent_cli_and_its_children(
    ws: Path, fake_env: Path, monkeypatch: Any
) -> None:
    _use(monkeypatch, "claude_success.jsonl", FAKE_CLI_HANG="60", FAKE_CLI_CHILD="1")
    start = time.monotonic()
    result = await _run(ws, "claude", idle=0.5)
    assert time.monotonic() - start < 15
    assert "no output for 0.5s; its process group was killed" in (result.error or "")
    child = _called(fake_env)["child"]
    for _ in range(50):
        if not alive(child):
            break
        await asyncio.sleep(0.05)
    assert not alive(child)


def _called(log: Path) -> dict[str, Any]:
    """What the fake CLI logged about its invocation."""
    data: dict[str, Any] = json.loads(log.read_text())
    return data


def _exists(path: Path) -> bool:
    return path.exists()


async def test_resume_passes_the_session_id(ws: Path, fake_env: Path, monkeypatch: Any) -> None:
    _use(monkeypatch, "codex_success.jsonl")
    text = """
    steps:
      - id: ca
        kind: coding_agent
        cli: codex
        prompt: go on
        resume: "th-1"
        args: ["--full-auto"]
    """
    result = await run_agent(text, ws, policy=TRUSTING)
    assert result.ok
    argv = _called(fake_env)["argv"]
    assert argv == ["exec", "--json", "--full-auto", "resume", "th-1", "go on"]


async def test_missing_executable_is_a_clear_error(ws: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    result = await _run(ws, "gemini")
    assert "gemini: cannot start 'gemini'" in (result.error or "")


async def test_refused_under_the_untrusted_policy(
    ws: Path, fake_env: Path, monkeypatch: Any
) -> None:
    from evopipe.spec.errors import SpecError

    _use(monkeypatch, "claude_success.jsonl")
    with pytest.raises(SpecError, match="refused under the untrusted policy"):
        await _run(ws, "claude", policy=Policy.untrusted())
    assert not _exists(fake_env)  # never started


async def test_real_clis_where_installed(ws: Path) -> None:
    """Smoke: the installed CLIs start and exit cleanly through the same process plumbing."""
    from evopipe.steps.coding_agent import run_cli

    installed = [name for name in ("claude", "codex", "gemini") if shutil.which(name)]
    if not installed:
        pytest.skip("none of claude, codex, gemini is installed on this machine")
    for name in installed:
        env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/")}
        outcome = await run_cli([name, "--version"], ws, env, 60, lambda event: None)
        assert outcome.exit_code == 0, (name, outcome.stderr)
        assert outcome.lines >= 1
