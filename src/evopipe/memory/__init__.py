"""The collective memory: what every generation and evolution can learn from.

- the **pattern DB** (:mod:`evopipe.memory.patterns`): promoted champions and certified
  pipelines, retrieved by genesis beside the shipped patterns and drawn from by ``transplant``;
- the **failure museum** (:mod:`evopipe.memory.failures`): failures clustered by cause;
- the **innovation gallery** (:mod:`evopipe.memory.innovations`): structures that improved
  fitness for the first time, with the lineage that found them.

It sits just above the store, below genesis and evolve, so both can read it.
"""

from __future__ import annotations

from evopipe.memory.patterns import PatternDB, PatternNotFoundError, StoredPattern

__all__ = ["PatternDB", "PatternNotFoundError", "StoredPattern"]
