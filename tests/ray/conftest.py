"""A real local Ray cluster for the ``ray`` tests: a head and a second node, on loopback.

Both nodes are ``ray start --block`` processes in a process group of their own, so that the
teardown stops exactly them (never ``ray stop``, which would stop every Ray on the machine).
Workers import evopipe from this checkout (``PYTHONPATH``); usage stats are off.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
RAY_BIN = Path(sys.executable).parent / "ray"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ray_env() -> dict[str, str]:
    """The environment of the cluster's processes and of the drivers the tests start."""
    path = os.pathsep.join(p for p in (str(SRC), os.environ.get("PYTHONPATH", "")) if p)
    return {
        **os.environ,
        "RAY_USAGE_STATS_ENABLED": "0",
        "PYTHONPATH": path,
        "RAY_DEDUP_LOGS": "0",
    }


def _start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(RAY_BIN), "start", "--block", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=ray_env(),
            start_new_session=True,  # its own process group: the teardown stops only it
        )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def _wait_nodes(ray: Any, count: int, procs: list[subprocess.Popen[bytes]], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            raise RuntimeError(f"a Ray node exited; see {log.parent}")
        alive = [n["NodeID"] for n in ray.nodes() if n["Alive"]]
        if len(alive) >= count:
            _probe(ray, alive)
            return
        time.sleep(0.5)
    raise RuntimeError(f"the Ray cluster did not reach {count} nodes; see {log.parent}")


def _probe(ray: Any, nodes: list[str]) -> None:
    """Run a task on each node (a node is listed alive a moment before it takes work)."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    from evopipe.ray.worker import StepWorker

    probes = [
        ray.remote(StepWorker)
        .options(num_cpus=0, scheduling_strategy=NodeAffinitySchedulingStrategy(n, soft=False))
        .remote()
        for n in nodes
    ]
    ray.get([p.where.remote() for p in probes], timeout=60)
    for p in probes:
        ray.kill(p)


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[str]:
    """``HOST:PORT`` of a two-node cluster; this process is connected to it as a driver."""
    ray = pytest.importorskip("ray", reason="needs the ray extra: pip install 'evopipe[ray]'")
    if not RAY_BIN.exists():
        pytest.fail(f"ray is importable but {RAY_BIN} is missing")
    port = _free_port()
    address = f"127.0.0.1:{port}"
    temp = Path(tempfile.mkdtemp(prefix="ept", dir="/tmp"))  # short: Ray's socket paths
    common = ["--node-ip-address=127.0.0.1", "--num-cpus=1", "--object-store-memory=80000000"]
    head = _start(
        [
            "--head",
            f"--port={port}",
            "--include-dashboard=false",
            "--disable-usage-stats",
            f"--temp-dir={temp}",
            *common,
        ],
        temp / "head.log",
    )
    procs = [head]
    try:
        deadline = time.monotonic() + 60
        while True:  # the GCS must listen before a second node can join
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if head.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the Ray head did not start; see {temp}") from None
                time.sleep(0.3)
        procs.append(_start([f"--address={address}", *common], temp / "node.log"))
        ray.init(address=address, log_to_driver=False, namespace="evopipe-tests")
        _wait_nodes(ray, 2, procs, temp / "head.log")
        yield address
    finally:
        if ray.is_initialized():
            ray.shutdown()
        for proc in reversed(procs):
            _stop(proc)
