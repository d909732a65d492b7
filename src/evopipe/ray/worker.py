"""The far side of the Ray executor: a step worker (an async Ray actor) runs step kinds.

A :class:`StepWorker` runs many steps at once (it is an async actor: I/O-bound model steps
cost a coroutine, not a process). Each step arrives as a :class:`~evopipe.engine.executor.
StepCall` and runs with a :class:`RemoteContext`: the data comes from the call; what must
stay with the run owner — model calls (budgets, the response cache, usage), sub-pipelines,
inner scopes, events — is sent back through the call's *outbox*, which the owner drains with
:meth:`StepWorker.take` and answers with :meth:`StepWorker.answer`. So Ray moves the work,
and the run owner keeps the budgets, the cache and the journal.

This module imports no Ray: the executor wraps :class:`StepWorker` with ``ray.remote``.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import pickle
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from evopipe.engine.executor import CallContext, StepCall, plain_result
from evopipe.engine.templates import Renderer
from evopipe.models.base import ModelRequest, ModelResponse, RetryableModelError
from evopipe.spec.errors import EvopipeError
from evopipe.spec.pipeline import Pipeline
from evopipe.steps.base import ScopeResult, StepResult

Request = tuple[int | None, str, tuple[Any, ...], dict[str, Any]]
"""``(request id, operation, args, kwargs)``; the id is None for ``emit`` (no answer)."""

Outcome = tuple[Literal["ok", "error", "missing"], Any]
"""What a step attempt returns across the wire: its result, the exception it raised, or the
key of a pipeline this worker does not hold."""

Shipped = tuple[str, "Pipeline | None"]
"""A step's pipeline travels once per worker: ``(key, pipeline)`` the first time, then
``(key, None)`` (a pipeline of many steps costs milliseconds to pickle)."""

PIPELINES_KEPT = 64
"""Pipelines a worker keeps (oldest dropped first)."""

END = None
"""Put in a call's outbox when the step is over (the owner stops draining it)."""


class RemoteStepError(EvopipeError):
    """An exception from the far side that does not pickle, shipped as its message;
    ``error_type`` keeps the original class name for the journal."""

    def __init__(self, message: str, error_type: str = "RemoteStepError") -> None:
        super().__init__(message)
        self.error_type = error_type

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self), self.error_type))


class RemoteRetryableError(RetryableModelError):
    """A retryable model error that did not pickle as itself (still retried by the engine)."""

    def __init__(self, message: str, error_type: str = "RetryableModelError") -> None:
        super().__init__(message)
        self.error_type = error_type

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self), self.error_type))


def portable_error(exc: BaseException) -> BaseException:
    """``exc`` if it survives a pickle round trip, else a stand-in with its message and type
    name (kept retryable when it was)."""
    try:
        back = pickle.loads(pickle.dumps(exc))
        if type(back) is type(exc) and str(back) == str(exc):
            return exc
    except Exception:
        pass
    name = getattr(exc, "error_type", None) or type(exc).__name__
    if isinstance(exc, RetryableModelError):
        return RemoteRetryableError(str(exc), name)
    message = str(exc) if isinstance(exc, EvopipeError) else f"{type(exc).__name__}: {exc}"
    return RemoteStepError(message, name)


@dataclass(frozen=True, slots=True)
class WorkerServices:
    """The kind-facing services on a worker: a renderer of its own, the run's plain
    settings; no hooks (live objects stay with the owner) and no model hub (model calls go
    through :meth:`RemoteContext.complete`)."""

    renderer: Renderer
    settings: Mapping[str, Any] = field(default_factory=dict)
    hooks: Mapping[str, Any] = field(default_factory=dict)

    @property
    def models(self) -> Any:
        raise EvopipeError(
            "a step running on a Ray worker has no model hub: call ctx.complete(...) "
            "(the run owner makes the call, with its budgets and cache)"
        )


class Outbox:
    """One step attempt's requests to the owner, and the answers waited for."""

    def __init__(self, worker: StepWorker, call_id: str) -> None:
        self.worker = worker
        self.call_id = call_id

    def emit(self, type: str, **data: Any) -> None:
        self.worker.queue(self.call_id).put_nowait((None, "emit", (type,), data))

    async def ask(self, op: str, *args: Any, **kwargs: Any) -> Any:
        return await self.worker.ask(self.call_id, op, args, kwargs)

    async def complete(
        self, request: ModelRequest, *, model_id: str | None = None, cache: bool | None = None
    ) -> ModelResponse:
        response: ModelResponse = await self.ask(
            "complete", request, model_id=model_id, cache=cache
        )
        return response

    async def run_pipeline(self, pipeline: Any, inputs: Mapping[str, Any], **kw: Any) -> Any:
        return await self.ask("run_pipeline", pipeline, dict(inputs), **kw)

    async def run_steps(
        self, steps: Sequence[Any], extra_namespace: Mapping[str, Any], **kw: Any
    ) -> ScopeResult:
        result: ScopeResult = await self.ask("run_steps", list(steps), dict(extra_namespace), **kw)
        return result


