"""``shell``: run a program with an argument list in the run's workspace.

Never a shell string: ``command`` is an argv list passed to ``asyncio.create_subprocess_exec``,
each element rendered as a template on its own, so data can never become shell syntax.
Allowed only under a trusting policy with ``shell_allowed``.

The child process:

- runs with ``cwd`` = the run's workspace, in a new session (its own process group);
- gets a scrubbed environment: ``PATH`` and ``LANG`` from ours, the names the policy lists in
  ``env_passthrough``, the step's own ``env`` (templates), plus ``EVOPIPE_RUN_ID`` and
  ``EVOPIPE_IDEMPOTENCY_KEY`` — nothing else, so API keys in our environment never leak;
- is killed with its whole process group on timeout (``timeout_s``), on cancellation and when
  stdout or stderr exceeds the policy's ``max_output_bytes`` (the step then fails naming it).

Output: ``{"exit_code", "stdout", "stderr"}``; a non-zero exit code fails the step.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from evopipe.engine.policy import BASE_ENV, Policy
from evopipe.spec.kinds import ShellStep
from evopipe.steps.base import StepContext, StepFailed, StepResult

kind = "shell"
config_model = ShellStep

_CHUNK = 65536
_REAP_TIMEOUT_S = 5.0


class TooMuchOutput(Exception):
    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.stream = stream


def scrubbed_env(
    policy: Policy, step_env: Mapping[str, str], extra: Mapping[str, str]
) -> dict[str, str]:
    """The child's whole environment: base names + passthrough names + the step's own."""
    env = {name: os.environ[name] for name in BASE_ENV if name in os.environ}
    env.update({n: os.environ[n] for n in sorted(policy.env_passthrough) if n in os.environ})
    env.update(step_env)
    env.update(extra)
    return env


def _scalar_arg(ctx: StepContext, value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise StepFailed(
            ctx.step_id, f"{where} must render to a string or number, got {type(value).__name__}"
        )
    return str(value)


async def run(ctx: StepContext, config: ShellStep) -> StepResult:
    ctx.policy.check_shell(ctx.step_id)
    argv = [
        _scalar_arg(ctx, ctx.render(a, where=f"command[{i}]"), f"command[{i}]")
        for i, a in enumerate(config.command)
    ]
    step_env = {
        k: _scalar_arg(ctx, ctx.render(v, where=f"env.{k}"), f"env.{k}")
        for k, v in config.env.items()
    }
    stdin = None if config.stdin is None else str(ctx.render(config.stdin, where="stdin"))
    extra = {"EVOPIPE_RUN_ID": ctx.run_id, "EVOPIPE_IDEMPOTENCY_KEY": ctx.idempotency_key}
    env = scrubbed_env(ctx.policy, step_env, extra)
    cap = ctx.policy.max_output_bytes
    try:
        proc = await spawn(argv, cwd=ctx.workspace, env=env, stdin_pipe=stdin is not None)
    except (FileNotFoundError, PermissionError, NotADirectoryError) as exc:
        raise StepFailed(ctx.step_id, f"cannot start {argv[0]!r}: {exc.strerror}") from None
    try:
        exit_code, out, err = await asyncio.wait_for(
            communicate(proc, stdin, cap), timeout=config.timeout_s
        )
    except TimeoutError:
        raise StepFailed(
            ctx.step_id, f"timed out after {config.timeout_s}s; its process group was killed"
        ) from None
    except TooMuchOutput as exc:
        raise StepFailed(
            ctx.step_id,
            f"{exc.stream} exceeded the policy's max_output_bytes={cap}; "
            "its process group was killed",
        ) from None
    finally:
        await kill_group(proc)
    stderr = err.decode("utf-8", errors="replace")
    output = {
        "exit_code": exit_code,
        "stdout": out.decode("utf-8", errors="replace"),
        "stderr": stderr,
    }
    if exit_code != 0:
        tail = stderr[-500:].strip()
        raise StepFailed(
            ctx.step_id,
            f"{argv[0]!r} exited with code {exit_code}" + (f": {tail}" if tail else ""),
        )
    return StepResult(output=output)


async def spawn(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    stdin_pipe: bool = False,
    limit: int = 2**16,  # asyncio's default line limit
) -> asyncio.subprocess.Process:
    """Start ``argv`` in a new session (its own process group, which :func:`kill_group`
    kills), stdout and stderr piped, stdin piped or closed; ``OSError`` if it cannot start."""
    return await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.PIPE if stdin_pipe else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
        limit=limit,
    )


async def communicate(
    proc: asyncio.subprocess.Process, stdin: str | None, cap: int
) -> tuple[int, bytes, bytes]:
    assert proc.stdout is not None
    assert proc.stderr is not None

    async def feed() -> None:
        if proc.stdin is None:
            return
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            if stdin:
                proc.stdin.write(stdin.encode("utf-8"))
                await proc.stdin.drain()
            proc.stdin.close()

    async def read(stream: asyncio.StreamReader, name: str) -> bytes:
        buf = bytearray()
        while chunk := await stream.read(_CHUNK):
            buf += chunk
            if len(buf) > cap:
                raise TooMuchOutput(name)
        return bytes(buf)

    _, out, err = await asyncio.gather(
        feed(), read(proc.stdout, "stdout"), read(proc.stderr, "stderr")
    )
    return await proc.wait(), out, err


async def kill_group(proc: asyncio.subprocess.Process) -> None:
    """Kill the child's process group (grandchildren included) unless all have exited."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        # bounded: a child stuck in uninterruptible sleep must not hang the run
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), _REAP_TIMEOUT_S)
    # close the pipes now: after an early stop (output cap, timeout) nothing reads them to EOF,
    # and an unclosed pipe transport would linger until garbage collection
    transport = getattr(proc, "_transport", None)
    if transport is not None:
        transport.close()
