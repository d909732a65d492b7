"""A real local Ray cluster for the ``ray`` tests: a head and a second node, on loopback.

:class:`evopipe.ray.local.LocalCluster` starts both nodes (``ray start --block``, each in a
process group of its own, usage stats off) and stops exactly them at the end of the session.
Workers import evopipe from this checkout (``PYTHONPATH``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from ray_helpers import ray_env


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[str]:
    """``HOST:PORT`` of a two-node cluster; this process is connected to it as a driver."""
    ray = pytest.importorskip("ray", reason="needs the ray extra: pip install 'evopipe[ray]'")
    from evopipe.ray.local import LocalCluster, wait_for_nodes

    with LocalCluster(nodes=2, cpus_per_node=1, env=ray_env()) as address:
        ray.init(address=address, log_to_driver=False, namespace="evopipe-tests")
        try:
            wait_for_nodes(ray, 2)
            yield address
        finally:
            ray.shutdown()
