"""Meta limits over a whole generate-and-run tree (like Wave's manifest), and the mutable
budget that one tree shares. A budget is passed explicitly; nothing is process-global."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from evopipe.genesis.errors import MetaLimitExceeded


@dataclass(frozen=True)
class MetaLimits:
    """Caps for everything generation does under one top-level request."""

    max_depth: int = 3
    """How deep ``generate`` steps may nest (a generated pipeline generating another ...)."""
    max_total_steps: int = 500
    """Steps run by genesis pipelines (drafts, repairs) and dry runs, over the tree."""
    max_total_tokens: int = 500_000
    """Model tokens spent by generation over the tree."""
    timeout_s: float = 900.0
    """Wall time of the whole tree."""


@dataclass
class MetaBudget:
    """What one generate-and-run tree has used so far."""

    limits: MetaLimits = field(default_factory=MetaLimits)
    steps: int = 0
    tokens: int = 0
    generations: int = 0
    started: float = field(default_factory=time.monotonic)

    def remaining_s(self) -> float:
        return self.limits.timeout_s - (time.monotonic() - self.started)

    def remaining_tokens(self) -> int:
        return self.limits.max_total_tokens - self.tokens

    def remaining_steps(self) -> int:
        return self.limits.max_total_steps - self.steps

    def charge(self, *, steps: int = 0, tokens: int = 0) -> None:
        self.steps += steps
        self.tokens += tokens

    def check(self, depth: int = 0) -> None:
        """Raise :class:`MetaLimitExceeded` naming the first exhausted limit."""
        if depth > self.limits.max_depth:
            raise MetaLimitExceeded(
                "depth-exceeded",
                f"generation at depth {depth} exceeds max_depth {self.limits.max_depth}",
            )
        if self.remaining_steps() <= 0:
            raise MetaLimitExceeded(
                "steps-exceeded",
                f"{self.steps} steps ≥ max_total_steps {self.limits.max_total_steps}",
            )
        if self.remaining_tokens() <= 0:
            raise MetaLimitExceeded(
                "tokens-exceeded",
                f"{self.tokens} tokens ≥ max_total_tokens {self.limits.max_total_tokens}",
            )
        if self.remaining_s() <= 0:
            raise MetaLimitExceeded("timeout", f"over {self.limits.timeout_s} s")
