"""Schedules on a fake clock: nominal times, missed-run policies, overlap policies, and two
schedulers on one database never double-firing."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from orch_helpers import FakeClock

from evopipe.app.schema import open_store
from evopipe.orchestrate.scheduler import Scheduler
from evopipe.orchestrate.schedules import Schedule, ScheduleError, Schedules
from evopipe.store import Store

DAY = 86_400


class Recorder:
    """A dispatcher that records what it started and cancelled."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.started: list[tuple[str, float, float]] = []
        self.cancelled: list[str] = []

    async def start(self, schedule: Schedule, nominal: float) -> str:
        self.started.append((schedule.name, nominal, self.clock()))
        return f"run-{schedule.name}-{int(nominal)}"

    async def cancel(self, run_id: str) -> None:
        self.cancelled.append(run_id)


def _setup(store: Store, *schedules: Schedule) -> tuple[FakeClock, Recorder, Scheduler]:
    clock = FakeClock()
    for s in schedules:
        Schedules(store, clock=clock).add(s)
    recorder = Recorder(clock)
    return clock, recorder, Scheduler(store, recorder, clock=clock, owner="a")


async def test_every_5_and_15_minutes_fire_at_their_nominal_times_for_24_hours(
    store: Store,
) -> None:
    clock, rec, sched = _setup(
        store,
        Schedule("health", "*/5 * * * *", "health", overlap="allow_all"),
        Schedule("perf", "*/15 * * * *", "perf", overlap="allow_all"),
    )
    start = clock.now
    for _ in range(24 * 60):
        clock.advance(60)
        for fire in await sched.tick():
            await sched.finished(fire.schedule, fire.nominal)
    health = [n for s, n, _ in rec.started if s == "health"]
    perf = [n for s, n, _ in rec.started if s == "perf"]
    assert health == [start + 300 * i for i in range(1, 289)]
    assert perf == [start + 900 * i for i in range(1, 97)]
    assert all(at == nominal for _, nominal, at in rec.started)  # zero lateness


@pytest.mark.parametrize(("policy", "caught_up"), [("skip", 0), ("run_once", 1), ("all", 8)])
async def test_after_a_two_hour_outage(store: Store, policy: str, caught_up: int) -> None:
    clock, rec, sched = _setup(
        store,
        Schedule("mon", "*/5 * * * *", "mon", missed=policy, max_catchup=8, overlap="allow_all"),  # type: ignore[arg-type]
    )
    for _ in range(2):
        clock.advance(300)
        await sched.tick()
    assert len(rec.started) == 2  # up and on time: minutes 5 and 10
    rec.started.clear()
    clock.advance(2 * 3600 + 90)  # the scheduler was down for two hours
    fires = await sched.tick()
    assert sum(f.catchup for f in fires) == caught_up
    assert len(rec.started) == caught_up  # none of them is within the 60 s grace
    clock.advance(210)
    on_time = await sched.tick()
    assert [f.catchup for f in on_time] == [False]


async def test_catch_up_never_reaches_past_the_window(store: Store) -> None:
    clock, _rec, sched = _setup(
        store,
        Schedule(
            "mon",
            "*/5 * * * *",
            "mon",
            missed="all",
            max_catchup=100,
            catchup_window_s=1800,
            overlap="allow_all",
        ),
    )
    clock.advance(30 * DAY)  # a month down: no runaway catch-up
    fires = await sched.tick()
    assert len(fires) == 1800 // 300


async def _overlapping(store: Store, overlap: str) -> tuple[Recorder, Scheduler, FakeClock]:
    clock, rec, sched = _setup(store, Schedule("job", "* * * * *", "job", overlap=overlap))  # type: ignore[arg-type]
    for _ in range(3):  # three nominal times while the first run is still going
        clock.advance(60)
        await sched.tick()
    return rec, sched, clock


async def test_overlap_skip(store: Store) -> None:
    rec, sched, _ = await _overlapping(store, "skip")
    assert len(rec.started) == 1
    assert [f.status for f in sched.fires("job")] == ["running", "skipped", "skipped"]


async def test_overlap_buffer_one(store: Store) -> None:
    rec, sched, _ = await _overlapping(store, "buffer_one")
    assert [f.status for f in sched.fires("job")] == ["running", "buffered", "skipped"]
    first = sched.fires("job")[0]
    nxt = await sched.finished("job", first.nominal)
    assert nxt is not None
    assert nxt.nominal == first.nominal + 60
    assert len(rec.started) == 2


