"""Rules the loader reports while reading a file (YAML and schema level).

They have no check function: :func:`evopipe.spec.loader.parse_yaml` and
:func:`evopipe.spec.loader.load_source` produce them. They are listed here so that every rule
name has a doc line and tested examples.
"""

from __future__ import annotations

from evopipe.check.registry import Rule, edited, example

_GOOD = example(
    """
    apiVersion: evopipe/v1
    name: hello
    steps:
      - id: greet
        kind: llm
        prompt: Say hello.
        temperature: 0.2
    """
)

RULES = (
    Rule(
        "file-unreadable",
        "The file does not exist or is not UTF-8 text.",
        None,
        example("", 0, 0, path="missing.yaml"),
        _GOOD,
    ),
    Rule(
        "yaml-syntax",
        "The text is not well-formed YAML (or uses merge keys `<<` or non-scalar keys).",
        None,
        edited(
            _GOOD,
            ("prompt: Say hello.\n    temperature: 0.2\n", 'prompt: "Say hello.\n'),
            line=7,
            column=1,
        ),
        _GOOD,
    ),
    Rule(
        "duplicate-key",
        "A mapping has the same key twice (YAML would silently keep the last one).",
        None,
        edited(_GOOD, ("temperature: 0.2", "prompt: Say goodbye."), line=7, column=5),
        _GOOD,
    ),
    Rule(
        "unknown-key",
        "A key the format does not define (unknown keys are rejected everywhere).",
        None,
        edited(_GOOD, ("temperature:", "temprature:"), line=7, column=5),
        _GOOD,
    ),
    Rule(
        "missing-field",
        "A required field is absent.",
        None,
        edited(_GOOD, ("    prompt: Say hello.\n", ""), line=4, column=5),
        _GOOD,
    ),
    Rule(
        "bad-type",
        "A value has the wrong type or is out of range.",
        None,
        edited(_GOOD, ("temperature: 0.2", "temperature: hot"), line=7, column=18),
        _GOOD,
    ),
    Rule(
        "unknown-kind",
        "A step's `kind` is not a known step kind.",
        None,
        edited(
            _GOOD, ("kind: llm", "kind: lmm"), ("    temperature: 0.2\n", ""), line=5, column=11
        ),
        _GOOD,
    ),
)
