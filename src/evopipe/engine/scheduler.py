"""The asyncio scheduler: runs one scope's plan as a DAG.

A step starts as soon as its dependencies are done. Steps are executed by a small pool of worker
coroutines: the scope's own coroutine is the first worker, and more are spawned (up to the
scope's ``max_concurrency``) only when a step actually waits on something. A chain of steps
that never wait therefore runs without creating a single task, and a fan-out of steps that wait
(model calls) runs them all concurrently.

Skip rule (documented in docs/engine.md): a step is **skipped** when

1. a switch that routes to it chose other steps, or
2. its ``when`` condition is false, or
3. it has no ``when`` and it has dependencies and *every* one of them was skipped.

A step with a ``when`` decides for itself even if its dependencies were skipped (that is how a
step opts in). Templates reading a skipped step see ``output: null, status: "skipped"``.

A failed step stops the scope: no new steps start, running ones finish, and the scope fails.
A step that waits for approval blocks its dependants; the rest of the scope runs on.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING, Any

from evopipe.engine.budget import BudgetExceeded
from evopipe.engine.plan import PlannedStep
from evopipe.engine.steprun import run_step
from evopipe.engine.types import StepRecord

if TYPE_CHECKING:
    from evopipe.engine.state import Scope


class Cancelled(Exception):
    """The run was cancelled (kill switch)."""


class ScopeRunner:
    """Executes one scope's plan; ``await run()`` returns when nothing more can start."""

    __slots__ = (
        "_done",
        "_kick_scheduled",
        "_main",
        "_main_cancelled",
        "_pending",
        "_ready",
        "_tasks",
        "_workers",
        "failed",
        "fatal",
        "limit",
        "scope",
        "stopping",
        "waiting",
    )

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        plan = scope.plan
        self._pending = {sid: len(ps.deps) for sid, ps in plan.steps.items()}
        self._ready: deque[PlannedStep] = deque(
            plan.steps[sid] for sid in plan.order if self._pending[sid] == 0
        )
        self.limit = scope.max_concurrency or 1_000_000
        self._workers = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._kick_scheduled = False
        self._done: asyncio.Future[None] | None = None
        self._main: asyncio.Task[Any] | None = None
        self._main_cancelled = False
        self.stopping = False
        self.fatal: BaseException | None = None
        self.failed: StepRecord | None = None
        self.waiting: list[str] = []

    async def run(self) -> None:
        self._workers = 1
        self._main = asyncio.current_task()
        try:
            await self._worker()
            if self._workers > 0:
                self._done = asyncio.get_running_loop().create_future()
                await self._done
        except asyncio.CancelledError:
            self.stop()
            for task in list(self._tasks):
                task.cancel()
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
            if self._main_cancelled and self.fatal is not None and self._main is not None:
                self._main.uncancel()  # we cancelled ourselves to stop a waiting step
                raise self.fatal from None
            raise
        if self.fatal is not None:
            raise self.fatal

    def stop(self) -> None:
        self.stopping = True
        self._ready.clear()

    async def _worker(self) -> None:
        ready = self._ready
        scope = self.scope
        try:
            while ready and not self.stopping:
                ps = ready.popleft()
                if ready and not self._kick_scheduled and self._workers < self.limit:
                    self._kick_scheduled = True
                    asyncio.get_running_loop().call_soon(self._spawn)
                try:
                    record = await run_step(scope, ps)
                except (BudgetExceeded, Cancelled) as exc:
                    self._fail_fatal(exc)
                    break
                except Exception as exc:  # a bug: never leave the run hanging
                    self._fail_fatal(exc)
                    break
                self._complete(ps, record)
        finally:
            self._workers -= 1
            if self._workers == 0 and self._done is not None and not self._done.done():
                self._done.set_result(None)

    def _spawn(self) -> None:
        self._kick_scheduled = False
        n = min(self.limit - self._workers, len(self._ready))
        for _ in range(n):
            self._workers += 1
            task = asyncio.get_running_loop().create_task(self._worker())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _fail_fatal(self, exc: BaseException) -> None:
        if self.fatal is None:
            self.fatal = exc
        self.stop()
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:
                task.cancel()
        if current is not self._main and self._main is not None and not self._main_cancelled:
            self._main_cancelled = True  # the inline worker may be waiting in a step
            self._main.cancel()

    def _complete(self, ps: PlannedStep, record: StepRecord) -> None:
        status = record.status
        if status == "succeeded" or status == "skipped":
            pending = self._pending
            steps = self.scope.plan.steps
            for dep in ps.dependants:
                left = pending[dep] - 1
                pending[dep] = left
                if left == 0:
                    self._ready.append(steps[dep])
        elif status == "waiting":
            self.waiting.append(ps.id)
        else:
            if self.failed is None:
                self.failed = record
            self.stop()
