"""Docs that cannot drift: generated files are fresh, every kind has a valid example file,
YAML pipelines shown in docs/format.md validate, and the shipped schema accepts the examples."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from evopipe import docgen
from evopipe.check import RULES, CheckOptions, check_file, check_text
from evopipe.spec.kinds import KIND_MODELS, UNSAFE_KINDS

ROOT = Path(__file__).resolve().parents[2]
KINDS_DIR = ROOT / "examples" / "kinds"


def test_generated_files_are_fresh(capsys: pytest.CaptureFixture[str]) -> None:
    assert docgen.main(["--check"]) == 0, capsys.readouterr().err


@pytest.mark.parametrize("kind", sorted(KIND_MODELS))
def test_every_kind_has_a_valid_example(kind: str) -> None:
    path = KINDS_DIR / f"{kind}.yaml"
    assert path.exists(), f"examples/kinds/{kind}.yaml is missing"
    trusted = kind in UNSAFE_KINDS
    found = check_file(path, options=CheckOptions(trusted=trusted))
    assert found == [], [d.format() for d in found]
    data = yaml.safe_load(path.read_text())
    assert any(step["kind"] == kind for step in data["steps"])
    if trusted:
        untrusted = check_file(path)
        assert {d.rule for d in untrusted} == {"unsafe-kind"}


@pytest.mark.parametrize("path", sorted(KINDS_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_schema_accepts_the_examples(path: Path) -> None:
    schema = json.loads(docgen.SCHEMA_FILE.read_text())
    jsonschema.Draft202012Validator(schema).validate(yaml.safe_load(path.read_text()))


def _yaml_blocks(markdown: str) -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", markdown, flags=re.DOTALL)


def test_pipelines_in_format_md_validate() -> None:
    blocks = [b for b in _yaml_blocks((ROOT / "docs" / "format.md").read_text()) if "steps:" in b]
    assert len(blocks) >= len(KIND_MODELS) + 1
    for block in blocks:
        trusted = "trusted policy only" in block
        found = check_text(block, options=CheckOptions(base_dir=KINDS_DIR, trusted=trusted))
        assert found == [], [d.format() for d in found]


def test_every_rule_is_documented() -> None:
    text = (ROOT / "docs" / "rules.md").read_text()
    for rule in RULES:
        assert f"## {rule.name}\n" in text
