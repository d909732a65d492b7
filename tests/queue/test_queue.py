"""The run queue: submit, read, page, cancel; leases and their expiry; per-key strategies;
N workers on M runs (each run executed exactly once) — on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from evopipe.app import App, EvopipeError, Settings
from evopipe.app.queue import QueueBusyError, QueueError, QueueNotFoundError, QueueSettings
from evopipe.models import ModelHub
from evopipe.models.base import ModelRequest
from evopipe.models.testing import FunctionModel
from evopipe.queue import NewRun, RunQueue
from evopipe.spec.loader import loads
from evopipe.store.errors import StoreError

FAST = QueueSettings(lease_s=2.0, heartbeat_s=0.05, poll_s=0.02)
ONE = loads(
    """
apiVersion: evopipe/v1
name: one
inputs: {mode: {type: string}}
steps:
  - {id: a, kind: llm, model: g, prompt: "{{ inputs.mode }}"}
  - {id: b, kind: llm, model: g, prompt: "{{ inputs.mode }} then {{ steps.a.output }}"}
outputs: {out: "{{ steps.b.output }}"}
"""
).pipeline


class Gated:
    """A model that records every call and holds calls whose prompt starts with ``hold``."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.gate = asyncio.Event()

    def hub(self) -> ModelHub:
        async def answer(request: ModelRequest) -> str:
            prompt = request.messages[-1].content
            self.calls.append(prompt)
            if prompt.startswith("hold"):
                await self.gate.wait()
            return f"<{prompt}>"

        hub = ModelHub(allow_network=False)
        hub.add(FunctionModel(answer, model_id="g"))
        return hub


@pytest.fixture
def gated() -> Gated:
    return Gated()


@pytest.fixture
def app(db_url: str, tmp_path: Path, gated: Gated) -> Iterator[App]:
    with App(Settings.load(tmp_path, db=db_url, cache=False), models=gated.hub()) as opened:
        opened.queue.configure(lease_s=2.0, heartbeat_s=0.05, poll_s=0.02)
        yield opened


async def _until(check: Callable[[], bool]) -> None:
    for _ in range(1000):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("timed out after 10 s")


async def test_submit_get_list_and_pages(app: App) -> None:
    ids = [(await app.queue.submit(ONE, {"mode": f"m{i}"}, tenant="acme")).run_id for i in range(5)]
    await app.queue.submit(ONE, {"mode": "other"}, tenant="globex")
    first = app.queue.get(ids[0])
    assert (first.status, first.position, first.tenant, first.attempts) == ("queued", 0, "acme", 0)
    assert app.queue.get(ids[3]).position == 3
    page = app.queue.list(tenant="acme", limit=2)
    seen = [q.run_id for q in page.items]
    while page.next_cursor is not None:
        page = app.queue.list(tenant="acme", limit=2, cursor=page.next_cursor)
        seen += [q.run_id for q in page.items]
    assert seen == ids[::-1]  # newest first, every acme run once, no globex run
    assert [q.tenant for q in app.queue.list(status="queued").items].count("globex") == 1
    with pytest.raises(QueueError, match="bad cursor"):
        app.queue.list(cursor="x")
    with pytest.raises(QueueNotFoundError):
        app.queue.get("nope")


async def test_bad_submissions_are_refused_before_anything_is_queued(app: App) -> None:
    with pytest.raises(EvopipeError, match="mode"):
        await app.queue.submit(ONE, {})  # a required input is missing
    with pytest.raises(EvopipeError):
        await app.queue.submit("no/such/pipeline.yaml")
    with pytest.raises(QueueError, match="unknown strategy"):
        await app.queue.submit(ONE, {"mode": "x"}, key="k", strategy="shove")
    assert app.queue.list().items == []


async def test_a_worker_runs_a_queued_run_and_the_engine_sees_the_same_id(
    app: App, gated: Gated
) -> None:
    queued = await app.queue.submit(ONE, {"mode": "go"}, model="g")
    done = await app.queue.worker(settings=FAST).run_once()
    assert done is not None
    assert (done.run_id, done.status, done.outcome, done.attempts) == (
        queued.run_id,
        "done",
        "succeeded",
        1,
    )
    assert app.runs.get(queued.run_id)["outputs"] == {"out": "<go then <go>>"}
    events = [e.type async for e in app.queue.events(queued.run_id, follow=False)]
    assert events[0] == "run_started"
    assert events[-1] == "run_finished"
    assert gated.calls == ["go", "go then <go>"]
    assert await app.queue.worker(settings=FAST).run_once() is None  # nothing left


