"""Confinement of the agent's tools: a generated corpus of hostile paths, commands, policy."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agents_helpers import alive, call, run_agent, scripted
from hypothesis import given, settings
from hypothesis import strategies as st

from evopipe.engine.policy import Policy
from evopipe.steps.agent.commands import allowed, network_isolation
from evopipe.steps.agent.files import ToolFailed
from evopipe.steps.agent.tools import Workbench, call_tool

SECRET = "TOPSECRET-do-not-leak"
ALL = ("list", "read", "grep", "write", "edit", "run")


def _tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    base = tmp_path_factory.mktemp("confine")
    outside, ws = base / "outside", base / "ws"
    outside.mkdir()
    ws.mkdir()
    (outside / "secret.txt").write_text(SECRET)
    (outside / "hard.txt").write_text(SECRET)
    (ws / "a.py").write_text("x = 1\n")
    (ws / "sub").mkdir()
    (ws / ".git").mkdir()
    (ws / ".git" / "config").write_text("[core]\n")
    (ws / "link_dir").symlink_to(outside)
    (ws / "link_file").symlink_to(outside / "secret.txt")
    (ws / "sub" / "up").symlink_to("../../outside")
    os.link(outside / "hard.txt", ws / "hard_link")
    return outside, ws


PARTS = [
    "..", ".", "a.py", "sub", "up", ".git", "config", "hooks", "link_dir", "link_file",
    "hard_link", "secret.txt", "hard.txt", "outside", "/etc", "/", "~", "\\..", "C:", "..\\..",
    ".evopipe-agent", "new.py", "", "%2e%2e", "\x00",
]  # fmt: skip


@st.composite
def hostile_path(draw: st.DrawFn) -> str:
    parts = draw(st.lists(st.sampled_from(PARTS), min_size=1, max_size=4))
    sep = draw(st.sampled_from(["/", "\\", "//"]))
    lead = draw(st.sampled_from(["", "/", "./", "../"]))
    return lead + sep.join(parts)


@settings(max_examples=400, deadline=None)
@given(tool=st.sampled_from(["list", "read", "grep", "write", "edit"]), path=hostile_path())
def test_no_path_escapes_the_workspace(sandbox: tuple[Path, Path], tool: str, path: str) -> None:
    outside, ws = sandbox
    before_out, before_git = _tree(outside), _tree(ws / ".git")
    wb = Workbench(ws, Policy.trusting(), (), 5.0)
    args: dict[str, Any] = {"path": path}
    if tool == "write":
        args["content"] = "pwned\n"
    elif tool == "edit":
        args.update(old=SECRET, new="pwned")
    elif tool == "grep":
        args["pattern"] = "TOPSECRET"
    try:
        text = asyncio.run(call_tool(wb, tool, args, ALL))
    except ToolFailed as exc:
        text = str(exc)
    assert SECRET not in text, f"{tool} {path!r} leaked: {text[:200]}"
    assert _tree(outside) == before_out, f"{tool} {path!r} changed a file outside"
    assert _tree(ws / ".git") == before_git, f"{tool} {path!r} wrote under .git"
    assert (ws / "link_dir").is_symlink()
    assert (ws / "link_file").is_symlink()


def test_refusals_name_the_reason(sandbox: tuple[Path, Path]) -> None:
    _, ws = sandbox
    wb = Workbench(ws, Policy.trusting(), (), 5.0)
    cases = {
        ("read", "../outside/secret.txt"): "'..'",
        ("read", "/etc/passwd"): "absolute",
        ("read", "link_file"): "outside the workspace",
        ("read", "hard_link"): "hard links",
        ("write", ".git/hooks/pre-commit"): "protected",
        ("list", ".evopipe-agent"): "protected",
    }
    for (tool, path), reason in cases.items():
        args = {"path": path, "content": "x"} if tool == "write" else {"path": path}
        with pytest.raises(ToolFailed, match=reason):
            asyncio.run(call_tool(wb, tool, args, ALL))
    # reading .git is fine (analysis), and ordinary files work
    assert "[core]" in asyncio.run(call_tool(wb, "read", {"path": ".git/config"}, ALL))


@pytest.mark.parametrize(
    ("argv", "ok"),
    [
        (["pytest"], True),
        (["pytest", "-q", "tests/test_a.py"], True),
        (["pytest-evil"], False),
        (["pytestx", "-q"], False),
        (["pytest", "/etc"], False),
        (["pytest", "../other"], False),
        (["pytest", "--rootdir=/"], False),
        (["pytest", "--rootdir=../.."], False),
        (["git", "diff"], True),
        (["git", "diff", "--stat"], True),
        (["git", "push"], False),
        (["rm", "-rf", "x"], False),
        (["sh", "-c", "pytest"], False),
    ],
)
def test_allowlist_patterns(argv: list[str], ok: bool) -> None:
    assert (allowed(argv, ["pytest *", "git diff*"]) is not None) is ok


def _bin_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:{os.environ['PATH']}")


async def test_command_outside_the_allowlist_never_starts(ws: Path) -> None:
    model = scripted(call("run", command="touch made"), call("finish", answer="x"))
    text = """
    steps:
      - {id: ag, kind: agent, task: t, tools: [run], commands: ["python -m pytest*"]}
    """
    result = await run_agent(text, ws, model)
    assert result.ok
    assert not (ws / "made").exists()
    observation = model.calls[1].messages[-1].content
    assert "not allowed" in observation
    assert "python -m pytest*" in observation


async def test_timeout_kills_the_whole_process_group(ws: Path, monkeypatch: Any) -> None:
    _bin_path(monkeypatch)
    code = (
        "import subprocess,time;"
        "p=subprocess.Popen(['sleep','60']);"
        "open('pid','w').write(str(p.pid));"
        "time.sleep(60)"
    )
    wb = Workbench(ws, Policy.trusting(), ("python -c *",), 1.0)
    start = time.monotonic()
    text = await call_tool(wb, "run", {"command": ["python", "-c", code]}, ALL)
    assert "timed out" in text
    assert time.monotonic() - start < 10
    pid = int((ws / "pid").read_text())
    for _ in range(50):
        if not alive(pid):
            break
        await asyncio.sleep(0.05)
    assert not alive(pid), "the grandchild survived"


@pytest.fixture
def loopback_server() -> Iterator[int]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(5)

    def serve() -> None:
        try:
            while True:
                conn, _ = server.accept()
                conn.close()
        except OSError:
            pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    server.shutdown(socket.SHUT_RDWR)  # wakes the accept (close alone waits for its timeout)
    server.close()
    thread.join(5)


async def test_commands_have_no_network_unless_the_policy_grants_it(
    ws: Path, monkeypatch: Any, loopback_server: int
) -> None:
    if await network_isolation() is None:
        pytest.skip("no working `unshare --net` here: agent commands are refused instead")
    _bin_path(monkeypatch)
    probe = f"import socket; socket.create_connection(('127.0.0.1', {loopback_server}), 2)"
    argv = {"command": ["python", "-c", probe]}
    prefix = await network_isolation()
    assert prefix is not None
    cut = Workbench(ws, Policy.trusting(), ("python -c *",), 10.0, prefix)
    text = await call_tool(cut, "run", argv, ALL)
    assert "[exit 1]" in text
    assert "Error" in text
    granted = Workbench(ws, Policy.trusting(agent_network=True), ("python -c *",), 10.0)
    assert "[exit 0]" in await call_tool(granted, "run", argv, ALL)


@pytest.mark.parametrize("tools", ["[read, write]", "[edit]", "[run]"])
async def test_untrusted_pipelines_with_write_or_command_tools_are_refused_before_running(
    ws: Path, tools: str
) -> None:
    from evopipe.spec.errors import SpecError

    model = scripted(call("finish", answer="x"))
    text = f"""
    steps:
      - {{id: ag, kind: agent, task: t, tools: {tools}, commands: ["pytest *"]}}
    """
    with pytest.raises(SpecError, match="unsafe-agent-tools"):
        await run_agent(text, ws, model, policy=Policy.untrusted())
    assert model.calls == []


@pytest.mark.parametrize(
    ("tools", "policy", "message"),
    [
        (["read", "write"], Policy.untrusted(), "not allowed in an untrusted pipeline"),
        (["edit"], Policy.untrusted(), "not allowed in an untrusted pipeline"),
        (["run"], Policy.untrusted(), "not allowed in an untrusted pipeline"),
        (["run"], Policy.trusting(shell_allowed=False), "shell steps are disabled"),
        (["run"], Policy.trusting(), "needs a non-empty `commands` allowlist"),
    ],
)
def test_the_kind_gates_tools_at_run_time_too(
    tools: list[str], policy: Policy, message: str
) -> None:
    from evopipe.engine.policy import PolicyError
    from evopipe.steps.agent.tools import check_gates

    commands = [] if "allowlist" in message else ["pytest *"]
    with pytest.raises(PolicyError, match=message):
        check_gates("ag", tools, policy, commands)


async def test_shell_disabled_policy_fails_the_step_before_any_call(ws: Path) -> None:
    model = scripted(call("finish", answer="x"))
    text = """
    steps:
      - {id: ag, kind: agent, task: t, tools: [run], commands: ["pytest *"]}
    """
    result = await run_agent(text, ws, model, policy=Policy.trusting(shell_allowed=False))
    assert result.status == "failed"
    assert "shell steps are disabled" in (result.error or "")
    assert model.calls == []


async def test_read_only_agent_runs_under_the_untrusted_policy(ws: Path) -> None:
    model = scripted(call("read", path="a.py"), call("finish", answer="x is 1"))
    text = "steps:\n  - {id: ag, kind: agent, task: t}\n"
    result = await run_agent(text, ws, model, policy=Policy.untrusted())
    assert result.ok
    assert result.step("ag").output["answer"] == "x is 1"


async def test_commands_write_no_python_bytecode(tmp_path: Path) -> None:
    """An edit in the same second as the last run, to a same-sized file, must not run a stale
    ``.pyc``: the agent's commands run with ``PYTHONDONTWRITEBYTECODE``."""
    from evopipe.engine.policy import Policy
    from evopipe.steps.agent.commands import run_command

    argv = [sys.executable, "-c", "import sys; print(sys.dont_write_bytecode)"]
    res = await run_command(argv, cwd=tmp_path, policy=Policy.trusting(), timeout_s=60, prefix=())
    assert res.exit_code == 0, res.observation()
    assert "True" in res.observation()
