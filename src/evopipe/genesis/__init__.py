"""Genesis: a request in plain language → a validated, runnable pipeline.

Pattern retrieval (SQLite FTS5/BM25), generation constrained to the format's JSON Schema,
deterministic repairs, a model repair loop and a dry run with the fake model.
"""

from evopipe.genesis.patterns import Pattern, load_patterns
from evopipe.genesis.repairs import REPAIRS, apply_repairs
from evopipe.genesis.retrieval import retrieve

__all__ = ["REPAIRS", "Pattern", "apply_repairs", "load_patterns", "retrieve"]
