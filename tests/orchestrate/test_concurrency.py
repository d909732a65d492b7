"""Concurrency limits with leases (dead holders' slots come back) and round-robin fairness."""

from __future__ import annotations

import random
import threading
from pathlib import Path

import pytest
from orch_helpers import FakeClock

from evopipe.app.schema import open_store
from evopipe.orchestrate.concurrency import FairQueue, Lease, LeaseLost, Leases
from evopipe.store import Store

PIPELINE_LIMIT = 4
TENANT_LIMIT = 3


def test_500_submissions_with_random_worker_kills_never_exceed_a_limit(store: Store) -> None:
    rng = random.Random(7)
    clock = FakeClock()
    leases = Leases(store, ttl_s=10, clock=clock)
    queue: FairQueue[tuple[int, str]] = FairQueue()
    for job in range(500):
        queue.push(f"tenant-{rng.randrange(5)}", (job, f"pipe-{rng.randrange(3)}"))
    active: dict[int, tuple[str, str, list[Lease]]] = {}
    done: set[int] = set()
    kills = 0
    for _step in range(20_000):
        if not queue and not active:
            break
        clock.advance(1)
        for job, (tenant, pipe, held) in list(active.items()):
            roll = rng.random()
            if roll < 0.05:  # the worker is killed: its leases are never released
                del active[job]
                queue.push(tenant, (job, pipe))
                kills += 1
            elif roll < 0.25:
                leases.release(held)
                del active[job]
                done.add(job)
            else:
                active[job] = (tenant, pipe, leases.renew(held))

        def admit(tenant: str, item: tuple[int, str]) -> list[Lease] | None:
            limits = [(item[1], PIPELINE_LIMIT), (tenant, TENANT_LIMIT)]
            return leases.acquire(limits, holder=f"job-{item[0]}")

        while (taken := queue.take(admit)) is not None:
            tenant, (job, pipe), held = taken
            active[job] = (tenant, pipe, held)
        for pipe in {p for _, p, _ in active.values()}:
            assert sum(p == pipe for _, p, _ in active.values()) <= PIPELINE_LIMIT
            assert leases.held(pipe) <= PIPELINE_LIMIT
        for tenant in {t for t, _, _ in active.values()}:
            assert sum(t == tenant for t, _, _ in active.values()) <= TENANT_LIMIT
    assert done == set(range(500))  # no stuck slot: every submission ran to the end
    assert kills > 50


def test_a_dead_holders_slot_frees_after_the_lease(store: Store) -> None:
    clock = FakeClock()
    leases = Leases(store, ttl_s=30, clock=clock)
    held = leases.acquire([("p", 1)], "dead")
    assert held is not None
    assert leases.acquire([("p", 1)], "other") is None
    clock.advance(31)
    assert leases.acquire([("p", 1)], "other") is not None
    with pytest.raises(LeaseLost):
        leases.renew(held)


def test_all_or_nothing_across_keys(store: Store) -> None:
    leases = Leases(store, clock=FakeClock())
    assert leases.acquire([("tenant", 1)], "a") is not None
    assert leases.acquire([("pipe", 5), ("tenant", 1)], "b") is None
    assert leases.held("pipe") == 0  # the pipeline slot was not kept


def test_a_tenant_with_1000_queued_runs_does_not_starve_another(store: Store) -> None:
    leases = Leases(store, clock=FakeClock())
    queue: FairQueue[int] = FairQueue()
    for i in range(1000):
        queue.push("big", i)
    queue.push("small", -1)
    order = []
    while (
        taken := queue.take(lambda k, i: leases.acquire([("shared", 2)], f"{k}{i}"))
    ) is not None:
        key, _item, held = taken
        order.append(key)
        leases.release(held)
    assert order.index("small") <= 1
    assert len(order) == 1001


def test_threads_racing_on_one_database_never_exceed_the_limit(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'race.db'}"
    peak = [0]
    lock = threading.Lock()
    current = [0]
    with open_store(db, environ={}) as store:
        leases = Leases(store, ttl_s=60)

        def worker(n: int) -> None:
            got = 0
            while got < 10:
                held = leases.acquire([("pipe", 2)], f"w{n}")
                if held is None:
                    continue
                with lock:
                    current[0] += 1
                    peak[0] = max(peak[0], current[0])
                seen = leases.held("pipe")  # the slot stays taken while the holder works
                with lock:
                    peak[0] = max(peak[0], seen)
                    current[0] -= 1
                leases.release(held)
                got += 1

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=60)
    assert 1 <= peak[0] <= 2
