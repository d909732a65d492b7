"""Bottom-up, type-directed enumeration of tool programs, checked on examples for free.

Breadth first over program length: every program of length ``k`` is extended by every
production that takes its value's type. Each candidate runs on all the examples at once (tools
are pure and in process: no model call), and **observational equivalence** prunes the space —
a program whose values on the examples equal those of an earlier (shorter) one is dropped,
since anything built on it would repeat the earlier one's results. Programs whose values are
answers are scored against the expected answers as they are built; the search stops at the
first program that answers every example, or when the budget (programs tried, seconds, length)
is spent, and returns the best program seen (most examples right, then shortest, then first
in the grammar's fixed order) — deterministic for the same examples and budget, unless the
time cap cuts it short.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from evopipe.evolve.search.grammar import ANSWER_TYPES, Production, value_type
from evopipe.evolve.search.program import Program
from evopipe.spec.errors import EvopipeError


@dataclass(frozen=True)
class SearchBudget:
    """How much search one operator application may spend (no model calls either way)."""

    max_programs: int = 20_000
    """Candidate programs run on the examples."""
    max_seconds: float = 30.0
    """A safety cap on wall time; the programs budget is what makes runs reproducible."""
    max_length: int = 4
    """Tool calls per program."""


@dataclass(frozen=True)
class Found:
    """The search's answer: the best program, its hits on the examples, what was spent."""

    program: Program | None
    hits: int
    examples: int
    tried: int
    kept: int
    seconds: float
    exhausted: bool
    """True when the budget ran out before the space (up to ``max_length``) was covered."""


class _Error:
    """A value that is a tool error (or no match): it propagates and never scores."""


ERROR = _Error()


@dataclass(frozen=True)
class _Node:
    program: Program
    type: str
    values: tuple[Any, ...]


def same(got: Any, expected: Any) -> bool:
    """An answer equals the expected one: numbers by value, text by stripped case-folded text
    (``True`` equals ``"true"``)."""
    if got is ERROR or got is None or expected is None:
        return False
    a, b = str(got).strip(), str(expected).strip()
    if _NUMBER.fullmatch(a) and _NUMBER.fullmatch(b):
        return float(a) == float(b)
    return a.casefold() == b.casefold()


_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")


def node_type(values: Sequence[Any]) -> str | None:
    kinds = {value_type(v) for v in values if v is not ERROR}
    if len(kinds) != 1:
        return None
    return kinds.pop()


class _Search:
    def __init__(
        self, expected: Sequence[Any], grammar: Sequence[Production], budget: SearchBudget
    ) -> None:
        self.expected = list(expected)
        self.grammar = list(grammar)
        self.budget = budget
        self.seen: set[str] = set()
        self.best: tuple[int, Program] | None = None
        self.tried = 0
        self.started = time.monotonic()

    def out_of_budget(self) -> bool:
        return (
            self.tried >= self.budget.max_programs
            or time.monotonic() - self.started >= self.budget.max_seconds
        )

    def perfect(self) -> bool:
        return self.best is not None and self.best[0] == len(self.expected)

    def admit(self, program: Program, values: tuple[Any, ...]) -> _Node | None:
        """Keep a program unless its values repeat an earlier one's; score it if it answers."""
        kind = node_type(values)
        if kind is None:
            return None
        key = kind + json.dumps([None if v is ERROR else v for v in values], default=str)
        if key in self.seen:
            return None
        self.seen.add(key)
        if kind in ANSWER_TYPES and program.calls:
            hits = sum(same(v, e) for v, e in zip(values, self.expected, strict=True))
            if hits and (self.best is None or hits > self.best[0]):
                self.best = (hits, program)
        return _Node(program, kind, values)

    def extend(self, node: _Node) -> list[_Node]:
        out: list[_Node] = []
        for prod in self.grammar:
            if node.type not in prod.takes:
                continue
            if self.out_of_budget() or self.perfect():
                break
            self.tried += 1
            values = tuple(_apply(prod, v) for v in node.values)
            child = self.admit(node.program.then(prod.call), values)
            if child is not None:
                out.append(child)
        return out


def _apply(prod: Production, value: Any) -> Any:
    if value is ERROR:
        return ERROR
    try:
        out = prod.call(value)
    except EvopipeError:
        return ERROR
    return ERROR if out is None else out


def search(
    sources: Mapping[str, Sequence[Any]],
    expected: Sequence[Any],
    grammar: Sequence[Production],
    budget: SearchBudget | None = None,
) -> Found:
    """The best program over ``grammar`` reading one of ``sources`` (template path → the
    source's value on each example; ``ERROR`` where it has none) for the ``expected`` answers."""
    run = _Search(expected, grammar, budget or SearchBudget())
    frontier: list[_Node] = []
    for name, values in sources.items():
        node = run.admit(Program(name), tuple(values))
        if node is not None:
            frontier.append(node)
    for _length in range(run.budget.max_length):
        if run.out_of_budget() or run.perfect() or not frontier:
            break
        frontier = [child for node in frontier for child in run.extend(node)]
    best = run.best
    return Found(
        program=best[1] if best else None,
        hits=best[0] if best else 0,
        examples=len(run.expected),
        tried=run.tried,
        kept=len(run.seen),
        seconds=time.monotonic() - run.started,
        exhausted=run.out_of_budget(),
    )
