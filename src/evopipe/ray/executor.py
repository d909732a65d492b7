"""The Ray executor: step attempts run on a pool of async Ray actors; the run owner journals.

``RayExecutor`` satisfies :class:`evopipe.engine.executor.Executor`. Per step attempt:

* a *container* kind (map, loop, pipeline, generate) or an *instant* one (set, switch, tool)
  runs here, in the owner's loop — it only orchestrates; the steps it runs come back through
  the executor and go to the cluster;
* any other kind is shipped as a :class:`~evopipe.engine.executor.StepCall` to one of the
  pool's :class:`~evopipe.ray.worker.StepWorker` actors (round robin, spread over nodes).
  With ``models`` (:class:`~evopipe.ray.worker.WorkerModels`, the app's default) its model
  calls are made on the worker and counted by the owner when they come back (the budget is
  checked before the step is shipped); without, they come back to the owner to be made there.
  Sub-runs and events always come back (see :mod:`evopipe.ray.worker`), so budgets and the
  journal keep one owner; the result is returned to the engine, which journals it — exactly
  once, whatever Ray did.

Retries: Ray's task retries are off (a step spans several actor calls, which Ray cannot
replay as one). A pure step whose worker died is run again by the executor once the actor
has restarted (``max_retries`` times); a step whose kind declares ``side_effects`` (shell,
http, python, plugins by default) is not: under evopipe's own retry policy only, a dead worker
fails it with ``worker_lost`` (its idempotency key in the message) instead of applying its
effect twice. A worker killed for
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
from evopipe.engine.executor import HostContext, StepCall
from evopipe.ray.placement import spread
from evopipe.ray.worker import (
    Answer,
    CachePolicy,
    Outcome,
    Reply,
    Request,
    StepWorker,
    WorkerModels,
    pack,
    portable_error,
    unpack,
)
from evopipe.spec.errors import EvopipeError
from evopipe.steps.base import StepFailed

if TYPE_CHECKING:
    from evopipe.spec.base import StepBase
    from evopipe.spec.catalog import KindInfo
    from evopipe.spec.pipeline import Pipeline
    from evopipe.steps.base import StepContext, StepKind, StepResult

GRACE_S = 0.02
"""How long the owner holds back a poll for answers being served: an answer ready sooner (a
cache hit, a fast model) rides on the poll, one actor call instead of two."""


class ActorRestarted(Exception):
    """The worker no longer knows the step's call: its actor restarted mid-step."""


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
    cluster, at least 2). ``max_retries``: runs again of a pure step whose worker died.
    ``models``: the workers call models themselves (None: every call comes to the owner).
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        workers: int | None = None,
        max_retries: int = 3,
        namespace: str = "evopipe",
        runtime_env: dict[str, Any] | None = None,
        models: WorkerModels | None = None,
    ) -> None:
        self.address = address
        self.models = models
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
        cache = self.before(ctx, info)
        resubmits = 0
        while True:
            actor = self._actors[at]
            try:
                outcome, fatal = await self._ship(actor, call, workspace, ctx, cache)
                break
            except (ray.exceptions.RayError, ActorRestarted) as exc:
                if isinstance(exc, ray.exceptions.ActorDiedError):  # for good: node gone
                    self._replace(ray, actor)
                died = isinstance(exc, (ray.exceptions.RayActorError, ActorRestarted))
                if not died or info.side_effects or resubmits >= self.max_retries:
                    raise lost_error(ray, exc, ctx, side_effects=info.side_effects) from None
            # a pure step whose worker died: run it again once the actor is back
            resubmits += 1
            await _until_ready(self._actors[at])
        return settle(outcome, fatal)

    def before(self, ctx: StepContext, info: KindInfo) -> CachePolicy:
        """Before a step is shipped whose model calls the worker makes: the budget check
        (its calls are counted when it is back) and the cache policy of its calls."""
        if self.models is None or not info.calls_model:
            return None
        host = cast(HostContext, ctx)
        host.may_call(ctx.model_id)
        policy: CachePolicy = host.cache_policy()
        return policy

    async def _ship(
        self, actor: Any, call: StepCall, workspace: str, ctx: StepContext, cache: CachePolicy
    ) -> tuple[Outcome, BaseException | None]:
        key = self._pipeline_key(call.run.pipeline)
        sent = self._sent.setdefault(id(actor), set())
        # the pipeline travels once per actor; the call carries a placeholder instead
        slim = replace(call, run=replace(call.run, pipeline=cast("Pipeline", None)))
        while True:
            shipped = (key, None if key in sent else call.run.pipeline)
            sent.add(key)  # a worker starts a caller's calls in order: the next finds it
            call_id = uuid.uuid4().hex
            first = actor.run.remote(pack((slim, call_id, workspace, shipped, cache)))
            self.shipped += 1
            outcome, fatal = await _drive(actor, first, ctx, call_id)
            if outcome[0] == "lost":
                raise ActorRestarted(f"the Ray worker restarted while running {ctx.step_id!r}")
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
            self._actors = _start_pool(ray, self.workers, self.models)
        return self._actors

    def _replace(self, ray: Any, actor: Any) -> None:
        if actor in self._actors:
            at = self._actors.index(actor)
            self._actors[at] = _start_pool(ray, 1, self.models, first=at)[0]

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


