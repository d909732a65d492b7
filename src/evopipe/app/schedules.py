"""Schedule operations (``evopipe schedule add|list|remove|fires``, ``evopipe scheduler``):
cron schedules whose fires start runs through :attr:`App.runs`."""

from __future__ import annotations

import asyncio
import builtins
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from evopipe.orchestrate.scheduler import Fire, Scheduler
from evopipe.orchestrate.schedules import Schedule, Schedules

if TYPE_CHECKING:
    from evopipe.app.root import App


class _RunDispatcher:
    """Starts a fire's run without waiting; reports its end to the scheduler."""

    def __init__(self, app: App, model: str | None) -> None:
        self.app = app
        self.model = model
        self.scheduler: Scheduler | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    async def start(self, schedule: Schedule, nominal: float) -> str:
        handle = await self.app.runs.start(schedule.target, dict(schedule.inputs), model=self.model)
        task = asyncio.create_task(self._finish(schedule.name, nominal, handle))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return handle.run_id

    async def _finish(self, name: str, nominal: float, handle: Any) -> None:
        try:
            result = await handle.result()
            status = result.status
        except Exception:  # a crashed run still frees the schedule
            status = "failed"
        if self.scheduler is not None:
            await self.scheduler.finished(name, nominal, status)

    async def cancel(self, run_id: str) -> None:
        self.app.runs.cancel(run_id)


class Scheduling:
    def __init__(self, app: App) -> None:
        self.app = app

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
        self, *, model: str | None = None, grace_s: float = 60.0, clock: Any = time.time
    ) -> Scheduler:
        """A scheduler whose fires start runs of this session (``clock``: tests inject one)."""
        dispatcher = _RunDispatcher(self.app, model)
        scheduler = Scheduler(self.app.store, dispatcher, grace_s=grace_s, clock=clock)
        dispatcher.scheduler = scheduler
        return scheduler

    def fires(self, name: str | None = None) -> builtins.list[Fire]:
        return self.scheduler().fires(name)

    async def serve(
        self, stop: asyncio.Event, *, model: str | None = None, once: bool = False
    ) -> builtins.list[Fire]:
        """Run due schedules until ``stop`` is set (or one tick with ``once``); waits for the
        runs it started before returning. Returns the fires of a ``once`` tick."""
        scheduler = self.scheduler(model=model)
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