async def test_overlap_buffer_all(store: Store) -> None:
    rec, sched, _ = await _overlapping(store, "buffer_all")
    fires = sched.fires("job")
    assert [f.status for f in fires] == ["running", "buffered", "buffered"]
    second = await sched.finished("job", fires[0].nominal)
    assert second is not None
    third = await sched.finished("job", second.nominal)
    assert third is not None
    assert third.nominal == fires[2].nominal
    assert [n for _, n, _ in rec.started] == [f.nominal for f in fires]


async def test_overlap_cancel_other(store: Store) -> None:
    rec, sched, _ = await _overlapping(store, "cancel_other")
    assert len(rec.started) == 3
    assert len(rec.cancelled) == 2
    assert [f.status for f in sched.fires("job")] == ["cancelled", "cancelled", "running"]


async def test_overlap_allow_all(store: Store) -> None:
    rec, sched, _ = await _overlapping(store, "allow_all")
    assert len(rec.started) == 3
    assert len(sched.running("job")) == 3


async def test_a_fire_left_running_by_a_dead_scheduler_goes_stale(store: Store) -> None:
    rec, sched, clock = await _overlapping(store, "skip")
    clock.advance(sched.stale_after_s)
    await sched.tick()
    assert len(rec.started) == 2


def test_bad_schedules_are_refused(store: Store) -> None:
    with pytest.raises(ScheduleError, match="bad cron"):
        Schedule("x", "every 5 minutes", "t")
    with pytest.raises(ScheduleError, match="time zone"):
        Schedule("x", "* * * * *", "t", tz="Mars/Olympus")
    with pytest.raises(ScheduleError, match="overlap"):
        Schedule("x", "* * * * *", "t", overlap="sometimes")  # type: ignore[arg-type]
    Schedules(store).add(Schedule("x", "* * * * *", "t"))
    with pytest.raises(ScheduleError, match="exists"):
        Schedules(store).add(Schedule("x", "* * * * *", "t"))
    Schedules(store).remove("x")
    with pytest.raises(ScheduleError, match="no schedule"):
        Schedules(store).remove("x")


def test_time_zones_follow_daylight_saving() -> None:
    paris = Schedule("am", "0 9 * * *", "t", tz="Europe/Paris")
    # DST starts on 2026-03-29: 09:00 in Paris is 08:00 UTC before, 07:00 UTC after
    start = datetime(2026, 3, 27, 12, tzinfo=UTC).timestamp()
    times = [datetime.fromtimestamp(x, UTC) for x in paris.times(start, start + 3 * DAY)]
    assert [(x.day, x.hour) for x in times] == [(28, 8), (29, 7), (30, 7)]


def _ticker(db: str, owner: str, ticks: int, out: multiprocessing.Queue, start: Any) -> None:  # type: ignore[type-arg]
    import asyncio

    async def main() -> list[tuple[str, float]]:
        clock = FakeClock()
        with open_store(db, environ={}) as store:
            rec = Recorder(clock)
            sched = Scheduler(store, rec, clock=clock, owner=owner)
            start.wait(timeout=60)  # both processes tick the same simulated minutes together
            for _ in range(ticks):
                clock.advance(60)
                for fire in await sched.tick():
                    if fire.status == "running":
                        await sched.finished(fire.schedule, fire.nominal)
            return [(s, n) for s, n, _ in rec.started]

    out.put(asyncio.run(main()))


def _race(db: str) -> list[list[tuple[str, float]]]:
    """Two scheduler processes ticking the same 1,000 simulated minutes on one database."""
    with open_store(db, environ={}) as store:
        for name, cron in (("a", "* * * * *"), ("b", "*/2 * * * *"), ("c", "*/5 * * * *")):
            Schedules(store, clock=FakeClock()).add(Schedule(name, cron, name, overlap="allow_all"))
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    start = ctx.Barrier(2)
    procs = [ctx.Process(target=_ticker, args=(db, o, 1000, out, start)) for o in ("p1", "p2")]
    for p in procs:
        p.start()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    return results


def test_two_scheduler_processes_on_one_database_never_double_fire(tmp_path: Path) -> None:
    raced = False
    for attempt in range(3):  # on a loaded machine one process can tick through all alone
        results = _race(f"sqlite:///{tmp_path / f'two{attempt}.db'}")
        fired = results[0] + results[1]
        assert len(fired) == len(set(fired))  # zero duplicates
        assert len(fired) == 1000 + 500 + 200  # and nothing lost
        if results[0] and results[1]:
            raced = True  # both schedulers fired: they really raced
            break
    assert raced
