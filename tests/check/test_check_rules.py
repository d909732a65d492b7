"""Rules beyond their documented examples: scopes, contracts, files, options, positions."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from evopipe.check import (
    CheckOptions,
    GeneratedOptions,
    UnknownProfileError,
    check_file,
    check_pipeline,
    check_text,
    has_errors,
)
from evopipe.spec import loads
from evopipe.spec.errors import Diagnostic


def run(text: str, **kwargs: object) -> list[Diagnostic]:
    return check_text(textwrap.dedent(text).lstrip("\n"), **kwargs)  # type: ignore[arg-type]


def hits(found: list[Diagnostic], rule: str) -> list[tuple[int, int]]:
    return [(d.line, d.column) for d in found if d.rule == rule]


def rules(found: list[Diagnostic]) -> set[str]:
    return {d.rule for d in found}


MAP_PIPELINE = """
apiVersion: evopipe/v1
name: fanout
inputs:
  docs: {type: array, items: {type: string}}
steps:
  - id: prep
    kind: set
    values: {style: terse}
  - id: each
    kind: map
    over: "{{ inputs.docs }}"
    steps:
      - id: summarise
        kind: llm
        prompt: "{{ steps.prep.output.style }} summary #{{ index }} of {{ item }}"
      - id: score
        kind: set
        values: {n: "{{ steps.summarise.output }}"}
    collect: "{{ steps.score.output.n }}"
  - id: report
    kind: llm
    prompt: "Report: {{ steps.each.output }}"
