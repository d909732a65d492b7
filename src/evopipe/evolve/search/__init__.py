"""Program search over the toolbox: grammar, enumeration, programs → ``tool`` steps."""

from __future__ import annotations

from evopipe.evolve.search.enumerate import ERROR, Found, SearchBudget, same, search
from evopipe.evolve.search.grammar import Mined, Production, mine, productions
from evopipe.evolve.search.program import Call, Program

__all__ = [
    "ERROR",
    "Call",
    "Found",
    "Mined",
    "Production",
    "Program",
    "SearchBudget",
    "mine",
    "productions",
    "same",
    "search",
]
