"""A throwaway Ray cluster on this machine: a head and more nodes, on loopback.

For tests, benchmarks and trying the Ray executor out without a real cluster::

    with LocalCluster(nodes=2, cpus_per_node=1) as address:
        ...  # evopipe run p.yaml --executor ray --ray-address <address>

Each node is a ``ray start --block`` process in a process group of its own, so that
:meth:`LocalCluster.stop` stops exactly these nodes (never ``ray stop``, which stops every
Ray on the machine). Usage stats are off. ``env`` reaches the nodes' workers (e.g. a
``PYTHONPATH`` with a checkout of evopipe).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evopipe.ray.executor import import_ray
from evopipe.spec.errors import EvopipeError


class ClusterStartError(EvopipeError):
    """A node of the local cluster did not start (its log is named)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalCluster:
    """``nodes`` Ray nodes (the first is the head) with ``cpus_per_node`` CPUs each."""

    def __init__(
        self,
        nodes: int = 2,
        *,
        cpus_per_node: int = 1,
        object_store_bytes: int = 80_000_000,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.nodes = nodes
        self.cpus_per_node = cpus_per_node
        self.object_store_bytes = object_store_bytes
        self.env = {**os.environ, **(env or {}), "RAY_USAGE_STATS_ENABLED": "0"}
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.temp = Path(tempfile.mkdtemp(prefix="epr", dir="/tmp"))  # Ray's socket paths
        self.procs: list[subprocess.Popen[bytes]] = []
        self._ray = Path(sys.executable).parent / "ray"

    def start(self, timeout_s: float = 90.0) -> str:
        """Start the nodes; returns the address once every node takes work."""
        import_ray()
        common = [
            "--node-ip-address=127.0.0.1",
            f"--num-cpus={self.cpus_per_node}",
            f"--object-store-memory={self.object_store_bytes}",
        ]
        head = [
            "--head",
            f"--port={self.port}",
            "--include-dashboard=false",
            "--disable-usage-stats",
            f"--temp-dir={self.temp}",
        ]
        self._spawn([*head, *common], "head")
        self._wait_port(timeout_s)
        for n in range(1, self.nodes):
            self._spawn([f"--address={self.address}", *common], f"node{n}")
        return self.address

    def pids(self) -> list[int]:
        """Process ids of every process of the cluster (its process groups)."""
        groups = {p.pid for p in self.procs}
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if os.getpgid(int(entry.name)) in groups:
                        found.append(int(entry.name))
                except OSError:
                    continue
        return found

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=10)
        self.procs = []

    def __enter__(self) -> str:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _spawn(self, args: list[str], name: str) -> None:
        with (self.temp / f"{name}.log").open("wb") as out:
            self.procs.append(
                subprocess.Popen(
                    [str(self._ray), "start", "--block", *args],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env=self.env,
                    start_new_session=True,  # its own group: stop() ends exactly it
                )
            )

    def _wait_port(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while True:  # the head's GCS must listen before another node can join
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.procs[0].poll() is not None or time.monotonic() > deadline:
                    message = f"the Ray head did not start; see {self.temp}"
                    raise ClusterStartError(message) from None
                time.sleep(0.3)


def wait_for_nodes(ray: Any, count: int, timeout_s: float = 90.0) -> list[str]:
    """Wait (as a connected driver) until ``count`` nodes are alive and each runs an actor
    (a node is listed alive a moment before it takes work); returns their ids."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    from evopipe.ray.worker import StepWorker

    deadline = time.monotonic() + timeout_s
    while True:
        alive = [n["NodeID"] for n in ray.nodes() if n["Alive"]]
        if len(alive) >= count:
            break
        if time.monotonic() > deadline:
            raise ClusterStartError(f"the Ray cluster did not reach {count} nodes")
        time.sleep(0.5)
    worker = ray.remote(StepWorker)
    probes = [
        worker.options(
            num_cpus=0, scheduling_strategy=NodeAffinitySchedulingStrategy(n, soft=False)
        ).remote()
        for n in alive
    ]
    ray.get([p.where.remote() for p in probes], timeout=timeout_s)
    for p in probes:
        ray.kill(p)
    return alive
