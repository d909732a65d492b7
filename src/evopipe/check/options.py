"""Options of a check run: where files resolve from, which models exist, the trust policy."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from evopipe.spec.catalog import builtin_kinds_where


@dataclass(frozen=True, slots=True)
class GeneratedOptions:
    """Knobs of the ``generated`` profile (rules for machine-written pipelines)."""

    contract_kinds: frozenset[str] = field(default_factory=lambda: builtin_kinds_where("prompted"))
    """Step kinds that must declare an output contract (default: the prompted kinds)."""
    require_description: bool = True
    """The pipeline must say what it does (``description``)."""
    require_budget: bool = True
    """``limits`` must bound the run (``max_cost_usd`` or ``max_tokens``)."""
    max_map_nesting: int = 2
    """At most this many map/loop bodies inside each other."""


@dataclass(frozen=True, slots=True)
class CheckOptions:
    """How to check: the pipeline's directory, a model predicate, the trust policy."""

    base_dir: Path | None = None
    """Directory relative paths (``schema_file``, sub-pipelines) resolve from; default: the
    checked file's directory, else the working directory."""
    known_model: Callable[[str], bool] | None = None
    """Does a model id exist? None: accept the built-in provider prefixes (see
    :func:`evopipe.check.models_known.static_known_model`)."""
    trusted: bool = False
    """False (default): the untrusted policy — ``shell``, ``python`` and ``http`` are errors."""
    generated: GeneratedOptions = field(default_factory=GeneratedOptions)
