"""The Ray executor: step attempts run on a pool of async Ray actors; the run owner journals.

``RayExecutor`` satisfies :class:`evopipe.engine.executor.Executor`. Per step attempt:

* a *container* kind (map, loop, pipeline, generate) or an *instant* one (set, switch, tool)
  runs here, in the owner's loop — it only orchestrates; the steps it runs come back through
  the executor and go to the cluster;
* any other kind is shipped as a :class:`~evopipe.engine.executor.StepCall` to one of the
  pool's :class:`~evopipe.ray.worker.StepWorker` actors (round robin, spread over nodes).
  While it runs, its model calls, sub-runs and events come back to the owner (see
  :mod:`evopipe.ray.worker`), so budgets, the response cache and the journal keep one owner;
  the result is returned to the engine, which journals it — exactly once, whatever Ray did.

Retries: a pure step is retried by Ray when its worker dies (``max_retries``); a step whose
kind declares ``side_effects`` (shell, http, python, plugins by default) runs with Ray retries
off, under evopipe's own retry policy: a dead worker fails it with ``worker_lost`` (its
idempotency key in the message) instead of applying its effect twice. A worker killed for
memory is reported as ``out_of_memory``.

Ray is optional (``pip install 'evopipe[ray]'``) and imported only when the first step is
shipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, cast

from evopipe.engine.budget import BudgetExceeded
from evopipe.engine.executor import StepCall
from evopipe.ray.worker import Outcome, Request, StepWorker, portable_error
from evopipe.spec.errors import EvopipeError
from evopipe.steps.base import StepFailed

if TYPE_CHECKING:
    from evopipe.spec.base import StepBase
    from evopipe.spec.catalog import KindInfo
    from evopipe.spec.pipeline import Pipeline
    from evopipe.steps.base import StepContext, StepKind, StepResult

TAKE_S = 2.0
"""Long-poll of a step's outbox (a step that asks nothing costs one poll)."""


class RayUnavailableError(EvopipeError):
    """``--executor ray`` was asked for but Ray is not installed."""


class StepWorkerLost(StepFailed):
    """The Ray worker running the step died (and Ray did not, or may not, run it again)."""

    error_type = "worker_lost"


class StepOutOfMemory(StepFailed):
    """The Ray worker running the step was killed for memory."""

    error_type = "out_of_memory"


def import_ray() -> Any:
    """The ``ray`` module, or a clear error saying how to install it."""
    try:
        import ray
    except ImportError:
        raise RayUnavailableError(
            "the Ray executor needs Ray, which is not installed: pip install 'evopipe[ray]' "
            "(or run with --executor local)"
        ) from None
    return ray


HOST_OPS: dict[str, Callable[[StepContext], Callable[..., Awaitable[Any]]]] = {
    "complete": lambda ctx: ctx.complete,
    "run_pipeline": lambda ctx: ctx.run_pipeline,
    "run_steps": lambda ctx: ctx.run_steps,
}
"""What a worker may ask of the step's owner context (``emit`` is fire-and-forget)."""


