"""Where actors go: dealt round robin over the cluster's alive nodes, with a hard affinity.

Ray's soft affinity and ``SPREAD`` pile zero-CPU actors on one node (seen in our tests); a hard
affinity keeps the spread, and a killed actor restarts on its own node. An actor whose node is
gone dies for good (``ActorDiedError``): its owner replaces it.
"""

from __future__ import annotations

from typing import Any


def spread(
    ray: Any, actor_class: type, count: int, *args: Any, first: int = 0, **options: Any
) -> list[Any]:
    """``count`` actors of ``actor_class`` (built with ``args``; Ray ``options``), the i-th on
    alive node ``(first + i) % nodes``."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    nodes = sorted(n["NodeID"] for n in ray.nodes() if n["Alive"])
    remote = ray.remote(actor_class)
    actors = []
    for i in range(first, first + count):
        place = NodeAffinitySchedulingStrategy(nodes[i % len(nodes)], soft=False)
        actors.append(remote.options(scheduling_strategy=place, **options).remote(*args))
    return actors