"""


def test_map_body_sees_item_index_outer_and_inner_steps() -> None:
    assert run(MAP_PIPELINE) == []


def test_item_outside_a_map_body_is_unknown() -> None:
    found = run(MAP_PIPELINE.replace("Report: {{ steps.each.output }}", "Report: {{ item }}"))
    assert hits(found, "template-unknown-ref") == [(22, 25)]
    assert "only defined inside a map body" in found[0].message


def test_inner_step_is_not_visible_outside_its_body() -> None:
    found = run(MAP_PIPELINE.replace("{{ steps.each.output }}", "{{ steps.summarise.output }}"))
    assert hits(found, "template-unknown-ref") == [(22, 25)]
    assert "not visible" in found[0].message


def test_set_step_keys_type_its_output() -> None:
    found = run(MAP_PIPELINE.replace("steps.prep.output.style", "steps.prep.output.tone"))
    assert hits(found, "template-field-not-in-contract") == [(15, 21)]
    assert "steps.prep.output has no field 'tone' (fields: style)" in found[0].message


def test_loop_body_sees_loop_and_until_sees_inner_steps() -> None:
    text = """
    apiVersion: evopipe/v1
    name: refine
    steps:
      - id: improve
        kind: loop
        max_iterations: 3
        until: "steps.critic.output.ok or loop.iteration >= 3"
        steps:
          - id: draft
            kind: llm
            prompt: "Attempt {{ loop.iteration }}: {{ loop.previous }}"
          - id: critic
            kind: extract
            prompt: "Judge: {{ steps.draft.output }}"
            output:
              schema: {type: object, properties: {ok: {type: boolean}}}
    """
    assert run(text) == []
    found = run(text.replace("steps.critic.output.ok", "steps.critic.output.good"))
    assert hits(found, "template-field-not-in-contract") == [(7, 13)]
    found = run(text.replace("{{ loop.iteration }}", "{{ loop.round }}"))
    assert hits(found, "template-unknown-ref") == [(11, 29)]


def test_inline_sub_pipeline_is_isolated() -> None:
    text = """
    apiVersion: evopipe/v1
    name: outer
    steps:
      - id: first
        kind: llm
        prompt: Hello.
      - id: sub
        kind: pipeline
        inputs: {text: "{{ steps.first.output }}"}
        pipeline:
          apiVersion: evopipe/v1
          name: inner
          inputs:
            text: {type: string}
          steps:
            - id: echo
              kind: llm
              prompt: "{{ inputs.text }} / {{ steps.first.output }}"
    """
    found = run(text)
    assert hits(found, "template-unknown-ref") == [(18, 43)]
    assert "not visible" in found[0].message


def test_unknown_step_in_template_and_switch_targets() -> None:
    text = """
    apiVersion: evopipe/v1
    name: routes
    steps:
      - id: route
        kind: switch
        cases:
          - {when: "true", then: [found]}
        default: [nope]
      - id: found
        kind: llm
        prompt: "{{ steps.nothere.output }}"
    """
    found = run(text)
    assert hits(found, "unknown-step") == [(8, 15), (11, 17)]


def test_step_record_fields() -> None:
    text = """
    apiVersion: evopipe/v1
    name: rec
    steps:
      - {id: a, kind: llm, prompt: Hi}
      - {id: b, kind: llm, prompt: "{{ steps.a.status }} {{ steps.a.text }}"}
    """
    found = run(text)
    assert hits(found, "template-unknown-ref") == [(5, 57)]
    assert "steps.a.output.text" in found[0].hint


def test_contract_fields_follow_nesting_arrays_refs_and_files(tmp_path: Path) -> None:
    (tmp_path / "item.json").write_text(
        '{"type": "object", "properties": {"items": {"type": "array", "items": '
        '{"$ref": "#/$defs/it"}}}, "$defs": {"it": {"type": "object", "properties": '
        '{"name": {"type": "string"}}}}}'
    )
    text = """
    apiVersion: evopipe/v1
    name: deep
    steps:
      - id: a
        kind: extract
        prompt: Give items.
        output: {schema_file: item.json}
      - id: b
        kind: llm
        prompt: "{{ steps.a.output.items[0].name }} {{ steps.a.output['items'][1].nme }}"
      - id: c
        kind: llm
        prompt: "{{ steps.a.output.items.name }}"
    """
    path = tmp_path / "p.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    found = check_file(path)
    assert hits(found, "template-field-not-in-contract") == [(10, 52), (13, 17)]
    assert "steps.a.output.items[1] has no field 'nme'" in found[0].message
    assert "is of type array" in found[1].message


def test_open_schemas_are_not_flagged() -> None:
    text = """
    apiVersion: evopipe/v1
    name: open
    steps:
      - id: a
        kind: extract
        prompt: x
        output:
          schema:
            type: object
            properties: {known: {}}
            additionalProperties: true
      - id: b
        kind: extract
        prompt: x
        output: {schema: {anyOf: [{type: object}, {type: string}]}}
      - id: c
        kind: llm
        prompt: "{{ steps.a.output.other }} {{ steps.b.output.anything }}"
    """
    assert run(text) == []


def test_input_schema_fields() -> None:
    text = """
    apiVersion: evopipe/v1
    name: ins
    inputs:
      doc:
        type: object
        properties: {title: {type: string}}
    steps:
      - {id: a, kind: llm, prompt: "{{ inputs.doc.title }} {{ inputs.doc.author }}"}
    """
    assert hits(run(text), "template-field-not-in-contract") == [(8, 59)]


def test_reading_switch_branches_is_a_plain_dependency() -> None:
    """Skipped steps read as ``output: null`` at run time: reading a branch is allowed."""
    text = """
    apiVersion: evopipe/v1
    name: branches
    steps:
      - id: route
        kind: switch
        cases:
          - {when: "1 == 1", then: [bug, triage]}
        default: [feature]
      - {id: bug, kind: llm, prompt: Fix.}
      - {id: triage, kind: llm, prompt: "{{ steps.bug.output }}"}
      - {id: feature, kind: llm, prompt: Build.}
      - {id: merge, kind: llm, prompt: "{{ steps.bug.output }}"}
      - {id: merged, kind: llm, needs: [bug], prompt: "{{ steps.bug.output }}"}
    """
    found = run(text)
    assert hits(found, "undeclared-dependency") == []
    assert hits(found, "unreachable-step") == [(8, 15)]  # "1 == 1" always holds


def test_undeclared_dependency_self_and_inner_reads() -> None:
    text = """
    apiVersion: evopipe/v1
    name: selfish
    steps:
      - {id: a, kind: llm, prompt: "{{ steps.a.output }}"}
      - id: m
        kind: map
        over: "[1, 2]"
        steps:
          - {id: inner, kind: llm, prompt: "{{ steps.after.output }}"}
      - {id: after, kind: llm, needs: [m], prompt: x}
    """
    found = run(text)
    assert hits(found, "undeclared-dependency") == [(4, 36), (9, 44)]
    assert "its own output" in found[0].message


def test_condition_syntax_position_in_block_and_quotes() -> None:
    text = """
    apiVersion: evopipe/v1
    name: cond
    steps:
      - id: a
        kind: llm
        when: 'len(steps) >> 1'
        prompt: x
      - id: b
        kind: switch
        cases:
          - when: |
              true and
              (1 ==
            then: [a]
    """
    found = run(text)
    assert hits(found, "condition-syntax") == [(6, 24), (13, 16)]


def test_template_syntax_in_a_block_scalar() -> None:
    text = """
    apiVersion: evopipe/v1
    name: block
    steps:
      - id: a
        kind: llm
        prompt: |
          Line one.
          Line two {{ oops(
    """
    assert hits(run(text), "template-syntax") == [(8, 7)]


def test_unreachable_when_false_and_default_after_true_case() -> None:
    text = """
    apiVersion: evopipe/v1
    name: dead
    steps:
      - {id: a, kind: llm, when: "not true", prompt: x}
      - id: s
        kind: switch
        cases: [{when: "true", then: [b]}]
        default: [c]
      - {id: b, kind: llm, prompt: x}
      - {id: c, kind: llm, prompt: x}
    """
    assert hits(run(text), "unreachable-step") == [(4, 30), (8, 15)]


def test_contract_invalid_variants() -> None:
    text = """
    apiVersion: evopipe/v1
    name: contracts
    inputs:
      n: {type: int}
    steps:
      - id: a
        kind: llm
        prompt: x
        output: {schema: {type: string}, schema_file: a.json}
      - id: b
        kind: llm
        prompt: x
        output: {on_invalid: fail}
    """
    assert hits(run(text), "contract-invalid") == [(4, 13), (9, 38), (13, 13)]


def test_limits_depth_and_file_cycles(tmp_path: Path) -> None:
    sub = """
    apiVersion: evopipe/v1
    name: {name}
    steps:
      - id: next
        kind: pipeline
        pipeline: {target}
    """
    sub = textwrap.dedent(sub).lstrip("\n")
    (tmp_path / "a.yaml").write_text(sub.format(name="a", target="b.yaml"))
    (tmp_path / "b.yaml").write_text(sub.format(name="b", target="a.yaml"))
    found = check_file(tmp_path / "a.yaml")
    assert hits(found, "limits-exceeded") == [(6, 15)]
    assert "a.yaml → b.yaml → a.yaml" in found[0].message

    leaf = "apiVersion: evopipe/v1\nname: leaf\nsteps: [{id: x, kind: llm, prompt: y}]\n"
    (tmp_path / "c.yaml").write_text(sub.format(name="c", target="d.yaml"))
    (tmp_path / "d.yaml").write_text(sub.format(name="d", target="leaf.yaml"))
    (tmp_path / "leaf.yaml").write_text(leaf)
    top = sub.format(name="top", target="c.yaml")
    (tmp_path / "top.yaml").write_text(top + "limits: {max_depth: 2, max_steps: 3}\n")
    found = check_file(tmp_path / "top.yaml")
    assert hits(found, "limits-exceeded") == [(6, 15), (7, 35)]
    assert "nest 3 deep" in found[0].message
    assert "4 steps" in found[1].message


def test_unknown_model_uses_the_predicate_and_covers_all_places() -> None:
    text = """
    apiVersion: evopipe/v1
    name: models
    personas:
      p: {system: s, model: "acme:1"}
    steps:
      - id: a
        kind: llm
        model: ollama:qwen3
        prompt: x
        retry: {fallback_models: ["openai:gpt-5-mini", "nobody:x"]}
    """
    assert hits(run(text), "unknown-model") == [(4, 25), (8, 12), (10, 52)]
    endpoints = CheckOptions(known_model=lambda m: m.split(":")[0] in {"ollama", "acme", "openai"})
    assert hits(run(text, options=endpoints), "unknown-model") == [(10, 52)]


def test_unsafe_kinds_and_trust() -> None:
    text = """
    apiVersion: evopipe/v1
    name: unsafe
    steps:
      - {id: a, kind: python, function: "mod:fn"}
      - {id: b, kind: http, url: "https://example.com"}
      - {id: c, kind: tool, tool: count}
    """
    assert hits(run(text), "unsafe-kind") == [(4, 19), (5, 19)]
    assert run(text, options=CheckOptions(trusted=True)) == []


def test_generated_profile_options() -> None:
    text = """
    apiVersion: evopipe/v1
    name: gen
    steps:
      - {id: a, kind: llm, prompt: x}
      - {id: b, kind: set, values: {v: 1}}
    """
    found = run(text, profile="generated")
    assert rules(found) == {"output-contract-required", "description-required", "budget-required"}
    relaxed = GeneratedOptions(
        contract_kinds=frozenset(), require_description=False, require_budget=False
    )
    assert run(text, profile="generated", options=CheckOptions(generated=relaxed)) == []
    assert run(text) == []


def test_check_pipeline_without_source_has_where_but_no_position() -> None:
    loaded = loads("apiVersion: evopipe/v1\nname: x\nsteps: [{id: a, kind: llm, prompt: x}]\n")
    bad = loaded.pipeline.model_copy(update={"limits": loaded.pipeline.limits.model_copy(
        update={"max_steps": 0})})  # fmt: skip
    found = check_pipeline(bad)
    assert [(d.rule, d.line, d.column, d.where) for d in found] == [
        ("limits-exceeded", 0, 0, "limits.max_steps")
    ]
    assert has_errors(found)


def test_unknown_profile_is_an_evopipe_error() -> None:
    with pytest.raises(UnknownProfileError):
        check_text("", profile="nope")


def test_loader_errors_come_back_as_diagnostics() -> None:
    assert rules(check_text("a: [")) == {"yaml-syntax"}
    assert rules(check_text("- 1\n")) == {"bad-type"}
    assert rules(check_text("")) == {"bad-type"}