class RayExecutor:
    """Runs step attempts on a Ray cluster (see the module docstring).

    ``address``: a cluster (``ray://…``, ``HOST:PORT`` or ``auto``); None starts a local Ray
    instance in this process. ``workers``: actors in the pool (None: one per CPU of the
    cluster, at least 2). ``max_retries``: Ray retries of a pure step whose worker died.
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        workers: int | None = None,
        max_retries: int = 3,
        namespace: str = "evopipe",
        runtime_env: dict[str, Any] | None = None,
    ) -> None:
        self.address = address
        self.workers = workers
        self.max_retries = max_retries
        self.namespace = namespace
        self.runtime_env = runtime_env
        self._actors: list[Any] = []
        self._next = itertools.count()
        self._started_ray = False
        self._pipelines: dict[int, tuple[str, Pipeline]] = {}
        self._sent: dict[int, set[str]] = {}
        self.shipped = 0
        """Step attempts shipped to the cluster so far."""

    # -- the seam ----------------------------------------------------------------------------

    def run_step(
        self, *, kind: StepKind, ctx: StepContext, config: StepBase
    ) -> Awaitable[StepResult]:
        info: KindInfo = type(config).kind_info
        if info.container or info.instant:
            return kind.run(ctx, config)  # orchestration stays with the owner
        return self._remote(ctx, config, info)

    async def _remote(self, ctx: StepContext, config: StepBase, info: KindInfo) -> StepResult:
        ray = import_ray()
        actors = self.pool()
        at = next(self._next) % len(actors)
        call = StepCall.from_context(ctx, config)
        workspace = str(ctx.workspace) if info.side_effects else ""
        retries = 0 if info.side_effects else self.max_retries
        resubmits = 0
        while True:
            actor = self._actors[at]
            try:
                outcome, fatal = await self._ship(ray, actor, call, workspace, retries, ctx)
                break
            except ray.exceptions.RayError as exc:
                if isinstance(exc, ray.exceptions.ActorDiedError):  # for good: node gone
                    self._replace(ray, actor)
                again = isinstance(exc, ray.exceptions.RayActorError) and not info.side_effects
                if not again or resubmits >= self.max_retries:
                    raise lost_error(ray, exc, ctx, side_effects=info.side_effects) from None
            # Ray spent its retries while the actor was restarting: wait for it, then again
            resubmits += 1
            await _until_ready(self._actors[at])
        if fatal is not None:
            raise fatal  # a run-level stop raised by the owner (budget) while serving the step
        status, value = outcome
        if status == "error":
            raise value
        result: StepResult = value
        return result

    async def _ship(
        self, ray: Any, actor: Any, call: StepCall, workspace: str, retries: int, ctx: StepContext
    ) -> tuple[Outcome, BaseException | None]:
        key = self._pipeline_key(call.run.pipeline)
        sent = self._sent.setdefault(id(actor), set())
        # the pipeline travels once per actor; the call carries a placeholder instead
        slim = replace(call, run=replace(call.run, pipeline=cast("Pipeline", None)))
        while True:
            shipped = (key, None if key in sent else call.run.pipeline)
            sent.add(key)  # a worker starts a caller's calls in order: the next finds it
            call_id = uuid.uuid4().hex
            ref = actor.run.options(max_task_retries=retries).remote(
                slim, call_id, workspace, shipped
            )
            self.shipped += 1
            try:
                outcome, fatal = await _drive(actor, ref, ctx, call_id)
            except asyncio.CancelledError:
                _cancel(ray, ref)
                raise
            if outcome[0] != "missing":
                return outcome, fatal
            sent.discard(key)  # a restarted actor: send the pipeline again

    def _pipeline_key(self, pipeline: Pipeline) -> str:
        found = self._pipelines.get(id(pipeline))
        if found is None or found[1] is not pipeline:
            if len(self._pipelines) >= 256:
                self._pipelines.clear()
            found = self._pipelines[id(pipeline)] = (uuid.uuid4().hex, pipeline)
        return found[0]

    # -- the pool ----------------------------------------------------------------------------

    def pool(self) -> list[Any]:
        """The worker actors (connecting to Ray and starting them on first use)."""
        if not self._actors:
            ray = import_ray()
            if not ray.is_initialized():
                ray.init(
                    address=self.address,
                    namespace=self.namespace,
                    runtime_env=self.runtime_env,
                    log_to_driver=False,
                    include_dashboard=False,
                )
                self._started_ray = True
            self._actors = _start_pool(ray, self.workers)
        return self._actors

    def _replace(self, ray: Any, actor: Any) -> None:
        if actor in self._actors:
            at = self._actors.index(actor)
            self._actors[at] = _start_pool(ray, 1, first=at)[0]

    def worker_places(self) -> list[tuple[str, int]]:
        """``(node id, process id)`` of each actor of the pool (blocking; for operators and
        tests)."""
        ray = import_ray()
        return [tuple(w) for w in ray.get([a.where.remote() for a in self.pool()])]

    def close(self) -> None:
        """Stop the pool; disconnect from Ray if this executor connected."""
        if not self._actors and not self._started_ray:
            return
        ray = import_ray()
        for actor in self._actors:
            ray.kill(actor)
        self._actors = []
        if self._started_ray:
            ray.shutdown()
            self._started_ray = False


def _start_pool(ray: Any, workers: int | None, first: int = 0) -> list[Any]:
    """``workers`` actors (None: one per CPU, at least 2), dealt round robin over the alive
    nodes from the ``first``-th. The affinity is hard (Ray's soft affinity and ``SPREAD``
    pile zero-CPU actors on one node): a killed actor restarts on its node, and an actor
    whose node is gone is replaced by the executor."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    count = workers or max(2, int(ray.cluster_resources().get("CPU", 2)))
    nodes = sorted(n["NodeID"] for n in ray.nodes() if n["Alive"])
    worker = ray.remote(StepWorker)
    options = {"num_cpus": 0, "max_restarts": -1, "max_concurrency": 1000}
    actors = []
    for i in range(first, first + count):
        node = nodes[i % len(nodes)]
        place = NodeAffinitySchedulingStrategy(node, soft=False)
        actors.append(worker.options(scheduling_strategy=place, **options).remote())
    return actors


