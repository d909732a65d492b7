"""The agent's ``run`` tool: allowlisted commands, each with a timeout, its process group killed.

A command is an argv list (``shlex`` split, never a shell). It runs only if it matches a pattern
of the step's ``commands`` allowlist — checked **before** anything starts:

- the program (first word) must equal the pattern's first word (before any glob character),
  so ``pytest *`` never admits ``pytest-evil``;
- the whole command line (``shlex.join``) must match the pattern with ``fnmatch`` (``*``
  matches anything; ``pytest *`` also admits a bare ``pytest``);
- no argument may be an absolute path or contain a ``..`` component (also after ``=``), so an
  allowed program cannot be pointed outside the workspace.

The child runs in the working directory with the scrubbed environment of ``shell`` steps, stdin
closed, in its own session; on timeout its whole process group is killed. Python writes no
bytecode there (``PYTHONDONTWRITEBYTECODE``): an edit made in the same second as the last run,
to a file of the same size, would otherwise run the stale ``.pyc``. Unless the policy
grants ``agent_network``, it runs in a new network namespace (``unshare --net``); when this
machine cannot do that, commands are refused rather than run with network.
"""

from __future__ import annotations

import asyncio
import fnmatch
import os
import re
import shlex
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from evopipe.engine.policy import Policy
from evopipe.steps.agent.files import ToolFailed
from evopipe.steps.shell import TooMuchOutput, communicate, kill_group, scrubbed_env, spawn

_GLOB = re.compile(r"[*?\[]")
MAX_OBSERVED = 8000


@dataclass(frozen=True, slots=True)
class CommandResult:
    argv: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str
    timed_out: bool = False

    def observation(self) -> str:
        status = "timed out (process group killed)" if self.timed_out else f"exit {self.exit_code}"
        body = (self.stdout + ("\n[stderr]\n" + self.stderr if self.stderr.strip() else "")).strip()
        if len(body) > MAX_OBSERVED:
            body = "[... earlier output cut]\n" + body[-MAX_OBSERVED:]
        return f"$ {shlex.join(self.argv)}\n[{status}]\n{body}"


def parse_command(command: str | Sequence[str]) -> list[str]:
    if isinstance(command, str):
        try:
            argv = shlex.split(command)
        except ValueError as exc:
            raise ToolFailed(f"cannot parse command {command!r}: {exc}") from None
    elif all(isinstance(a, str) for a in command):
        argv = list(command)
    else:
        raise ToolFailed("command must be a string or a list of strings")
    if not argv:
        raise ToolFailed("empty command")
    return argv


def allowed(argv: Sequence[str], patterns: Sequence[str]) -> str | None:
    """The first pattern admitting ``argv``, or None."""
    if any(_escapes(arg) for arg in argv[1:]):
        return None
    line = shlex.join(argv)
    for pattern in patterns:
        words = pattern.split()
        if not words:
            continue
        program = _GLOB.split(words[0], maxsplit=1)[0]
        if argv[0] != program:
            continue
        if fnmatch.fnmatchcase(line, pattern) or fnmatch.fnmatchcase(line + " ", pattern):
            return pattern
    return None


def _escapes(arg: str) -> bool:
    for part in (arg, *arg.split("=")[1:]):
        if part.startswith(("/", "~", "\\")) or ".." in re.split(r"[/\\]", part):
            return True
    return False


def check_allowed(argv: Sequence[str], patterns: Sequence[str]) -> None:
    if allowed(argv, patterns) is None:
        listed = ", ".join(repr(p) for p in patterns) or "none"
        raise ToolFailed(f"command {shlex.join(argv)!r} is not allowed (allowlist: {listed})")


async def network_isolation() -> list[str] | None:
    """The argv prefix that cuts a child off the network here, or None if none works."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return None
    prefix = [unshare, "--net"] if os.geteuid() == 0 else [unshare, "--map-root-user", "--net"]
    try:
        proc = await asyncio.create_subprocess_exec(
            *prefix,
            "true",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        code = await asyncio.wait_for(proc.wait(), 10)
    except (OSError, TimeoutError):
        return None
    return [*prefix, "--"] if code == 0 else None


async def run_command(
    argv: Sequence[str],
    *,
    cwd: Path,
    policy: Policy,
    timeout_s: float,
    prefix: Sequence[str] = (),
    extra_env: dict[str, str] | None = None,
) -> CommandResult:
    """Run ``argv`` (already allowed) in ``cwd``; never raises for a non-zero exit."""
    env = scrubbed_env(policy, {}, extra_env or {})
    env.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    try:
        proc = await spawn([*prefix, *argv], cwd=cwd, env=env)
    except OSError as exc:
        raise ToolFailed(f"cannot start {argv[0]!r}: {exc.strerror}") from None
    try:
        code, out, err = await asyncio.wait_for(
            communicate(proc, None, policy.max_output_bytes), timeout_s
        )
    except TimeoutError:
        return CommandResult(tuple(argv), -9, "", "", timed_out=True)
    except TooMuchOutput as exc:
        raise ToolFailed(f"{exc.stream} exceeded {policy.max_output_bytes} bytes; killed") from None
    finally:
        await kill_group(proc)
    text = (out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))
    return CommandResult(tuple(argv), code, *text)
