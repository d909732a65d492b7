"""The API server's queue workers as Ray actors, on a real two-node local cluster (conftest.py)
and a throwaway PostgreSQL journal and queue.

* ``evopipe worker --executor ray``: the queued runs finish on Ray actor workers, each of which
  built its own app from the session's settings;
* a worker actor SIGKILLed mid-run: once its lease expired, another worker resumes the run from
  the journal, and no step the journal had completed runs again.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ray_helpers import ray_env

from evopipe.app import App, Settings
from evopipe.app.queue import QueueSettings
from evopipe.app.ray_workers import RayWorkers
from evopipe.spec.loader import loads

pytestmark = [pytest.mark.ray, pytest.mark.postgres]

STEPS = 6


def _chain(latency_ms: int) -> Any:
    steps = [
        f'  - {{id: s{i}, kind: llm, model: "sim:latency_ms={latency_ms},seed=3", '
        f'prompt: "step {i} {{{{ inputs.topic }}}}"' + (f", needs: [s{i - 1}]}}" if i else "}")
        for i in range(STEPS)
    ]
    text = (
        "apiVersion: evopipe/v1\nkind: Pipeline\nname: chain\n"
        "inputs:\n  topic: {type: string}\n"
        f'outputs:\n  last: "{{{{ steps.s{STEPS - 1}.output }}}}"\nsteps:\n' + "\n".join(steps)
    )
    return loads(text).pipeline


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    from evopipe.store.testing import throwaway_postgres

    with throwaway_postgres() as url:
        yield url


@pytest.fixture
def db(postgres: str) -> str:
    from evopipe.store.testing import create_database

    return create_database(postgres, "rayq")


def _app(tmp: Path, db: str, address: str) -> App:
    return App(Settings.load(tmp, environ={}, db=db, cache=False, ray_address=address))


def _wait(what: str, ready: Any, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not ready():  # polls the database: there is no event to wait on
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.1)


def _events(app: App, run_id: str, type_: str) -> Counter[str]:
    return Counter(e.step_id for e in app.store.load_events(run_id) if e.type == type_)


def test_queued_runs_finish_on_ray_actor_workers(ray_cluster: str, db: str, tmp_path: Path) -> None:
    with _app(tmp_path, db, ray_cluster) as app:
        queued = [
            asyncio.run(app.queue.submit(_chain(5), {"topic": f"t{n}"})).run_id for n in range(3)
        ]
        worker = subprocess.Popen(
            [sys.executable, "-m", "evopipe", "worker", "--executor", "ray", "--ray-address",
             ray_cluster, "--db", db, "--concurrency", "2", "--lease-s", "5",
             "--heartbeat-s", "1"],
            cwd=tmp_path,
            env={**ray_env(), "EVOPIPE_CONFIG": str(tmp_path / "none.toml")},
            stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            _wait(
                "every run is done", lambda: all(app.queue.get(r).status == "done" for r in queued)
            )
        finally:
            worker.send_signal(signal.SIGTERM)  # finish the runs in hand, stop the actors
            _, err = worker.communicate(timeout=60)
        assert worker.returncode == 0, err.decode()
        assert "worker stopped after 3 run(s)" in err.decode()  # counted by the actors
        for run_id in queued:
            assert app.queue.get(run_id).outcome == "succeeded"
            assert app.store.get_run(run_id).outputs["last"]
            assert _events(app, run_id, "step_succeeded") == {f"s{i}": 1 for i in range(STEPS)}


async def _until(what: str, ready: Any, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not ready():  # polls the database: there is no event to wait on
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        await asyncio.sleep(0.1)


async def test_a_killed_worker_actor_s_run_is_resumed_without_rerunning_completed_steps(
    ray_cluster: str, db: str, tmp_path: Path
) -> None:
    app = _app(tmp_path, db, ray_cluster)
    lease = QueueSettings(lease_s=2.0, heartbeat_s=0.4, poll_s=0.1)
    workers = RayWorkers(app.settings, 2, queue=lease)
    try:
        workers.start()
        places = workers.places()
        assert len({node for node, _, _ in places}) == 2  # spread over both nodes
        stop = asyncio.Event()
        serving = asyncio.ensure_future(workers.run(stop))
        run_id = (await app.queue.submit(_chain(400), {"topic": "kill"})).run_id
        await _until(
            "two steps are journaled",
            lambda: (
                app.store.find_run(run_id) is not None
                and len(_events(app, run_id, "step_succeeded")) >= 2
            ),
        )
        owner = app.queue.rq.get(run_id).lease_owner
        assert owner is not None
        os.kill(next(pid for _, pid, who in places if owner.startswith(who)), signal.SIGKILL)
        await asyncio.sleep(0.5)  # a commit the dead worker had sent lands, or never will
        completed = set(_events(app, run_id, "step_succeeded"))  # what the journal holds
        await _until("the run is done", lambda: app.queue.get(run_id).status == "done")
        stop.set()
        handled = await serving
    finally:
        workers.close()
    row = app.queue.get(run_id)
    started = _events(app, run_id, "step_started")
    succeeded = _events(app, run_id, "step_succeeded")
    status = app.store.get_run(run_id).status
    app.close()
    assert (row.outcome, status) == ("succeeded", "succeeded")
    assert row.attempts == 2  # leased by the killed actor, then by another worker
    assert handled == 1  # by the worker that resumed it (the killed one never finished)
    assert 2 <= len(completed) < STEPS
    assert succeeded == {f"s{i}": 1 for i in range(STEPS)}  # journaled once each
    assert all(started[s] == 1 for s in completed)  # 0 completed steps re-run
    assert sum(started.values()) <= STEPS + 1  # at most the step in flight ran again


async def test_the_server_s_queue_workers_run_as_ray_actors(
    ray_cluster: str, db: str, tmp_path: Path
) -> None:
    import httpx

    from evopipe.app.serving import ServerOptions
    from evopipe.server.run import serve

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = _app(tmp_path, db, ray_cluster)
    said: list[str] = []
    shutdown = asyncio.Event()
    options = ServerOptions(port=port, workers=2, worker_executor="ray", scheduler=False)
    task = asyncio.ensure_future(serve(app, options, say=said.append, shutdown=shutdown))
    spec = (
        'apiVersion: evopipe/v1\nname: one\nsteps:\n  - {id: a, kind: llm, prompt: "hi", '
        'model: "sim:latency_ms=5,seed=3"}\noutputs: {out: "{{ steps.a.output }}"}\n'
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}/api/v1") as client:
            async with asyncio.timeout(60):
                while True:  # the server listens once uvicorn has started
                    try:
                        await client.get("/health")
                        break
                    except httpx.ConnectError:
                        await asyncio.sleep(0.1)
            done = await client.post(
                "/runs/wait", json={"spec": spec, "timeout_s": 90}, timeout=120
            )
    finally:
        shutdown.set()
        await asyncio.wait_for(task, 60)
        app.close()
    assert done.json()["run"]["status"] == "succeeded"  # no worker but the Ray actors
    assert any("2 Ray actor worker(s)" in line for line in said)
