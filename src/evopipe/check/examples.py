"""Run a rule's documented examples (used by the docs generator and the tests)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from evopipe.check.api import check_file
from evopipe.check.options import CheckOptions
from evopipe.check.registry import Example, Rule
from evopipe.spec.errors import Diagnostic


def example_profile(rule: Rule) -> str:
    """The profile an example runs under: ``default`` unless the rule is not in it."""
    return "default" if "default" in rule.profiles else sorted(rule.profiles)[0]


def run_example(rule: Rule, example: Example, directory: Path | None = None) -> list[Diagnostic]:
    """Write the example (and its extra files) into ``directory`` and check it there.

    Paths in the diagnostics are relative to the directory (``pipeline.yaml``)."""
    if directory is None:
        with tempfile.TemporaryDirectory() as tmp:
            return run_example(rule, example, Path(tmp))
    (directory / "pipeline.yaml").write_text(example.text, encoding="utf-8")
    for name, text in example.files.items():
        target = directory / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    options = CheckOptions(base_dir=directory, trusted=example.trusted)
    found = check_file(directory / example.path, profile=example_profile(rule), options=options)
    return [
        Diagnostic(
            d.rule,
            _relative(d.message, directory),
            d.severity,
            _relative(d.path, directory),
            d.line,
            d.column,
            d.where,
            _relative(d.hint, directory),
        )
        for d in found
    ]


def _relative(text: str, directory: Path) -> str:
    for spelled in (str(directory), str(directory.resolve())):
        text = text.replace(spelled + "/", "").replace(spelled, ".")
    return text