async def test_cancelling_a_queued_run_means_it_never_runs(app: App, gated: Gated) -> None:
    queued = await app.queue.submit(ONE, {"mode": "x"})
    assert app.queue.cancel(queued.run_id).outcome == "cancelled"
    assert await app.queue.worker(settings=FAST).run_once() is None
    assert gated.calls == []
    assert [e async for e in app.queue.events(queued.run_id)] == []


async def test_an_expired_lease_is_taken_over_and_the_old_owner_loses_it(app: App) -> None:
    rq = app.queue.rq
    queued = await app.queue.submit(ONE, {"mode": "x"})
    mine = rq.lease("a", 0.2)
    assert mine is not None
    assert mine.run_id == queued.run_id
    assert rq.lease("b", 0.2) is None  # still held
    assert rq.heartbeat(mine, 0.2) == "ok"
    await asyncio.sleep(0.3)  # a dies: no heartbeat
    theirs = rq.lease("b", 5.0)
    assert theirs is not None
    assert (theirs.run_id, theirs.attempts, theirs.lease_owner) == (queued.run_id, 2, "b")
    assert rq.heartbeat(mine, 0.2) == "lost"
    assert rq.release(mine, "succeeded") is False  # a late release of a lost lease is ignored
    assert rq.release(theirs, "succeeded") is True
    assert app.queue.get(queued.run_id).outcome == "succeeded"


async def test_a_run_that_keeps_killing_its_workers_is_given_up(app: App) -> None:
    settings = QueueSettings(lease_s=0.05, heartbeat_s=0.01, poll_s=0.01, max_attempts=2)
    queued = await app.queue.submit(ONE, {"mode": "x"})
    for owner in ("a", "b"):  # two workers lease it and die
        assert app.queue.rq.lease(owner, settings.lease_s) is not None
        await asyncio.sleep(0.08)
    given_up = await app.queue.worker(settings=settings).run_once()
    assert given_up is not None
    assert (given_up.run_id, given_up.outcome) == (queued.run_id, "failed")
    assert "given up after 2 leases" in (given_up.error or "")


async def _hold_first(app: App, gated: Gated, key: str) -> tuple[str, asyncio.Task[object]]:
    """Submit a run on ``key`` whose model call blocks, and start a worker on it."""
    held = await app.queue.submit(ONE, {"mode": "hold"}, key=key)
    task = asyncio.ensure_future(app.queue.worker(settings=FAST).run_once())
    await _until(lambda: gated.calls == ["hold"])
    return held.run_id, task


async def test_strategy_reject(app: App, gated: Gated) -> None:
    held, task = await _hold_first(app, gated, "thread-1")
    with pytest.raises(QueueBusyError, match="thread-1"):
        await app.queue.submit(ONE, {"mode": "x"}, key="thread-1", strategy="reject")
    other = await app.queue.submit(ONE, {"mode": "y"}, key="thread-2", strategy="reject")
    with pytest.raises(QueueBusyError):  # a queued (not yet running) run also holds the key
        await app.queue.submit(ONE, {"mode": "z"}, key="thread-2", strategy="reject")
    gated.gate.set()
    await task
    assert app.queue.get(held).outcome == "succeeded"
    assert app.queue.get(other.run_id).status == "queued"


async def test_strategy_enqueue_runs_a_key_one_at_a_time_in_order(app: App, gated: Gated) -> None:
    held, task = await _hold_first(app, gated, "k")
    second = await app.queue.submit(ONE, {"mode": "second"}, key="k")
    free = await app.queue.submit(ONE, {"mode": "free"}, key="other")
    # a second worker skips the key's next run while the first runs, but takes another key's
    done = await app.queue.worker(settings=FAST).run_once()
    assert done is not None
    assert done.run_id == free.run_id
    assert await app.queue.worker(settings=FAST).run_once() is None
    assert app.queue.get(second.run_id).status == "queued"
    gated.gate.set()
    await task
    after = await app.queue.worker(settings=FAST).run_once()
    assert after is not None
    assert (after.run_id, after.outcome) == (second.run_id, "succeeded")
    assert gated.calls.index("second") > gated.calls.index("hold then <hold>")
    assert app.queue.get(held).outcome == "succeeded"


