"""``coding_agent``: drive a coding-agent CLI (Claude Code, Codex, Gemini CLI) headless.

The CLI runs in the run's workspace, in its own process group, with the scrubbed environment of
``shell`` steps plus ``HOME`` (where the CLIs keep their login) and the policy's
``env_passthrough`` names (e.g. ``ANTHROPIC_API_KEY``). Its stdin is a pipe closed at once, so
a CLI that waits for input sees end-of-file instead of hanging. Its JSON event stream is read
line by line by the CLI's adapter (:mod:`.claude`, :mod:`.codex`, :mod:`.gemini`); a watchdog
kills the process group when no line arrives for ``idle_timeout_s``; ``timeout_s`` and
cancellation kill it too. Refused under the untrusted policy (the CLI acts on its own)::

    - id: fix
      kind: coding_agent
      cli: claude
      prompt: "Make the failing test pass."
      idle_timeout_s: 120

Output: ``{cli, text, session_id, input_tokens, output_tokens, cost_usd, num_turns,
tool_calls, model, exit_code}``; a non-zero exit code (named per CLI: Gemini's 42 is an input
error, 53 the turn limit), an error result, or silence fails the step. The CLI's token usage
and cost are added to the run's totals.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from evopipe.models.base import Usage
from evopipe.spec.kinds import CodingAgentStep
from evopipe.steps.base import StepContext, StepFailed, StepResult
from evopipe.steps.coding_agent import claude, codex, gemini
from evopipe.steps.coding_agent.base import CliAdapter, CliCall, CliResult
from evopipe.steps.shell import kill_group, scrubbed_env, spawn

kind = "coding_agent"
config_model = CodingAgentStep

CLIS: dict[str, CliAdapter] = {m.NAME: m for m in (claude, codex, gemini)}
"""CLI name → adapter module."""

_LINE_LIMIT = 32 * 1024 * 1024
_STDERR_TAIL = 4000


async def run(ctx: StepContext, config: CodingAgentStep) -> StepResult:
    ctx.policy.check_shell(ctx.step_id)
    adapter = CLIS[config.cli]
    call = CliCall(
        executable=config.executable or adapter.NAME,
        prompt=_text(ctx.render(config.prompt, where="prompt")),
        model=config.cli_model,
        resume=_text(ctx.render(config.resume, where="resume")) if config.resume else None,
        extra=tuple(_text(ctx.render(a, where=f"args[{i}]")) for i, a in enumerate(config.args)),
    )
    env = scrubbed_env(
        ctx.policy,
        {k: _text(ctx.render(v, where=f"env.{k}")) for k, v in config.env.items()},
        {"EVOPIPE_RUN_ID": ctx.run_id, **_home()},
    )
    reader = adapter.reader()
    outcome = await run_cli(
        adapter.argv(call), ctx.workspace, env, config.idle_timeout_s, reader.feed
    )
    result = reader.result()
    _check(ctx, config, adapter, outcome, result)
    output = {
        "cli": adapter.NAME,
        **{k: v for k, v in asdict(result).items() if k not in ("error", "extra")},
        "exit_code": outcome.exit_code,
    }
    usage = Usage(result.input_tokens, result.output_tokens)
    return StepResult(output=output, usage=usage, cost_usd=result.cost_usd or 0.0)


def _home() -> dict[str, str]:
    return {"HOME": os.environ["HOME"]} if "HOME" in os.environ else {}


def _text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


class Outcome:
    __slots__ = ("exit_code", "idle", "lines", "start_error", "stderr")

    def __init__(self) -> None:
        self.exit_code: int | None = None
        self.idle = False
        self.lines = 0
        self.stderr = ""
        self.start_error: str | None = None


async def run_cli(
    argv: list[str],
    cwd: Path,
    env: dict[str, str],
    idle_timeout_s: float,
    on_event: Callable[[dict[str, object]], None],
) -> Outcome:
    """Run ``argv`` with stdin closed; feed each JSON line of stdout to ``on_event``."""
    outcome = Outcome()
    try:
        proc = await spawn(argv, cwd=cwd, env=env, stdin_pipe=True, limit=_LINE_LIMIT)
    except OSError as exc:
        outcome.start_error = f"cannot start {argv[0]!r}: {exc.strerror}"
        return outcome
    assert proc.stdin is not None
    assert proc.stdout is not None
    assert proc.stderr is not None
    proc.stdin.close()  # piped and closed: the CLI never waits for input
    errors = asyncio.ensure_future(_tail(proc.stderr))
    try:
        while True:
            try:
                line = await asyncio.wait_for(proc.stdout.readline(), idle_timeout_s)
            except TimeoutError:
                outcome.idle = True
                break
            if not line:
                break
            outcome.lines += 1
            event = _event(line)
            if event is not None:
                on_event(event)
        if not outcome.idle:
            outcome.exit_code = await proc.wait()
    finally:
        await kill_group(proc)
        done, _ = await asyncio.wait({errors}, timeout=1.0)
        if not done:
            errors.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            outcome.stderr = await errors
    return outcome


def _event(line: bytes) -> dict[str, object] | None:
    try:
        value = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None  # banners and log lines are not events
    return value if isinstance(value, dict) else None


async def _tail(stream: asyncio.StreamReader) -> str:
    buf = b""
    try:
        while chunk := await stream.read(65536):
            buf = (buf + chunk)[-_STDERR_TAIL:]
    except asyncio.CancelledError:
        pass
    return buf.decode("utf-8", "replace")


def _check(
    ctx: StepContext,
    config: CodingAgentStep,
    adapter: CliAdapter,
    outcome: Outcome,
    result: CliResult,
) -> None:
    name = adapter.NAME
    if outcome.start_error is not None:
        raise StepFailed(ctx.step_id, f"{name}: {outcome.start_error}")
    if outcome.idle:
        raise StepFailed(
            ctx.step_id,
            f"{name}: no output for {config.idle_timeout_s:g}s; its process group was killed",
        )
    code = outcome.exit_code or 0
    if code == 0 and result.error is None:
        return
    if code < 0:
        meaning = f"killed by signal {-code}"
    elif code:
        meaning = f"exit code {code}" + (
            f" ({adapter.EXIT_CODES[code]})" if code in adapter.EXIT_CODES else ""
        )
    else:
        meaning = "reported an error"
    detail = result.error or outcome.stderr.strip()[-500:]
    raise StepFailed(ctx.step_id, f"{name} {meaning}" + (f": {detail}" if detail else ""))