async def _until_ready(actor: Any, timeout_s: float = 60.0) -> None:
    """Wait until a (restarting) actor answers again."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        try:
            await asyncio.wrap_future(actor.where.remote().future())
            return
        except Exception:
            if asyncio.get_running_loop().time() > deadline:
                return  # the next submission reports what is wrong
            await asyncio.sleep(0.2)


async def _drive(
    actor: Any, ref: Any, ctx: StepContext, call_id: str
) -> tuple[Outcome, BaseException | None]:
    """Await the step's outcome while serving its requests (model calls, events ...) until
    its outbox says it is over. Returns the outcome and a run-level exception raised by the
    owner while serving (budget exceeded), if any."""
    result = asyncio.wrap_future(ref.future())
    serving: set[asyncio.Future[Any]] = set()
    fatal: list[BaseException] = []
    take: asyncio.Future[Any] | None = None
    try:
        while True:
            if take is None:
                take = asyncio.wrap_future(actor.take.remote(call_id, TAKE_S).future())
            await asyncio.wait({result, take}, return_when=asyncio.FIRST_COMPLETED)
            if not take.done():  # the result is in: the outbox's end marker follows at once
                await asyncio.wait({take}, timeout=TAKE_S + 1)
                if not take.done():
                    break
            try:
                requests, over = take.result()
            except Exception:
                requests, over = [], result.done()
                await asyncio.sleep(0.05)
            take = None
            for request in requests:
                _serve(actor, ctx, request, serving, fatal)
            if over or (result.done() and not requests):
                break
        return await result, (fatal[0] if fatal else None)
    finally:
        for task in serving:
            task.cancel()
        if take is not None:
            take.cancel()


def _serve(
    actor: Any,
    ctx: StepContext,
    request: Request,
    serving: set[asyncio.Future[Any]],
    fatal: list[BaseException],
) -> None:
    req_id, op, args, kwargs = request
    if req_id is None:  # an event: published in order, no answer
        ctx.emit(*args, **kwargs)
        return
    task = asyncio.ensure_future(_answer(actor, ctx, req_id, op, args, kwargs, fatal))
    serving.add(task)
    task.add_done_callback(serving.discard)


async def _answer(
    actor: Any,
    ctx: StepContext,
    req_id: int,
    op: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    fatal: list[BaseException],
) -> None:
    try:
        value = await HOST_OPS[op](ctx)(*args, **kwargs)
        ok = True
    except BudgetExceeded as exc:  # a run-level stop: the owner re-raises it after the step
        fatal.append(exc)
        value, ok = portable_error(exc), False
    except Exception as exc:
        value, ok = portable_error(exc), False
    actor.answer.remote(req_id, ok, value)


def lost_error(
    ray: Any, exc: BaseException, ctx: StepContext, *, side_effects: bool
) -> BaseException:
    """What the journal says when Ray could not bring a step's result back."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    key = ctx.idempotency_key
    if isinstance(exc, ray.exceptions.OutOfMemoryError) or "out of memory" in str(exc).lower():
        return StepOutOfMemory(
            ctx.step_id, f"out_of_memory: the Ray worker was killed for memory ({text}); key {key}"
        )
    if isinstance(exc, ray.exceptions.RayTaskError):
        return portable_error(exc)  # not a death: the call itself failed (e.g. serialising)
    if side_effects:
        why = "not re-run because the step has side effects; check its effect (idempotency key"
        return StepWorkerLost(ctx.step_id, f"worker_lost: the Ray worker died; {why} {key})")
    return StepWorkerLost(ctx.step_id, f"worker_lost: the Ray worker died ({text}); key {key}")


def _cancel(ray: Any, ref: Any) -> None:
    with contextlib.suppress(Exception):  # best effort: the step is already abandoned
        ray.cancel(ref)
