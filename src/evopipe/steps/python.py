"""``python``: call an allowlisted Python function ``package.module:function``.

Refused unless the run's policy is trusting *and* lists the exact dotted name in
``python_allow`` (generated and evolved pipelines never get here). ``args`` are templates,
rendered and passed as keyword arguments. A coroutine function is awaited; a plain function runs
in a worker thread so it does not stall the scheduler — or, with the policy's
``python_process``, in a child process (forked from a forkserver) that is killed when the step
times out or is cancelled (a thread cannot be stopped: it runs on until the function returns).
The result must be JSON-serialisable (it goes to the journal) and no larger than the policy's
``max_output_bytes``.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import multiprocessing
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from evopipe.spec.errors import EvopipeError
from evopipe.spec.kinds import PythonStep
from evopipe.steps.base import StepContext, StepFailed, StepResult

kind = "python"
config_model = PythonStep


def resolve_function(step_id: str, dotted: str) -> Callable[..., Any]:
    """Import ``pkg.mod:func`` and return the callable (StepFailed if it is not one)."""
    module_name, _, attr = dotted.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise StepFailed(step_id, f"cannot import module {module_name!r}: {exc}") from None
    fn = getattr(module, attr, None)
    if fn is None or not callable(fn):
        raise StepFailed(step_id, f"{dotted!r} is not a callable in {module_name!r}")
    return fn  # type: ignore[no-any-return]


def to_json_value(step_id: str, value: Any, max_bytes: int) -> Any:
    """Round-trip ``value`` through JSON (tuples become lists); refuse what JSON cannot hold."""
    if isinstance(value, (str, bytes, list, dict)) and len(value) > max_bytes:
        raise StepFailed(
            step_id,
            f"the result has {len(value)} elements, over the policy's max_output_bytes={max_bytes}",
        )
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise StepFailed(step_id, f"the result is not JSON-serialisable: {exc}") from None
    if len(text) > max_bytes:
        raise StepFailed(
            step_id,
            f"the result is {len(text)} bytes of JSON, over the policy's "
            f"max_output_bytes={max_bytes}",
        )
    return json.loads(text)


async def run(ctx: StepContext, config: PythonStep) -> StepResult:
    ctx.policy.check_python(ctx.step_id, config.function)
    fn = resolve_function(ctx.step_id, config.function)
    kwargs = ctx.render(config.args, where="args")
    if not isinstance(kwargs, dict):
        raise StepFailed(ctx.step_id, "python args must render to a mapping")
    try:
        if inspect.iscoroutinefunction(fn):
            result = await fn(**kwargs)
        elif ctx.policy.python_process:
            result = await in_child_process(ctx.step_id, config.function, kwargs)
        else:
            result = await asyncio.to_thread(fn, **kwargs)
            if inspect.isawaitable(result):
                result = await result
    except (EvopipeError, asyncio.CancelledError):
        raise
    except Exception as exc:
        raise StepFailed(
            ctx.step_id, f"{config.function} raised {type(exc).__name__}: {exc}"
        ) from exc
    return StepResult(output=to_json_value(ctx.step_id, result, ctx.policy.max_output_bytes))


_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload([__name__])


async def in_child_process(step_id: str, dotted: str, kwargs: dict[str, Any]) -> Any:
    """Call ``dotted(**kwargs)`` in a child process and return its result; cancelling the
    call (the step's timeout) kills the child."""
    receiver, sender = _CONTEXT.Pipe(duplex=False)
    child = _CONTEXT.Process(target=_call_and_send, args=(dotted, kwargs, sender), daemon=True)
    child.start()
    sender.close()
    loop = asyncio.get_running_loop()
    readable: asyncio.Future[None] = loop.create_future()

    def answered() -> None:
        if not readable.done():
            readable.set_result(None)

    loop.add_reader(receiver.fileno(), answered)
    try:
        await readable
        try:
            ok, value = receiver.recv()
        except EOFError:  # it died without answering (killed, out of memory, os._exit)
            child.join(5)
            raise StepFailed(
                step_id, f"the process calling {dotted} died (exit code {child.exitcode})"
            ) from None
    finally:
        loop.remove_reader(receiver.fileno())
        receiver.close()
        if child.is_alive():
            child.kill()
        child.join(5)
    if not ok:
        raise StepFailed(step_id, value)
    return value


def _call_and_send(dotted: str, kwargs: dict[str, Any], sender: Connection) -> None:
    """In the child: call, then send ``(True, result)`` or ``(False, what went wrong)``."""
    try:
        result = resolve_function("python", dotted)(**kwargs)
        answer: tuple[bool, Any] = (True, result)
    except BaseException as exc:
        answer = (False, f"{dotted} raised {type(exc).__name__}: {exc}")
    try:
        sender.send(answer)
    except Exception as exc:
        sender.send((False, f"the result of {dotted} cannot be sent back: {exc}"))
    finally:
        sender.close()
