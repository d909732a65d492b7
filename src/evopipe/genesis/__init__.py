"""Genesis: a request in plain language → a validated, runnable pipeline.

Pattern retrieval (SQLite FTS5/BM25), generation constrained to the format's JSON Schema,
deterministic repairs, a model repair loop and a dry run with the fake model.

Only light modules are imported here (opening a store imports :mod:`evopipe.genesis.migrations`);
:func:`generate`, :func:`agenerate` and :func:`make_generator` load the engine on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from evopipe.genesis.errors import GenerationError, MetaLimitExceeded
from evopipe.genesis.limits import MetaBudget, MetaLimits
from evopipe.genesis.patterns import Pattern, load_patterns
from evopipe.genesis.repairs import REPAIRS, apply_repairs
from evopipe.genesis.retrieval import retrieve

if TYPE_CHECKING:
    from evopipe.genesis.driver import agenerate, generate
    from evopipe.genesis.hook import make_generator
    from evopipe.genesis.result import GenerationResult, Round

__all__ = [
    "REPAIRS",
    "GenerationError",
    "GenerationResult",
    "MetaBudget",
    "MetaLimitExceeded",
    "MetaLimits",
    "Pattern",
    "Round",
    "agenerate",
    "apply_repairs",
    "generate",
    "load_patterns",
    "make_generator",
    "retrieve",
]

_LAZY = {
    "agenerate": "evopipe.genesis.driver",
    "generate": "evopipe.genesis.driver",
    "make_generator": "evopipe.genesis.hook",
    "GenerationResult": "evopipe.genesis.result",
    "Round": "evopipe.genesis.result",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'evopipe.genesis' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
