"""Distributed execution on Ray: an executor for the engine's seam (Ray is optional).

The journal stays the only truth: Ray runs step attempts, the run owner journals their
results. See docs/ray.md and :mod:`evopipe.ray.executor`.
"""

from __future__ import annotations

from evopipe.ray.executor import (
    RayExecutor,
    RayUnavailableError,
    StepOutOfMemory,
    StepWorkerLost,
    import_ray,
)

__all__ = [
    "RayExecutor",
    "RayUnavailableError",
    "StepOutOfMemory",
    "StepWorkerLost",
    "import_ray",
]
