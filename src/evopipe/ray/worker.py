"""The far side of the Ray executor: a step worker (an async Ray actor) runs step kinds.

A :class:`StepWorker` runs many steps at once (it is an async actor: I/O-bound model steps
cost a coroutine, not a process). Each step arrives as a :class:`~evopipe.engine.executor.
StepCall` and runs with a :class:`RemoteContext`: the data comes from the call; what must
stay with the run owner — model calls (budgets, the response cache, usage), sub-pipelines,
inner scopes, events — is sent back through the call's *outbox*. So Ray moves the work, and
the run owner keeps the budgets, the cache and the journal.

Model calls are made on the worker when it was given :class:`WorkerModels` (the session's
model configuration and, for a shared database, its response cache): the step's model, its
CPU for an embedded model, its latency, all stay on the cluster; each call's usage goes to the
outbox as a ``count`` item, and the owner counts it (step usage, ``model_call`` event, budget)
as if the call had been made there. The owner checks the budget before shipping the step.
Without ``WorkerModels``, model calls go back to the owner like the other requests.

The protocol costs as few actor calls as it can: :meth:`StepWorker.run` returns as soon as the
step is over *or* has put a request in its outbox; the owner serves the requests and sends
the answers with :meth:`StepWorker.reply`, which again returns at the next of either. A step
that asks the owner nothing (a model step calling its model on the worker) therefore costs one
actor call; a model step whose calls go to the owner, two (``run`` → the model request,
``reply`` with the answer → the result). Events and counts ride with the next return. While
an answer takes long (a real model call), the owner polls with an empty ``reply`` and sends
answers one way (:meth:`StepWorker.answer`), so the step's other requests are not held back.

This module imports Ray only to pack a value plain pickle refuses: the executor wraps
:class:`StepWorker` with ``ray.remote``.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import pickle
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from evopipe.engine.calls import CallRecord, check_output, timed_call
from evopipe.engine.executor import CallContext, StepCall, plain_result
from evopipe.engine.templates import Renderer
from evopipe.models.base import ModelRequest, ModelResponse, RetryableModelError
from evopipe.models.cache import ResponseCacheBackend
from evopipe.models.config import ModelsConfig
from evopipe.models.hub import ModelHub
from evopipe.spec.errors import EvopipeError
from evopipe.spec.pipeline import Pipeline
from evopipe.steps.base import ScopeResult, StepResult

Request = tuple[int | None, str, tuple[Any, ...], dict[str, Any]]
"""``(request id, operation, args, kwargs)``; the id is None for ``emit`` (no answer)."""

Outcome = tuple[Literal["ok", "error", "missing", "lost"], Any]
"""How a step attempt ended, across the wire: its result, the exception it raised, the key of a
pipeline this worker does not hold (``missing``: send it again) or the id of a call this
worker does not know (``lost``: the actor restarted since the step began)."""

Reply = tuple[list[Request], "Outcome | None"]
"""What ``run`` and ``reply`` return: the outbox's items, in order, and the outcome once the
step is over (None while it runs)."""

Answer = tuple[int, bool, Any]
"""``(request id, ok, value or exception)``: the owner's answer to one request."""

Shipped = tuple[str, "Pipeline | None"]
"""A step's pipeline travels once per worker: ``(key, pipeline)`` the first time, then
``(key, None)`` (a pipeline of many steps costs milliseconds to pickle)."""

CachePolicy = Literal["off", "always"] | None
"""The cache policy of a step's calls, as the owner worked it out (None: the hub's own)."""

PIPELINES_KEPT = 64

EVENT_DELAY_S = 0.05
"""How long a step's events may wait on the worker for a return to ride with."""
"""Pipelines a worker keeps (oldest dropped first)."""


def pack(value: Any) -> bytes:
    """``value`` as bytes for the wire. Ray would pickle it too, but its serialiser costs
    about 0.3 ms more per call on a step's arguments (measured; bench/distributed.py); a
    value plain pickle refuses (a lambda) goes through Ray's cloudpickle."""
    try:
        return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError):
        from ray import cloudpickle

        dumps: Callable[[Any], bytes] = cloudpickle.dumps
        return dumps(value)