async def test_strategy_interrupt_cancels_the_running_one_then_runs(app: App, gated: Gated) -> None:
    held, task = await _hold_first(app, gated, "k")
    waiting = await app.queue.submit(ONE, {"mode": "waiting"}, key="k")
    new = await app.queue.submit(ONE, {"mode": "new"}, key="k", strategy="interrupt")
    assert app.queue.get(waiting.run_id).outcome == "interrupted"  # dropped at once
    first = await asyncio.wait_for(task, 10)
    assert first is not None
    assert (first.run_id, first.outcome) == (held, "cancelled")  # type: ignore[attr-defined]
    assert app.runs.get(held)["status"] == "cancelled"
    done = await app.queue.worker(settings=FAST).run_once()
    assert done is not None
    assert (done.run_id, done.outcome) == (new.run_id, "succeeded")
    assert "waiting" not in gated.calls


async def test_cancelling_a_running_run_stops_it(app: App, gated: Gated) -> None:
    held, task = await _hold_first(app, gated, "k")
    assert app.queue.cancel(held).status == "leased"
    done = await asyncio.wait_for(task, 10)
    assert done.outcome == "cancelled"  # type: ignore[attr-defined]


def test_concurrent_leases_never_hand_out_a_row_twice(db_url: str, tmp_path: Path) -> None:
    """8 threads, each with its own connection, race to lease 120 rows."""
    with App(Settings.load(tmp_path, db=db_url)) as app:
        rq = app.queue.rq
        for i in range(120):
            rq.submit(
                NewRun(run_id=f"r{i:03d}", spec_json="{}", key=f"k{i % 7}" if i % 2 else None)
            )
    taken: list[tuple[str, str]] = []
    start = threading.Barrier(8)  # all connected before any leases: the race is real

    def lease_all(owner: str) -> None:
        with App(Settings.load(tmp_path, db=db_url)) as mine:
            queue = RunQueue(mine.store)
            start.wait(60)
            while (row := queue.lease(owner, 60.0)) is not None:
                taken.append((row.run_id, owner))
                time.sleep(0.002)  # the run's work: the others get to the queue meanwhile
                queue.release(row, "succeeded")

    threads = [threading.Thread(target=lease_all, args=(f"w{n}",)) for n in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    counts = Counter(run_id for run_id, _ in taken)
    assert len(counts) == 120
    assert max(counts.values()) == 1
    assert len({owner for _, owner in taken}) > 1  # the race was real


def test_n_workers_m_runs_each_run_executed_exactly_once(db_url: str, tmp_path: Path) -> None:
    """6 worker threads, each its own app and connection, drain 30 runs."""
    calls: list[str] = []

    def hub() -> ModelHub:
        async def answer(request: ModelRequest) -> str:
            calls.append(request.messages[-1].content)
            await asyncio.sleep(0.005)
            return "ok"

        models = ModelHub(allow_network=False)
        models.add(FunctionModel(answer, model_id="g"))
        return models

    settings = Settings.load(tmp_path, db=db_url, cache=False)
    with App(settings) as app:
        ids = [
            asyncio.run(app.queue.submit(ONE, {"mode": f"m{i:02d}"}, key=f"k{i % 4}")).run_id
            for i in range(30)
        ]
    handled: list[str] = []

    def work() -> None:
        async def drain(mine: App) -> None:
            worker = mine.queue.worker(settings=FAST)
            while (done := await worker.run_once()) is not None:
                handled.append(done.run_id)

        with App(settings, models=hub()) as mine:
            asyncio.run(drain(mine))

    threads = [threading.Thread(target=work) for _ in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    with App(settings) as app:
        rows = [app.queue.get(run_id) for run_id in ids]
    assert sorted(handled) == sorted(ids)
    assert {(r.outcome, r.attempts) for r in rows} == {("succeeded", 1)}
    first_steps = Counter(c for c in calls if " then " not in c)
    assert first_steps == Counter(f"m{i:02d}" for i in range(30))  # each run's step a: once
    assert len(calls) == 60


async def test_a_worker_that_cannot_renew_its_lease_stops_and_another_resumes(
    app: App, gated: Gated, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = await app.queue.submit(ONE, {"mode": "hold"})
    short = QueueSettings(lease_s=0.3, heartbeat_s=0.05, poll_s=0.02)

    def store_down(*_args: object, **_kwargs: object) -> str:
        raise StoreError("the database is unreachable")

    with monkeypatch.context() as patch:
        patch.setattr(app.queue.rq, "heartbeat", store_down)
        stopped = await asyncio.wait_for(app.queue.worker(settings=short).run_once(), 10)
    assert stopped is not None
    assert stopped.status == "leased"  # not released: its lease just runs out
    run = app.store.get_run(held.run_id)
    assert (run.status, run.cancel_requested) == ("cancelled", False)
    await asyncio.sleep(0.3)
    gated.gate.set()
    done = await app.queue.worker(settings=FAST).run_once()
    assert done is not None
    assert (done.run_id, done.outcome, done.attempts) == (held.run_id, "succeeded", 2)
    assert gated.calls == ["hold", "hold", "hold then <hold>"]  # step a was in flight: again


async def test_a_worker_loop_survives_a_failing_store(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    queued = await app.queue.submit(ONE, {"mode": "x"})
    worker = app.queue.worker(settings=FAST)
    real, failures = app.queue.rq.lease, [1]

    def flaky(owner: str, lease_s: float) -> object:
        if failures:
            failures.pop()
            raise StoreError("the database is unreachable")
        return real(owner, lease_s)

    monkeypatch.setattr(app.queue.rq, "lease", flaky)
    stop = asyncio.Event()
    loop = asyncio.ensure_future(worker.run(stop))
    await _until(lambda: app.queue.get(queued.run_id).status == "done")
    stop.set()
    assert await asyncio.wait_for(loop, 10) == 1
    assert app.queue.get(queued.run_id).outcome == "succeeded"


async def test_a_worker_shut_down_mid_run_gives_the_run_back_at_once(
    app: App, gated: Gated
) -> None:
    held = await app.queue.submit(ONE, {"mode": "hold"})
    slow = QueueSettings(lease_s=60.0, heartbeat_s=0.05, poll_s=0.02)
    task = asyncio.ensure_future(app.queue.worker(settings=slow).run_once())
    await _until(lambda: gated.calls == ["hold"])
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert app.queue.get(held.run_id).status == "queued"  # not after a 60 s lease
    assert app.store.get_run(held.run_id).status == "cancelled"
    gated.gate.set()
    done = await app.queue.worker(settings=FAST).run_once()
    assert done is not None
    assert (done.run_id, done.outcome, done.attempts) == (held.run_id, "succeeded", 2)


def test_one_tenants_backlog_does_not_hold_up_another_tenant(db_url: str, tmp_path: Path) -> None:
    """Tenant a queues 1,000 runs, then tenant b queues 5: with one worker leasing and finishing
    runs one after another, b's runs alternate with a's instead of waiting behind all 1,000."""
    with App(Settings.load(tmp_path, db=db_url)) as app:
        rq = app.queue.rq
        for i in range(1000):
            rq.submit(NewRun(run_id=f"a{i:04d}", spec_json="{}", tenant="a"))
        for i in range(5):
            rq.submit(NewRun(run_id=f"b{i}", spec_json="{}", tenant="b"))
        order = []
        for _ in range(20):
            row = rq.lease("w", 60.0)
            assert row is not None
            order.append(row.run_id)
            rq.release(row, "succeeded")
    assert len(order) == len(set(order)) == 20
    b_places = [i for i, run_id in enumerate(order) if run_id.startswith("b")]
    assert b_places == [1, 3, 5, 7, 9], order[:12]
    a_runs = [run_id for run_id in order if run_id.startswith("a")]
    assert a_runs == sorted(a_runs)  # each tenant's own runs stay in order


def test_a_tenant_with_runs_in_progress_yields_to_one_without(db_url: str, tmp_path: Path) -> None:
    with App(Settings.load(tmp_path, db=db_url)) as app:
        rq = app.queue.rq
        for i in range(4):
            rq.submit(NewRun(run_id=f"a{i}", spec_json="{}", tenant="a"))
        held = [rq.lease("w1", 60.0), rq.lease("w2", 60.0)]  # a's first two, still running
        rq.submit(NewRun(run_id="b0", spec_json="{}", tenant="b"))
        nxt = rq.lease("w3", 60.0)
    assert [r.run_id if r else None for r in held] == ["a0", "a1"]
    assert nxt is not None
    assert nxt.run_id == "b0"
