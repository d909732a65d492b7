"""The rule table: every rule, in the order its diagnostics are documented."""

from __future__ import annotations

from evopipe.check.registry import Rule
from evopipe.check.rules import contracts, dataflow, generated, limits, loader, policy, structure

RULES: tuple[Rule, ...] = (
    *loader.RULES,
    *structure.RULES,
    *dataflow.RULES,
    *contracts.RULES,
    *policy.RULES,
    *limits.RULES,
    *generated.RULES,
)
"""Every rule; a rule runs when its profile is selected and it has a check function."""

RULES_BY_NAME: dict[str, Rule] = {rule.name: rule for rule in RULES}
if len(RULES_BY_NAME) != len(RULES):  # pragma: no cover - guards the table itself
    raise RuntimeError("duplicate rule names in the rule table")