class RemoteContext(CallContext):
    """A step context on a worker: data from the :class:`StepCall`, everything else through
    the call's :class:`Outbox`."""

    def __init__(self, call: StepCall, outbox: Outbox, services: WorkerServices, workspace: str):
        self.call = call
        self.complete = outbox.complete
        self.run_pipeline = outbox.run_pipeline
        self.run_steps = outbox.run_steps
        self.emit = outbox.emit
        self._services = services
        self._workspace = workspace

    @property
    def services(self) -> WorkerServices:
        return self._services

    @property
    def workspace(self) -> Path:
        """The run's workspace path, created on this node if missing (a shared volume on a
        multi-node cluster, see docs/ray.md)."""
        if not self._workspace:
            raise EvopipeError(
                f"step {self.step_id!r}: a pure kind gets no workspace on a Ray worker "
                "(declare side_effects in its kind_info)"
            )
        path = Path(self._workspace)
        path.mkdir(parents=True, exist_ok=True)
        return path


class StepWorker:
    """An async actor running step attempts (``ray.remote`` is applied by the executor)."""

    def __init__(self) -> None:
        self._queues: dict[str, asyncio.Queue[Request | None]] = {}
        self._waiting: dict[int, asyncio.Future[Any]] = {}
        self._ids = itertools.count(1)
        self._active: set[str] = set()
        self._pipelines: dict[str, Pipeline] = {}
        self.received = 0
        """Pipelines received so far (each is sent once per worker, unless forgotten)."""
        self._renderer = Renderer()

    def where(self) -> tuple[str, int]:
        """This worker's Ray node id and process id (for operators, and the tests that kill
        it)."""
        import ray

        return str(ray.get_runtime_context().get_node_id()), os.getpid()

    def queue(self, call_id: str) -> asyncio.Queue[Request | None]:
        box = self._queues.get(call_id)
        if box is None:
            box = self._queues[call_id] = asyncio.Queue()
        return box

    async def run(self, call: StepCall, call_id: str, workspace: str, shipped: Shipped) -> Outcome:
        """Run one step attempt; returns ``("ok", StepResult)`` or ``("error", exception)``
        (so that an error of the step is the step's, never a reason for Ray to retry), or
        ``("missing", key)`` when the call's pipeline is not cached here (a restarted
        actor): the owner sends it again, with the pipeline."""
        from evopipe.steps import get_kind

        key, pipeline = shipped
        if pipeline is not None:
            if len(self._pipelines) >= PIPELINES_KEPT:
                self._pipelines.pop(next(iter(self._pipelines)))
            self._pipelines[key] = pipeline
            self.received += 1
        pipeline = self._pipelines.get(key)
        if pipeline is None:
            self.queue(call_id).put_nowait(END)
            return "missing", key
        call = replace(call, run=replace(call.run, pipeline=pipeline))
        services = WorkerServices(self._renderer, call.run.settings)
        ctx = RemoteContext(call, Outbox(self, call_id), services, workspace)
        self._active.add(call_id)
        try:
            result: StepResult = await get_kind(call.kind).run(ctx, call.config)
            return "ok", plain_result(result)
        except Exception as exc:
            return "error", portable_error(exc)
        finally:
            self._active.discard(call_id)
            self.queue(call_id).put_nowait(END)

    async def ask(
        self, call_id: str, op: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        req_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting[req_id] = future
        self.queue(call_id).put_nowait((req_id, op, args, kwargs))
        try:
            return await future
        finally:
            self._waiting.pop(req_id, None)

    async def take(self, call_id: str, timeout_s: float) -> tuple[list[Request], bool]:
        """The call's pending requests (waits up to ``timeout_s`` for the first) and whether
        the step is over."""
        box = self.queue(call_id)
        try:
            first = await asyncio.wait_for(box.get(), timeout_s)
        except TimeoutError:
            if call_id not in self._active and box.empty():
                self._queues.pop(call_id, None)  # a late take after the end: forget it
            return [], False
        items = [first]
        while not box.empty():
            items.append(box.get_nowait())
        over = END in items
        if over:
            self._queues.pop(call_id, None)
        return [i for i in items if i is not None], over

    def answer(self, req_id: int, ok: bool, value: Any) -> None:
        future = self._waiting.get(req_id)
        if future is None or future.done():
            return
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
