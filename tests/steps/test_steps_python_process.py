"""``python`` steps under ``python_process``: a plain function runs in a child process that is
killed when the step times out, so nothing keeps running after it (a thread would)."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import pytest

from evopipe.engine.policy import Policy
from evopipe.spec.kinds import PythonStep
from evopipe.steps import python
from evopipe.steps.base import StepFailed

FUNCS = "python_funcs"


def _allow(ctx: Any, name: str, *, process: bool = True) -> PythonStep:
    ctx.policy = ctx.policy.replace(
        python_allow=frozenset({f"{FUNCS}:{name}"}), python_process=process
    )
    return PythonStep(id="p", function=f"{FUNCS}:{name}", args={})


async def test_a_plain_function_runs_in_another_process_and_its_result_comes_back(
    trusted_ctx: Any,
) -> None:
    config = _allow(trusted_ctx, "add").model_copy(update={"args": {"a": 2, "b": 3}})
    output = (await python.run(trusted_ctx, config)).output
    assert output["sum"] == 5
    assert output["pid"] != os.getpid()


def _cancelled_mid_call(ctx: Any, config: PythonStep, marker: Path) -> None:
    """Start the step, cancel it (what the engine's step timeout does) once the function is
    running, and wait for the step to end."""

    async def go() -> None:
        task = asyncio.ensure_future(python.run(ctx, config))
        started = Path(str(marker) + ".started")
        async with asyncio.timeout(30):
            while not await asyncio.to_thread(started.exists):  # noqa: ASYNC110 - a file, not an event
                await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(go())


def test_a_cancelled_call_is_killed_and_does_not_run_on(trusted_ctx: Any, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    config = _allow(trusted_ctx, "slow").model_copy(
        update={"args": {"seconds": 1.0, "marker": str(marker)}}
    )
    _cancelled_mid_call(trusted_ctx, config, marker)
    child = int(Path(str(marker) + ".started").read_text())
    with pytest.raises(ProcessLookupError):  # gone once the step has ended
        os.kill(child, 0)
    time.sleep(1.5)  # longer than the function would have taken
    assert not marker.exists()


def test_a_thread_runs_on_after_its_step_is_cancelled(trusted_ctx: Any, tmp_path: Path) -> None:
    """Why the option exists: the default (a worker thread) cannot be stopped."""
    marker = tmp_path / "marker"
    config = _allow(trusted_ctx, "slow", process=False).model_copy(
        update={"args": {"seconds": 0.3, "marker": str(marker)}}
    )
    _cancelled_mid_call(trusted_ctx, config, marker)
    time.sleep(0.8)
    assert marker.read_text() == "finished"


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("boom", "python_funcs:boom raised ValueError: no such customer"),
        ("unsendable", "the result of python_funcs:unsendable cannot be sent back"),
        ("vanish", "the process calling python_funcs:vanish died \\(exit code 3\\)"),
    ],
)
async def test_what_goes_wrong_in_the_child_fails_the_step_naming_it(
    trusted_ctx: Any, name: str, error: str
) -> None:
    with pytest.raises(StepFailed, match=error):
        await python.run(trusted_ctx, _allow(trusted_ctx, name))


def test_the_config_file_turns_it_on_only_for_a_trusting_policy() -> None:
    section = {"python_process": True, "python_allow": ["x:y"]}
    assert Policy.from_config(section, trust=True).python_process
    assert not Policy.from_config(section).python_process
    assert not Policy.from_config({"python_allow": ["x:y"]}, trust=True).python_process