def _start_pool(
    ray: Any, workers: int | None, models: WorkerModels | None, first: int = 0
) -> list[Any]:
    """``workers`` actors (None: one per CPU, at least 2), dealt over the alive nodes from the
    ``first``-th (:func:`~evopipe.ray.placement.spread`)."""
    count = workers or max(2, int(ray.cluster_resources().get("CPU", 2)))
    options = {"num_cpus": 0, "max_restarts": -1, "max_task_retries": 0, "max_concurrency": 1000}
    return spread(ray, StepWorker, count, models, first=first, **options)


async def _until_ready(actor: Any, timeout_s: float = 60.0) -> None:
    """Wait until a (restarting) actor answers again."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        try:
            await actor.where.remote()
            return
        except Exception:
            if asyncio.get_running_loop().time() > deadline:
                return  # the next submission reports what is wrong
            await asyncio.sleep(0.2)


def _future(ref: Any) -> asyncio.Future[Any]:
    """An asyncio future of a Ray object ref."""
    return asyncio.wrap_future(ref.future())


class _Exchange:
    """The owner's side of one step attempt (see :mod:`evopipe.ray.worker`): at most one
    poll (``run``, then ``reply``) is out at a time; the worker's requests are served here,
    concurrently, and their answers ride on the next poll, or go one way while a poll is
    out."""

    def __init__(self, actor: Any, ctx: StepContext, call_id: str) -> None:
        self.actor, self.ctx, self.call_id = actor, ctx, call_id
        self.serving: set[asyncio.Future[Answer]] = set()
        self.answers: list[Answer] = []
        self.fatal: list[BaseException] = []

    async def drive(self, first: Any) -> Outcome:
        poll: asyncio.Future[bytes] | None = _future(first)
        try:
            while True:
                if poll is None:
                    poll = await self._poll_soon()
                if self.serving:
                    waiting: set[asyncio.Future[Any]] = {poll, *self.serving}
                    await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                    self._collect()
                else:  # only the poll is out (a step that asks nothing: its one call)
                    with contextlib.suppress(Exception):  # poll.result() raises it below
                        await poll
                if self.answers:  # the poll is out: the answers go one way
                    for answer in self.answers:
                        self.actor.answer.remote(*answer)
                    self.answers = []
                if poll.done():
                    reply: Reply = unpack(poll.result())
                    items, outcome = reply
                    poll = None
                    for request in items:
                        self._serve(request)
                    if outcome is not None:
                        return outcome
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):  # best effort: the step is abandoned
                self.actor.cancel.remote(self.call_id)
            raise
        finally:
            for task in self.serving:
                task.cancel()
            if poll is not None:
                poll.cancel()

    async def _poll_soon(self) -> asyncio.Future[bytes]:
        """The next poll; while requests are being served, it waits up to ``GRACE_S`` for
        their answers first (so that a quick answer costs no extra actor call)."""
        if self.serving and not self.answers:
            await asyncio.wait(self.serving, timeout=GRACE_S)
            self._collect()
        answers, self.answers = self.answers, []
        return _future(self.actor.reply.remote(self.call_id, pack(answers)))

    def _collect(self) -> None:
        for task in [t for t in self.serving if t.done()]:
            self.serving.discard(task)
            self.answers.append(task.result())

    def _serve(self, request: Request) -> None:
        req_id, op, args, kwargs = request
        if req_id is None:  # an event or a model call to count: in order, no answer
            if op == "emit":
                self.ctx.emit(*args, **kwargs)
                return
            try:
                cast(HostContext, self.ctx).count_calls(args)
            except BudgetExceeded as exc:  # a run-level stop: the owner re-raises it
                self.fatal.append(exc)
            return
        self.serving.add(asyncio.ensure_future(self._answer(req_id, op, args, kwargs)))

    async def _answer(
        self, req_id: int, op: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Answer:
        try:
            return req_id, True, await HOST_OPS[op](self.ctx)(*args, **kwargs)
        except BudgetExceeded as exc:  # a run-level stop: the owner re-raises it after the step
            self.fatal.append(exc)
            return req_id, False, portable_error(exc)
        except Exception as exc:
            return req_id, False, portable_error(exc)


async def _drive(
    actor: Any, first: Any, ctx: StepContext, call_id: str
) -> tuple[Outcome, BaseException | None]:
    """Drive one step attempt from its first poll (``first``, the ``run`` call) to its
    outcome, serving its requests (model calls, events ...) on the way. Returns the outcome
    and a run-level exception raised by the owner while serving (budget exceeded), if any."""
    exchange = _Exchange(actor, ctx, call_id)
    outcome = await exchange.drive(first)
    return outcome, (exchange.fatal[0] if exchange.fatal else None)


def settle(outcome: Outcome, fatal: BaseException | None) -> StepResult:
    """The step's result, or what it raised; a run-level stop raised by the owner while
    serving the step (budget) wins."""
    if fatal is not None:
        raise fatal
    status, value = outcome
    if status == "error":
        raise value
    result: StepResult = value
    return result


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
