"""Schedule operations (``evopipe schedule add|list|remove|fires``, ``evopipe scheduler``):
cron schedules whose fires start runs through :attr:`App.runs`."""

from __future__ import annotations

import asyncio
import builtins
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from evopipe.app.group import OperationGroup
from evopipe.orchestrate.concurrency import Lease, Leases
from evopipe.orchestrate.scheduler import Busy, Fire, Scheduler
from evopipe.orchestrate.schedules import Schedule, Schedules

if TYPE_CHECKING:
    from evopipe.app.root import App


class _RunDispatcher:
    """Starts a fire's run without waiting; reports its end to the scheduler. With a
    per-pipeline limit, a run holds a lease on ``pipeline:TARGET`` (shared by every scheduler
    and process on the store, renewed while it runs, freed by expiry if this process dies)."""

    def __init__(
        self, app: App, model: str | None, leases: Leases | None, max_per_pipeline: int | None
    ) -> None:
        self.app = app
        self.model = model
        self.leases = leases
        self.max_per_pipeline = max_per_pipeline
        self.scheduler: Scheduler | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    async def start(self, schedule: Schedule, nominal: float) -> str:
        held: list[Lease] = []
        if self.leases is not None and self.max_per_pipeline:
            key = (f"pipeline:{schedule.target}", self.max_per_pipeline)
            got = self.leases.acquire([key], holder=f"{schedule.name}@{int(nominal)}")
            if got is None:
                raise Busy(f"{schedule.target}: {self.max_per_pipeline} run(s) already")
            held = got
        try:
            handle = await self.app.runs.start(
                schedule.target, dict(schedule.inputs), model=self.model
            )
        except BaseException:
            self._release(held)
            raise
        task = asyncio.create_task(self._finish(schedule.name, nominal, handle, held))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return handle.run_id

    async def _finish(self, name: str, nominal: float, handle: Any, held: list[Lease]) -> None:
        renew = asyncio.create_task(self._renew(held)) if held else None
        try:
            result = await handle.result()
            status = result.status
        except Exception:  # a crashed run still frees the schedule
            status = "failed"
        finally:
            if renew is not None:
                renew.cancel()
            self._release(held)
        if self.scheduler is not None:
            await self.scheduler.finished(name, nominal, status)

    async def _renew(self, held: list[Lease]) -> None:
        assert self.leases is not None
        while True:
            await asyncio.sleep(self.leases.ttl_s / 3)
            held[:] = self.leases.renew(held)

    def _release(self, held: list[Lease]) -> None:
        if self.leases is not None and held:
            self.leases.release(held)

    async def cancel(self, run_id: str) -> None:
        self.app.runs.cancel(run_id)


class Scheduling(OperationGroup):
    @property
    def _schedules(self) -> Schedules:
        return Schedules(self.app.store)

    def add(
        self,
        name: str,
        cron: str,
        target: str,
        inputs: Mapping[str, Any] | None = None,
        *,
        replace: bool = False,
        **policy: Any,
    ) -> Schedule:
        """Store a schedule after checking that its target resolves to a valid pipeline."""
        self.app.pipelines.resolve(target)
        schedule = Schedule(name, cron, target, dict(inputs or {}), **policy)
        return self._schedules.add(schedule, replace=replace)

    def list(self) -> list[dict[str, Any]]:
        out = []
        for schedule, checked in self._schedules.list():
            out.append({**schedule.to_json(), "next": schedule.next_time(checked)})
        return out

    def remove(self, name: str) -> None:
        self._schedules.remove(name)

    def scheduler(
        self,
        *,
        model: str | None = None,
        grace_s: float = 60.0,
        clock: Any = time.time,
        max_per_pipeline: int | None = None,
    ) -> Scheduler:
        """A scheduler whose fires start runs of this session (``clock``: tests inject one).
        ``max_per_pipeline`` caps the runs of one target at once, across processes; a fire
        over the cap is recorded as ``throttled``."""
        leases = Leases(self.app.store, clock=clock) if max_per_pipeline else None
        dispatcher = _RunDispatcher(self.app, model, leases, max_per_pipeline)
        scheduler = Scheduler(self.app.store, dispatcher, grace_s=grace_s, clock=clock)
        dispatcher.scheduler = scheduler
        return scheduler

    def fires(self, name: str | None = None) -> builtins.list[Fire]:
        return self.scheduler().fires(name)

    async def serve(
        self,
        stop: asyncio.Event,
        *,
        model: str | None = None,
        once: bool = False,
        max_per_pipeline: int | None = None,
    ) -> builtins.list[Fire]:
        """Run due schedules until ``stop`` is set (or one tick with ``once``); waits for the
        runs it started before returning. Returns the fires of a ``once`` tick."""
        scheduler = self.scheduler(model=model, max_per_pipeline=max_per_pipeline)
        fired: builtins.list[Fire] = []
        if once:
            fired = await scheduler.tick()
            await settle(scheduler)
        else:
            await scheduler.serve(stop)
            await self.app.runs.drain()
        return fired


async def settle(scheduler: Scheduler) -> None:
    """Wait until the runs this scheduler's dispatcher started have ended (and reported)."""
    dispatcher = scheduler.dispatcher
    while isinstance(dispatcher, _RunDispatcher) and dispatcher.tasks:
        await asyncio.gather(*list(dispatcher.tasks))
