"""The Ray executor against the local one, in the same run, on a 2-CPU local Ray cluster.

* dispatch overhead per step: a chain of ``--steps`` ``llm`` steps on the zero-latency ``fake``
  model, run 3 times; the median journaled step ``duration_ms`` on Ray minus that on the local
  executor. With ``ray_models = "worker"`` (the default) the worker calls the model and a
  shipped step costs one actor call (``run``, answered with the result); with ``owner`` it
  costs two (``run``, answered with the model request; ``reply`` with the owner's answer,
  answered with the result), measured beside it (``ray_owner_models``). Target: ≤ 2 ms
  median. Beside them, ``actor_call_ms_median``: one async actor call that does no work, the
  floor under each call.
* ``--evals`` evaluations of one ``llm`` step on ``sim:latency_ms=300`` (one run per example,
  ``--concurrency`` at once): wall time and the peak RSS of the driver plus every process of
  the cluster. Targets: ≤ 10 s wall, ≤ 1 GB RSS.

The cluster is :class:`evopipe.ray.local.LocalCluster` (loopback, usage stats off), started
and stopped by this script, in two shapes of 2 CPUs: one node of two CPUs, two nodes of one.
Writes ``bench/results/distributed.json``.

    .venv/bin/python bench/distributed.py [--steps 200] [--evals 200] [--concurrency 100]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

from evopipe.app import App, Settings

HERE = Path(__file__).parent
RESULTS = HERE / "results" / "distributed.json"
SRC = HERE.parent / "src"


def _chain(n: int) -> str:
    steps = ["  - {id: s0, kind: llm, prompt: p0}"]
    steps += [f"  - {{id: s{i}, kind: llm, prompt: p{i}, needs: [s{i - 1}]}}" for i in range(1, n)]
    head = "apiVersion: evopipe/v1\nkind: Pipeline\nname: chain\nsteps:\n"
    return head + "\n".join(steps) + "\n"


ONE = """\
apiVersion: evopipe/v1
kind: Pipeline
name: one
inputs:
  q: {type: string}
outputs:
  a: "{{ steps.answer.output }}"
steps:
  - {id: answer, kind: llm, prompt: "{{ inputs.q }}", model: "sim:latency_ms=300"}
"""


def _rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


class _PeakRss:
    """Samples the RSS of the driver and the cluster every 100 ms."""

    def __init__(self, pids: Any) -> None:
        self.pids, self.peak, self._stop = pids, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self.peak = max(self.peak, _rss_mb([os.getpid(), *self.pids()]))

    def __enter__(self) -> _PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _durations(app: App, path: Path) -> list[float]:
    result = app.runs.run_sync(str(path), {})
    assert result.status == "succeeded", result.error
    return [s.duration_ms for s in result.steps]


async def _evals(app: App, path: Path, n: int, concurrency: int) -> float:
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with gate:
            result = await app.runs.run(str(path), {"q": f"question {i}"})
            assert result.status == "succeeded", result.error

    t0 = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    return time.perf_counter() - t0


async def _actor_call_ms(actor: Any, n: int = 200) -> float:
    """Median round trip of one async actor call that does no work (``reply`` to a call the
    worker does not know), from an event loop: the floor under a shipped step's calls."""
    from evopipe.ray.worker import pack

    times = []
    for i in range(n + 20):
        t0 = time.perf_counter()
        await asyncio.wrap_future(actor.reply.remote("none", pack([])).future())
        if i >= 20:  # warm-up
            times.append((time.perf_counter() - t0) * 1000)
    return round(statistics.median(times), 3)


def _measure(
    executor: str, address: str, tmp: Path, args: Any, cluster: Any, models: str = "worker"
) -> dict[str, Any]:
    settings = Settings.load(
        tmp,
        environ={},
        persist=False,
        default_model="fake",
        executor=executor,
        ray_address=address,
        ray_models=models,
    )
    chain, one = tmp / "chain.yaml", tmp / "one.yaml"
    with App(settings) as app:
        _durations(app, chain)  # warm-up: the pool, imports, plans
        per_step = [d for _ in range(3) for d in _durations(app, chain)]  # 3 runs: less noise
        if models == "owner":
            return {"step_ms_median": round(statistics.median(per_step), 3)}
        with _PeakRss(cluster.pids if executor == "ray" else list) as rss:
            wall = asyncio.run(_evals(app, one, args.evals, args.concurrency))
        floor = {}
        if executor == "ray":
            pool: Any = app.executor
            floor["actor_call_ms_median"] = asyncio.run(_actor_call_ms(pool.pool()[0]))
    return {
        "step_ms_median": round(statistics.median(per_step), 3),
        "evals_wall_s": round(wall, 3),
        "peak_rss_mb": round(rss.peak, 1),
        **floor,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--evals", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=100)
    args = parser.parse_args()
    import tempfile

    try:
        import ray
    except ImportError:
        print("bench/distributed.py: skipped, Ray is not installed (pip install 'evopipe[ray]')")
        return
    from evopipe.ray.local import LocalCluster, wait_for_nodes

    load = os.getloadavg()[0]
    env = {"PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    shapes = []
    for nodes in (1, 2):  # 2 CPUs either way: one node of 2, or two nodes of 1
        cluster = LocalCluster(nodes, cpus_per_node=2 // nodes, env=env)
        with tempfile.TemporaryDirectory() as tmpdir, cluster as address:
            tmp = Path(tmpdir)
            (tmp / "chain.yaml").write_text(_chain(args.steps), encoding="utf-8")
            (tmp / "one.yaml").write_text(ONE, encoding="utf-8")
            ray.init(address=address, log_to_driver=False)
            wait_for_nodes(ray, nodes)
            local = _measure("local", address, tmp, args, cluster)
            on_ray = _measure("ray", address, tmp, args, cluster)
            owner = _measure("ray", address, tmp, args, cluster, models="owner")
            ray.shutdown()
        shapes.append(
            {
                "cluster": f"LocalCluster: {nodes} node(s) x {2 // nodes} CPU, loopback",
                "local": local,
                "ray": on_ray,
                "ray_owner_models": owner,
                "dispatch_overhead_ms_median": round(
                    on_ray["step_ms_median"] - local["step_ms_median"], 3
                ),
                "dispatch_overhead_ms_median_owner_models": round(
                    owner["step_ms_median"] - local["step_ms_median"], 3
                ),
            }
        )
    out = {
        "machine": {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "ray": ray.__version__,
        },
        "steps": args.steps,
        "evals": args.evals,
        "concurrency": args.concurrency,
        "shapes": shapes,
        "targets": {"dispatch_overhead_ms_median": 2.0, "evals_wall_s": 10.0, "peak_rss_mb": 1024},
        "note": "peak_rss_mb: the driver plus every process of the cluster (Ray's own daemons "
        "included); the local executor's figure is the driver alone. actor_call_ms_median: "
        "one async Ray actor call doing no work; a shipped model step makes one (models on "
        "the workers, the default) or two (ray_models = owner)",
        "load_average_before": round(load, 2),
    }
    RESULTS.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
