"""The nursery and the factory: young pipelines are certified in stages before release, and
pipelines are mass-produced for a list of needs.

- :func:`~evopipe.nursery.certify.certify`: smoke → dataset → robustness (injected faults) →
  certified, each gate recorded (:mod:`evopipe.nursery.stages`);
- :mod:`evopipe.nursery.factory`: a batch of requests → generate, (certify,) register,
  deduplicated against the registry, resumable after a kill.
"""

from __future__ import annotations

from evopipe.nursery.stages import STAGES, NurseryConfig, NurseryError, StageResult

__all__ = ["STAGES", "NurseryConfig", "NurseryError", "StageResult"]
