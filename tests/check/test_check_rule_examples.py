"""Every rule's documented examples: the bad one produces the rule at its line and column, the
good one produces nothing at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from evopipe.check import PROFILES, RULES, RULES_BY_NAME, Rule
from evopipe.check.examples import run_example


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_bad_example_produces_the_rule_at_its_position(rule: Rule, tmp_path: Path) -> None:
    found = run_example(rule, rule.bad, tmp_path)
    hits = [d for d in found if d.rule == rule.name]
    assert hits, f"{rule.name}: bad example produced {[d.format() for d in found]}"
    assert (hits[0].line, hits[0].column) == (rule.bad.line, rule.bad.column)
    assert hits[0].severity == rule.severity
    assert hits[0].message


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_good_example_is_clean(rule: Rule, tmp_path: Path) -> None:
    found = run_example(rule, rule.good, tmp_path)
    assert found == [], [d.format() for d in found]


def test_rule_table_is_well_formed() -> None:
    names = [r.name for r in RULES]
    assert len(names) == len(set(names)) == len(RULES_BY_NAME)
    for rule in RULES:
        assert rule.name == rule.name.lower()
        assert "_" not in rule.name
        assert rule.doc.endswith(".")
        assert "\n" not in rule.doc
        assert rule.profiles <= set(PROFILES)
    issue_rules = {
        "yaml-syntax", "unknown-key", "missing-field", "bad-type", "duplicate-step-id",
        "unknown-step", "dag-cycle", "template-syntax", "template-unknown-ref",
        "template-field-not-in-contract", "undeclared-dependency", "unknown-persona",
        "unknown-model", "contract-invalid", "contract-file-missing", "limits-exceeded",
        "unsafe-kind", "unreachable-step", "condition-syntax", "duplicate-key", "unknown-kind",
        "extract-without-contract",
    }  # fmt: skip
    assert issue_rules <= set(names)


def test_rule_names_are_not_kebab_case_fails() -> None:
    with pytest.raises(ValueError, match="kebab-case"):
        Rule("Bad_Name", "Doc.", None, RULES[0].bad, RULES[0].good)
