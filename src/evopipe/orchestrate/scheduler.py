"""The scheduler: on each tick, fire every schedule's due nominal times, exactly once.

A fire is claimed by inserting the row ``(schedule, nominal)`` into ``schedule_fires``: the
primary key makes a second scheduler on the same database fail to claim it, so two schedulers
never double-fire. Nominal times more than ``grace_s`` old are *missed* (the scheduler was
down): ``skip`` drops them, ``run_once`` catches up the latest, ``all`` the latest
``max_catchup`` — never older than the catch-up window (no runaway catch-up after a long
outage). While an earlier fire still runs, the overlap policy decides: ``skip``,
``buffer_one`` (keep one waiting), ``buffer_all``, ``cancel_other`` (cancel the running one)
or ``allow_all``. A fire left ``running`` by a dead scheduler stops counting as running after
``stale_after_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from evopipe.orchestrate import tables as t
from evopipe.orchestrate.schedules import Schedule, Schedules
from evopipe.spec.errors import EvopipeError
from evopipe.store import Transactional
from evopipe.store.records import FieldsJson


class Busy(EvopipeError):
    """Raised by a dispatcher that cannot start a run now (a concurrency limit is full): the
    fire is recorded as ``throttled``."""


class Dispatcher(Protocol):
    """Starts (and cancels) the run of a fire; the run reports back with
    :meth:`Scheduler.finished`. :class:`Busy` means "not now"."""

    async def start(self, schedule: Schedule, nominal: float) -> str: ...

    async def cancel(self, run_id: str) -> None: ...


@dataclass(frozen=True)
class Fire(FieldsJson):
    schedule: str
    nominal: float
    status: str
    """``running`` (dispatched), ``buffered``, ``skipped``, ``throttled`` (a concurrency limit
    was full), ``cancelled``, ``succeeded``, ``failed``."""
    fired_at: float
    run_id: str | None = None
    catchup: bool = False

    @property
    def lateness(self) -> float:
        return self.fired_at - self.nominal


class Scheduler:
    def __init__(
        self,
        store: Transactional,
        dispatcher: Dispatcher,
        *,
        clock: Any = time.time,
        owner: str | None = None,
        grace_s: float = 60.0,
        stale_after_s: float = 6 * 3600.0,
    ) -> None:
        self.store = store
        self.dispatcher = dispatcher
        self.clock = clock
        self.owner = owner or f"scheduler-{uuid.uuid4().hex[:8]}"
        self.grace_s = grace_s
        self.stale_after_s = stale_after_s
        self.schedules = Schedules(store, clock=clock)

    # -- ticking -----------------------------------------------------------------------------

    async def tick(self, now: float | None = None) -> list[Fire]:
        """Fire what is due at ``now`` (default: the clock); returns the fires this scheduler
        claimed (dispatched, buffered or skipped)."""
        at = self.clock() if now is None else now
        fires: list[Fire] = []
        listed = self.schedules.list()
        for schedule, checked in listed:
            for nominal, catchup in self.plan(schedule, checked, at):
                fire = await self._fire(schedule, nominal, catchup)
                if fire is not None:
                    fires.append(fire)
        self._advance([s.name for s, _ in listed], at)
        return fires

    def plan(self, schedule: Schedule, checked: float, now: float) -> list[tuple[float, bool]]:
        """``(nominal, is_catchup)`` to fire at ``now`` for times after ``checked``."""
        window = max(schedule.catchup_window_s, self.grace_s)
        times = list(schedule.times(max(checked, now - window), now))
        on_time = [x for x in times if now - x <= self.grace_s]
        missed = [x for x in times if now - x > self.grace_s]
        if schedule.missed == "skip" or not missed:
            chosen: list[float] = []
        elif schedule.missed == "run_once":
            chosen = missed[-1:]
        else:
            chosen = missed[-schedule.max_catchup :] if schedule.max_catchup else []
        return [(x, True) for x in chosen] + [(x, False) for x in on_time]

    async def serve(self, stop: asyncio.Event, *, max_sleep_s: float = 1.0) -> None:
        """Tick until ``stop`` is set, sleeping until the next nominal time (at most
        ``max_sleep_s``, so new schedules are seen)."""
        while not stop.is_set():
            await self.tick()
            now = self.clock()
            due = [s.next_time(max(c, now)) for s, c in self.schedules.list()]
            pause = min([max_sleep_s, *(d - now for d in due)])
            if pause > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=pause)

    # -- fires -------------------------------------------------------------------------------

    async def _fire(self, schedule: Schedule, nominal: float, catchup: bool) -> Fire | None:
        running = [] if schedule.overlap == "allow_all" else self.running(schedule.name)
        status = "running"
        if running and schedule.overlap == "skip":
            status = "skipped"
        elif running and schedule.overlap == "buffer_one":
            status = "skipped" if self._buffered(schedule.name) else "buffered"
        elif running and schedule.overlap == "buffer_all":
            status = "buffered"
        if not self._claim(schedule.name, nominal, status):
            return None
        if status != "running":
            return Fire(schedule.name, nominal, status, self.clock(), None, catchup)
        if schedule.overlap == "cancel_other":
            for other in running:
                await self._cancel(other)
        return await self._dispatch(schedule, nominal, catchup)

    async def _dispatch(self, schedule: Schedule, nominal: float, catchup: bool) -> Fire:
        try:
            run_id = await self.dispatcher.start(schedule, nominal)
        except Busy:
            now = self.clock()
            self._update(schedule.name, nominal, status="throttled", finished_at=now)
            return Fire(schedule.name, nominal, "throttled", now, None, catchup)
        fired_at = self.clock()
        self._update(schedule.name, nominal, run_id=run_id, fired_at=fired_at)
        return Fire(schedule.name, nominal, "running", fired_at, run_id, catchup)

    async def finished(self, name: str, nominal: float, status: str = "succeeded") -> Fire | None:
        """A fire's run ended: record it and start the oldest buffered fire, if any (returned)."""
        self._update(name, nominal, status=status, finished_at=self.clock())
        for waiting in self._buffered(name):
            if self._promote(name, waiting):
                return await self._dispatch(self.schedules.get(name), waiting, False)
        return None

    def running(self, name: str) -> list[Fire]:
        f = t.schedule_fires
        since = self.clock() - self.stale_after_s
        return self._fires(
            select(f).where(f.c.schedule == name, f.c.status == "running", f.c.fired_at >= since)
        )

    def fires(self, name: str | None = None) -> list[Fire]:
        f = t.schedule_fires
        query = select(f).order_by(f.c.schedule, f.c.nominal)
        return self._fires(query if name is None else query.where(f.c.schedule == name))

    async def _cancel(self, fire: Fire) -> None:
        if fire.run_id is not None:
            await self.dispatcher.cancel(fire.run_id)
        self._update(fire.schedule, fire.nominal, status="cancelled", finished_at=self.clock())

    def _buffered(self, name: str) -> list[float]:
        f = t.schedule_fires
        query = select(f.c.nominal).where(f.c.schedule == name, f.c.status == "buffered")
        with self.store.begin() as conn:
            return [float(n) for (n,) in conn.execute(query.order_by(f.c.nominal)).all()]

    def _claim(self, name: str, nominal: float, status: str) -> bool:
        try:
            with self.store.begin() as conn:
                conn.execute(
                    insert(t.schedule_fires).values(
                        schedule=name,
                        nominal=int(nominal),
                        status=status,
                        claimed_by=self.owner,
                        fired_at=self.clock(),
                    )
                )
        except IntegrityError:
            return False
        return True

    def _promote(self, name: str, nominal: float) -> bool:
        f = t.schedule_fires
        with self.store.begin() as conn:
            done = conn.execute(
                update(f)
                .where(f.c.schedule == name, f.c.nominal == int(nominal), f.c.status == "buffered")
                .values(status="running", claimed_by=self.owner, fired_at=self.clock())
            ).rowcount
        return bool(done)

    def _update(self, name: str, nominal: float, **values: Any) -> None:
        f = t.schedule_fires
        with self.store.begin() as conn:
            conn.execute(
                update(f).where(f.c.schedule == name, f.c.nominal == int(nominal)).values(**values)
            )

    def _advance(self, names: list[str], now: float) -> None:
        """Every listed schedule has been checked up to ``now`` (one transaction)."""
        s = t.schedules
        with self.store.begin() as conn:
            for start in range(0, len(names), 500):
                chunk = names[start : start + 500]
                conn.execute(
                    update(s)
                    .where(s.c.name.in_(chunk), s.c.checked_until < now)
                    .values(checked_until=now)
                )

    def _fires(self, query: Any) -> list[Fire]:
        with self.store.begin() as conn:
            rows = conn.execute(query).all()
        return [
            Fire(r.schedule, float(r.nominal), r.status, float(r.fired_at), r.run_id) for r in rows
        ]