def unpack(data: bytes) -> Any:
    """The value :func:`pack` made."""
    return pickle.loads(data)


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


@dataclass(frozen=True)
class WorkerModels:
    """What a worker needs to call models itself: the session's model configuration (no
    secrets: API keys are read from the worker's environment, see docs/ray.md) and, when the
    session's store is a database the worker can reach, a function opening its response cache
    (called once, on the worker)."""

    config: ModelsConfig
    cache: Callable[[], ResponseCacheBackend | None] | None = None

    def hub(self) -> ModelHub:
        return ModelHub(self.config, cache=self.cache() if self.cache is not None else None)


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
    """One step attempt on a worker: the requests and events for the owner, and the outcome
    once the step is over."""

    def __init__(self, worker: StepWorker) -> None:
        self.worker = worker
        self.items: list[Request] = []
        self.outcome: Outcome | None = None
        self.ready = asyncio.Event()
        """Set when the owner should hear from the step (a request, the outcome, events that
        have waited ``EVENT_DELAY_S``)."""
        self.task: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None

    def put(self, item: Request) -> None:
        """A request: the owner hears of it now."""
        self.items.append(item)
        self.ready.set()

    def end(self, outcome: Outcome) -> None:
        self.outcome = outcome
        self.ready.set()

    def taken(self) -> None:
        """The owner took the items: clear the wake-up and any pending timer."""
        self.ready.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def emit(self, type: str, **data: Any) -> None:
        """An event: it rides with the next return, at most ``EVENT_DELAY_S`` late (a quick
        step's events cost no actor call of their own)."""
        self._later((None, "emit", (type,), data))

    def count(self, record: CallRecord) -> None:
        """A model call made here, for the owner to count (like an event)."""
        self._later((None, "count", (record,), {}))

    def _later(self, item: Request) -> None:
        self.items.append(item)
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(EVENT_DELAY_S, self.ready.set)

    async def ask(self, op: str, *args: Any, **kwargs: Any) -> Any:
        return await self.worker.ask(self, op, args, kwargs)

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
    """A step context on a worker: data from the :class:`StepCall`; model calls here when the
    worker has a model hub (else through the outbox, like everything else)."""

    def __init__(
        self,
        call: StepCall,
        outbox: Outbox,
        services: WorkerServices,
        workspace: str,
        models: tuple[ModelHub, CachePolicy] | None = None,
    ):
        self.call = call
        self.outbox = outbox
        self.complete = outbox.complete if models is None else self._complete_here
        self.run_pipeline = outbox.run_pipeline
        self.run_steps = outbox.run_steps
        self.emit = outbox.emit
        self._services = services
        self._workspace = workspace
        self._models = models

    async def _complete_here(
        self, request: ModelRequest, *, model_id: str | None = None, cache: bool | None = None
    ) -> ModelResponse:
        """A model call made on this worker, counted by the owner (see the module docstring).
        The cache policy is the owner's for the step (``off`` wins; then the call's own)."""
        assert self._models is not None
        hub, policy = self._models
        if policy != "off" and cache is not None:
            policy = "always" if cache else "off"
        mid = model_id or self.model_id
        model = hub.get(mid, cache_policy=policy)
        response = await timed_call(model, request, mid, self.outbox.count)
        check_output(self.step_id, mid, response, self.policy.max_output_bytes)
        return response

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
    """An async actor running step attempts (``ray.remote`` is applied by the executor).
    ``models``: call models here (else the owner makes every call)."""

    def __init__(self, models: WorkerModels | None = None) -> None:
        self._models = models
        self._hub: ModelHub | None = None
        self._calls: dict[str, Outbox] = {}
        self._waiting: dict[int, asyncio.Future[Any]] = {}
        self._ids = itertools.count(1)
        self._pipelines: dict[str, Pipeline] = {}
        self.received = 0
        """Pipelines received so far (each is sent once per worker, unless forgotten)."""
        self._renderer = Renderer()

    def where(self) -> tuple[str, int]:
        """This worker's Ray node id and process id (for operators, and the tests that kill
        it)."""
        import ray

        return str(ray.get_runtime_context().get_node_id()), os.getpid()

    async def run(self, wire: bytes) -> bytes:
        """Start one step attempt (``wire``: the packed arguments of :meth:`start`); returns
        its packed :data:`Reply`."""
        return pack(await self.start(*unpack(wire)))

    async def start(
        self,
        call: StepCall,
        call_id: str,
        workspace: str,
        shipped: Shipped,
        cache: CachePolicy = None,
    ) -> Reply:
        """Start one step attempt; returns at its first request or its end (see the module
        docstring). The outcome is ``("ok", StepResult)`` or ``("error", exception)`` (so that
        an error of the step is the step's, never a reason for Ray to retry), or
        ``("missing", key)`` when the call's pipeline is not cached here (a restarted actor):
        the owner sends it again, with the pipeline. ``cache``: the owner's cache policy for
        the step's model calls (when they are made here)."""
        key, pipeline = shipped
        if pipeline is not None:
            if len(self._pipelines) >= PIPELINES_KEPT:
                self._pipelines.pop(next(iter(self._pipelines)))
            self._pipelines[key] = pipeline
            self.received += 1
        pipeline = self._pipelines.get(key)
        if pipeline is None:
            return [], ("missing", key)
        call = replace(call, run=replace(call.run, pipeline=pipeline))
        outbox = self._calls[call_id] = Outbox(self)
        outbox.task = asyncio.ensure_future(self._step(outbox, call, workspace, cache))
        return await self._next(call_id, outbox)

    async def _step(
        self, outbox: Outbox, call: StepCall, workspace: str, cache: CachePolicy
    ) -> None:
        from evopipe.steps import get_kind

        services = WorkerServices(self._renderer, call.run.settings)
        try:
            models = None if self._models is None else (self.hub(), cache)
            ctx = RemoteContext(call, outbox, services, workspace, models)
            result: StepResult = await get_kind(call.kind).run(ctx, call.config)
            outbox.end(("ok", plain_result(result)))
        except Exception as exc:
            outbox.end(("error", portable_error(exc)))
        except asyncio.CancelledError:  # the owner gave the step up (see cancel)
            outbox.end(("error", RemoteStepError("cancelled by the run owner", "cancelled")))
            raise

    def hub(self) -> ModelHub:
        """This worker's model hub (built on first use: its cache may open a database)."""
        if self._hub is None:
            assert self._models is not None
            self._hub = self._models.hub()
        return self._hub

    async def reply(self, call_id: str, answers: bytes) -> bytes:
        """Deliver the owner's answers (packed), then return the step's next packed
        :data:`Reply`, at its next request or its end; ``("lost", call_id)`` if this worker
        does not know the call (it restarted)."""
        return pack(await self.resume(call_id, unpack(answers)))

    async def resume(self, call_id: str, answers: list[Answer]) -> Reply:
        """:meth:`reply` unpacked."""
        for answer in answers:
            self.answer(*answer)
        outbox = self._calls.get(call_id)
        if outbox is None:
            return [], ("lost", call_id)
        return await self._next(call_id, outbox)

    async def _next(self, call_id: str, outbox: Outbox) -> Reply:
        await outbox.ready.wait()
        outbox.taken()
        items, outbox.items = outbox.items, []
        if outbox.outcome is not None:
            self._calls.pop(call_id, None)
        return items, outbox.outcome

    def answer(self, req_id: int, ok: bool, value: Any) -> None:
        """One answer, sent one way (while the owner's poll is out)."""
        future = self._waiting.get(req_id)
        if future is None or future.done():
            return
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)

    def cancel(self, call_id: str) -> None:
        """The owner gave the step up (its run was cancelled): stop it."""
        outbox = self._calls.pop(call_id, None)
        if outbox is not None and outbox.task is not None:
            outbox.task.cancel()

    async def ask(
        self, outbox: Outbox, op: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        req_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting[req_id] = future
        outbox.put((req_id, op, args, kwargs))
        try:
            return await future
        finally:
            self._waiting.pop(req_id, None)
