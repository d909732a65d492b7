"""Deterministic repairs: pure functions on raw documents, each registered in a table."""

from __future__ import annotations

import copy
from typing import Any

import yaml

from evopipe.check import check_text
from evopipe.genesis.repairs import REPAIRS, apply_repairs
from evopipe.genesis.validate import to_text


def doc(text: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def run(name: str, data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    return REPAIRS[name].fn(copy.deepcopy(data), [])


def errors(data: dict[str, Any]) -> list[str]:
    return [d.rule for d in check_text(to_text(data), profile="generated") if d.severity == "error"]


BASE = """
apiVersion: evopipe/v1
kind: Pipeline
name: t
description: test
limits: {max_tokens: 1000}
"""


def test_table_names_rules_and_docs() -> None:
    assert len(REPAIRS) >= 10
    for item in REPAIRS.values():
        assert item.doc, item.name
        assert item.rules, item.name


def test_add_implied_needs() -> None:
    data = doc(
        BASE
        + "steps: [{id: a, kind: llm, prompt: x},"
        + " {id: b, kind: llm, prompt: '{{ steps.a.output }}'}]"
    )
    out, notes = run("add-implied-needs", data)
    assert out["steps"][1]["needs"] == ["a"]
    assert notes


def test_drop_unknown_keys_everywhere() -> None:
    data = doc(
        BASE
        + """
colour: red
steps:
  - {id: a, kind: llm, prompt: x, temperture: 0.3, retry: {max_attempts: 2, bogus: 1}}
  - id: m
    kind: map
    over: "{{ inputs.xs }}"
    steps: [{id: inner, kind: llm, prompt: y, extra: 1}]
"""
    )
    assert "unknown-key" in errors(data)
    out, notes = run("drop-unknown-keys", data)
    assert "colour" not in out
    assert "temperture" not in out["steps"][0]
    assert "bogus" not in out["steps"][0]["retry"]
    assert "extra" not in out["steps"][1]["steps"][0]
    assert len(notes) == 4
    assert "unknown-key" not in errors(out)


def test_contract_from_downstream_reads() -> None:
    data = doc(
        BASE
        + """
inputs: {text: {type: string}}
steps:
  - {id: x, kind: llm, prompt: "{{ inputs.text }}"}
  - {id: y, kind: llm, prompt: "{{ steps.x.output.a.b }} {{ steps.x.output.confidence }}",
     when: "steps.x.output.ok", output: {schema: {type: object, properties: {r: {type: string}}}}}
  - id: m
    kind: map
    over: "{{ steps.x.output.items }}"
    steps: [{id: i, kind: llm, prompt: "{{ item }}"}]
outputs: {r: "{{ steps.y.output.r }} {{ steps.y.output.extra }}"}
"""
    )
    out, _ = run("generate-contracts", data)
    schema = out["steps"][0]["output"]["schema"]
    assert schema["type"] == "object"
    assert schema["properties"]["a"] == {
        "type": "object",
        "properties": {"b": {"type": "string"}},
        "required": ["b"],
    }
    assert schema["properties"]["confidence"] == {"type": "number"}
    assert schema["properties"]["ok"] == {"type": "boolean"}
    assert schema["properties"]["items"]["type"] == "array"
    assert set(schema["required"]) == {"a", "confidence", "ok", "items"}
    assert "extra" in out["steps"][1]["output"]["schema"]["properties"]
    assert "output" in out["steps"][2]["steps"][0]  # inner model step gets a default contract


def test_rename_duplicate_ids_redirects_unambiguous_reads() -> None:
    data = doc(
        BASE
        + """
steps:
  - {id: s, kind: extract, prompt: one,
     output: {schema: {type: object, properties: {a: {type: string}}}}}
  - {id: s, kind: extract, prompt: two,
     output: {schema: {type: object, properties: {b: {type: string}}}}}
  - {id: t, kind: llm, prompt: "{{ steps.s.output.a }} {{ steps.s.output.b }}"}
outputs: {b: "{{ steps.s.output.b }}"}
"""
    )
    assert "duplicate-step-id" in errors(data)
    out, notes = run("rename-duplicate-ids", data)
    assert [s["id"] for s in out["steps"]] == ["s", "s_2", "t"]
    assert out["steps"][2]["prompt"] == "{{ steps.s.output.a }} {{ steps.s_2.output.b }}"
    assert out["outputs"]["b"] == "{{ steps.s_2.output.b }}"
    assert notes[0] == "duplicate id 's' → 's_2'"


def test_break_cycle_only_when_unambiguous() -> None:
    needs_cycle = doc(
        BASE
        + """
steps:
  - {id: a, kind: llm, prompt: x, needs: [b]}
  - {id: b, kind: llm, prompt: "{{ steps.a.output }}"}
"""
    )
    assert {"dag-cycle", "undeclared-dependency"} & set(errors(needs_cycle))
    out, notes = run("break-cycles", needs_cycle)
    assert "needs" not in out["steps"][0]
    assert notes
    data_cycle = doc(
        BASE
        + """
steps:
  - {id: a, kind: llm, prompt: "{{ steps.b.output }}"}
  - {id: b, kind: llm, prompt: "{{ steps.a.output }}"}
"""
    )
    out, notes = run("break-cycles", data_cycle)
    assert out == data_cycle
    assert notes == []


def test_declare_unknown_inputs() -> None:
    data = doc(
        BASE + "steps: [{id: a, kind: llm, prompt: '{{ inputs.topic }}', when: 'inputs.go'}]"
    )
    assert "template-unknown-ref" in errors(data)
    out, notes = run("declare-inputs", data)
    assert set(out["inputs"]) == {"topic", "go"}
    assert len(notes) == 2


def test_strip_condition_braces() -> None:
    data = doc(
        BASE
        + """
steps:
  - {id: a, kind: llm, prompt: x, when: "{{ 1 > 0 }}"}
  - {id: r, kind: switch, cases: [{when: "{{ steps.a.output == 'x' }}", then: [b]}]}
  - {id: b, kind: llm, prompt: y, needs: [r]}
"""
    )
    out, notes = run("strip-condition-braces", data)
    assert out["steps"][0]["when"] == "1 > 0"
    assert out["steps"][1]["cases"][0]["when"] == "steps.a.output == 'x'"
    assert len(notes) == 2


def test_fix_typo_reference_to_single_close_id() -> None:
    data = doc(
        BASE
        + """
steps:
  - {id: summary, kind: llm, prompt: x}
  - {id: review, kind: llm, prompt: "{{ steps.sumary.output }}", needs: [sumary, nowhere]}
outputs: {s: "{{ steps.reviw.output }}"}
"""
    )
    out, _ = run("fix-unknown-step-refs", data)
    assert out["steps"][1]["prompt"] == "{{ steps.summary.output }}"
    assert out["steps"][1]["needs"] == ["summary"]
    assert out["outputs"]["s"] == "{{ steps.review.output }}"


def test_apply_repairs_is_pure_and_ends_valid() -> None:
    data = {
        "name": "Bad Name!",
        "steps": [
            {"id": "a", "kind": "llm", "prompt": "{{ inputs.text }}", "needs": ["b"], "x": 1},
            {"id": "b", "kind": "llm", "prompt": "{{ steps.a.output.summary }}"},
        ],
    }
    before = copy.deepcopy(data)
    out, applied = apply_repairs(data)
    assert data == before
    assert {a.repair for a in applied} >= {
        "normalise-document",
        "drop-unknown-keys",
        "declare-inputs",
        "break-cycles",
        "generate-contracts",
        "add-description-and-budget",
        "connect-inputs-outputs",
    }
    assert errors(out) == []
    again, more = apply_repairs(out)
    assert again == out
    assert more == []
