"""Budgets over a whole run tree: steps, tokens, cost and wall time.

One :class:`Budget` per run; a sub-pipeline's budget has its parent as ``parent``, so every
charge counts against every ancestor (sub-pipelines and generated pipelines count against the
run that started them). Exceeding a limit raises :class:`BudgetExceeded` naming it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from evopipe.engine.types import UsageTotals
from evopipe.spec.errors import EvopipeError


def add_cost(a: float | None, b: float | None) -> float | None:
    """Sum of two costs; unknown (``None``) when either is unknown — never a silent 0."""
    return None if a is None or b is None else a + b


class BudgetExceeded(EvopipeError):
    """A run-tree budget was exhausted; ``budget`` names it (``max_tokens`` ...)."""

    def __init__(self, budget: str, message: str) -> None:
        super().__init__(f"budget exceeded: {budget} ({message})")
        self.budget = budget
        self.owner: Budget | None = None


@dataclass(frozen=True, slots=True)
class Limits:
    max_steps: int | None = None
    max_tokens: int | None = None
    max_cost_usd: float | None = None
    timeout_s: float | None = None


class Budget:
    """Counters of one run (and, through ``parent``, of its ancestors)."""

    __slots__ = (
        "calls",
        "cost_usd",
        "deadline",
        "exceeded",
        "input_tokens",
        "limits",
        "output_tokens",
        "parent",
        "steps",
        "unpriced",
    )

    def __init__(self, limits: Limits, parent: Budget | None = None) -> None:
        self.limits = limits
        self.parent = parent
        self.steps = 0
        self.input_tokens = 0
        self.output_tokens = 0
        self.cost_usd = 0.0
        self.calls = 0
        self.unpriced = 0
        """Calls whose price is unknown: the run's cost is then unknown too."""
        self.exceeded: BudgetExceeded | None = None
        self.deadline = time.monotonic() + limits.timeout_s if limits.timeout_s else None

    def remaining_s(self) -> float | None:
        """Seconds left before the nearest deadline of this budget or an ancestor."""
        best: float | None = None
        node: Budget | None = self
        now = time.monotonic()
        while node is not None:
            if node.deadline is not None:
                left = node.deadline - now
                best = left if best is None else min(best, left)
            node = node.parent
        return best

    def timeout_owner(self) -> Budget | None:
        node: Budget | None = self
        best: Budget | None = None
        while node is not None:
            if node.deadline is not None and (best is None or node.deadline < (best.deadline or 0)):
                best = node
            node = node.parent
        return best

    def charge_step(self) -> None:
        node: Budget | None = self
        while node is not None:
            node.steps += 1
            limit = node.limits.max_steps
            if limit is not None and node.steps > limit:
                node._fail("max_steps", f"more than {limit} steps")
            # steps that never suspend (tool, set, loops of them) starve asyncio.timeout
            if node.deadline is not None and time.monotonic() >= node.deadline:
                node._fail("timeout_s", f"{node.limits.timeout_s} s elapsed")
            node = node.parent

    def check(self) -> None:
        """Raise if any budget of the chain is already exhausted (before a model call)."""
        node: Budget | None = self
        while node is not None:
            if node.exceeded is not None:
                raise node.exceeded
            lim = node.limits
            if (
                lim.max_tokens is not None
                and node.input_tokens + node.output_tokens >= lim.max_tokens
            ):
                node._fail("max_tokens", f"{lim.max_tokens} tokens used")
            if lim.max_cost_usd is not None and node.cost_usd >= lim.max_cost_usd:
                node._fail("max_cost_usd", f"${lim.max_cost_usd} spent")
            if node.deadline is not None and time.monotonic() >= node.deadline:
                node._fail("timeout_s", f"{lim.timeout_s} s elapsed")
            node = node.parent

    def add_usage(
        self,
        input_tokens: int,
        output_tokens: int,
        cost_usd: float | None,
        calls: int,
        model: str | None = None,
    ) -> None:
        """Account a model call (``cost_usd=None``: no known price); raise if a limit is now
        exceeded — or cannot be enforced (a USD limit and a call without a price)."""
        node: Budget | None = self
        while node is not None:
            node.input_tokens += input_tokens
            node.output_tokens += output_tokens
            if cost_usd is None:
                node.unpriced += calls or 1
            else:
                node.cost_usd += cost_usd
            node.calls += calls
            node = node.parent
        node = self
        while node is not None:
            lim = node.limits
            tokens = node.input_tokens + node.output_tokens
            if lim.max_tokens is not None and tokens > lim.max_tokens:
                node._fail("max_tokens", f"{tokens} tokens used, limit {lim.max_tokens}")
            if lim.max_cost_usd is not None and cost_usd is None:
                node._fail("max_cost_usd", unpriced_message(model, lim.max_cost_usd))
            if lim.max_cost_usd is not None and node.cost_usd > lim.max_cost_usd:
                node._fail("max_cost_usd", f"${node.cost_usd:.6f} spent, limit ${lim.max_cost_usd}")
            node = node.parent

    def refuse_unpriced(self, model: str) -> None:
        """Before calling a model without a known price: a USD limit could not be enforced."""
        node: Budget | None = self
        while node is not None:
            if node.limits.max_cost_usd is not None:
                node._fail("max_cost_usd", unpriced_message(model, node.limits.max_cost_usd))
            node = node.parent

    def fail_timeout(self) -> BudgetExceeded:
        owner = self.timeout_owner() or self
        if owner.exceeded is None:
            owner.exceeded = BudgetExceeded("timeout_s", f"{owner.limits.timeout_s} s elapsed")
            owner.exceeded.owner = owner
        return owner.exceeded

    def _fail(self, name: str, message: str) -> None:
        if self.exceeded is None:
            self.exceeded = BudgetExceeded(name, message)
            self.exceeded.owner = self
        raise self.exceeded

    def usage(self) -> UsageTotals:
        cost = None if self.unpriced else self.cost_usd
        return UsageTotals(self.input_tokens, self.output_tokens, cost, self.calls)


def unpriced_message(model: str | None, limit: float) -> str:
    name = model or "a model"
    return (
        f"limit ${limit} cannot be enforced: {name} has no known price; add "
        f'[prices."{name}"] to evopipe.toml, or bound the run with max_tokens instead'
    )
