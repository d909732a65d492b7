"""Settings of one evolution run, and the hooks that watch it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from evopipe.evolve.fitness import OBJECTIVES
from evopipe.spec.errors import EvopipeError


class EvolveConfigError(EvopipeError):
    """An evolution setting is out of range or names something unknown."""


DEFAULT_OPERATORS: tuple[str, ...] = (
    "reflect",
    "bootstrap",
    "instruction",
    "params",
    "demo_select",
    "clause",
    "format_constraint",
    "model_switch",
    "insert_tool",
    "tool_search",
    "insert_verifier",
    "insert_ensemble",
    "insert_json_repair",
    "remove",
    "parallelise",
    "transplant",
    "crossover",
)

SUPPLIED_OPERATORS: tuple[str, ...] = ("dspy_fewshot",)
"""Operators not in the built-in table: the application layer builds them for a run (they need
the session's models and an optional extra — ``dspy_fewshot``: DSPy's ``BootstrapFewShot``,
the ``dspy`` extra) and hands them to :func:`~evopipe.evolve.loop.start`."""


@dataclass(frozen=True)
class EvolveConfig:
    """How to evolve: budgets, population, objectives, splits, operators, seed."""

    generations: int = 5
    population: int = 4
    offspring: int = 4
    objectives: tuple[str, ...] = ("quality", "cost")
    budget_calls: int | None = None
    budget_usd: float | None = None
    seed: int = 0
    operators: tuple[str, ...] = DEFAULT_OPERATORS
    models: tuple[str, ...] = ()
    selection_split: str = "val"
    feedback_split: str = "train"
    feedback_size: int = 8
    patience: int = 3
    tries_per_slot: int = 4
    labels: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from evopipe.evolve.operators import OPERATORS

        if self.generations < 0 or self.population < 1 or self.offspring < 1:
            raise EvolveConfigError("generations must be >= 0, population and offspring >= 1")
        unknown = [o for o in self.objectives if o not in OBJECTIVES]
        if unknown or not self.objectives:
            raise EvolveConfigError(
                f"unknown objective(s) {unknown}; choose from {', '.join(OBJECTIVES)}"
            )
        known = [*OPERATORS, *SUPPLIED_OPERATORS]
        bad_ops = [o for o in self.operators if o not in known]
        if bad_ops or not self.operators:
            raise EvolveConfigError(
                f"unknown operator(s) {bad_ops}; choose from {', '.join(known)}"
            )
        if self.budget_calls is not None and self.budget_calls < 1:
            raise EvolveConfigError("--budget-calls must be >= 1")
        if self.budget_usd is not None and self.budget_usd <= 0:
            raise EvolveConfigError("--budget-usd must be > 0")

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("objectives", "operators", "models"):
            data[key] = list(data[key])
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EvolveConfig:
        values = dict(data)
        for key in ("objectives", "operators", "models"):
            values[key] = tuple(values.get(key, ()))
        return cls(**values)


@dataclass(frozen=True)
class Progress:
    """A snapshot for progress displays (after each evaluation and each generation)."""

    run_id: str
    event: str
    generation: int
    evaluations: int
    best_id: str
    best_quality: float
    front_size: int
    calls: int
    cost_usd: float
    operator_rates: dict[str, float]


class EvolveHook(Protocol):
    """Watches a run. Raising from it stops the run (the checkpoint stays resumable)."""

    def __call__(self, *, progress: Progress) -> None: ...
