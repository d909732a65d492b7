"""Plans, templates, skip rules, switch, outputs, inputs."""

from __future__ import annotations

import pytest
from engine_helpers import Harness, spec

from evopipe.engine.inputs import InputError
from evopipe.engine.plan import build_plan
from evopipe.spec.errors import SpecError

CHAIN = """
inputs: {n: {type: integer, default: 3}}
steps:
  - {id: a, kind: set, values: {x: "{{ inputs.n }}", l: [1, "{{ inputs.n * 2 }}"]}}
  - {id: b, kind: set, values: {y: "{{ steps.a.output.x + 1 }}", s: "n={{ inputs.n }}"}}
outputs: {y: "{{ steps.b.output.y }}", s: "{{ steps.b.output.s }}", l: "{{ steps.a.output.l }}"}
"""


async def test_chain_keeps_json_types(h: Harness) -> None:
    result = await h.run(spec(CHAIN), {"n": 5})
    assert result.status == "succeeded"
    assert result.outputs == {"y": 6, "s": "n=5", "l": [1, 10]}
    assert [s.id for s in result.steps] == ["a", "b"]
    assert all(s.status == "succeeded" and s.attempts == 1 for s in result.steps)


async def test_journal_has_no_gaps_and_is_bound_to_spec_hash(h: Harness) -> None:
    pipeline = spec(CHAIN)
    result = await h.run(pipeline)
    events = h.store.load_events(result.run_id)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert events[0].type == "run_started"
    assert events[-1].type == "run_finished"
    from evopipe.spec import spec_hash

    assert events[0].data["spec_hash"] == spec_hash(pipeline) == result.spec_hash
    assert h.store.get_run(result.run_id).spec_hash == spec_hash(pipeline)


def test_dependencies_come_from_needs_and_references() -> None:
    plan = build_plan(
        spec(
            """
            steps:
              - {id: c, kind: set, needs: [b], values: {v: 1}}
              - {id: a, kind: set, values: {v: 1}}
              - {id: b, kind: set, values: {v: "{{ steps.a.output.v }}"}}
              - {id: d, kind: set, when: "steps.c.output.v == 1", values: {v: 2}}
            """
        )
    )
    assert plan.steps["b"].deps == ("a",)
    assert plan.steps["c"].deps == ("b",)
    assert plan.steps["d"].deps == ("c",)
    assert plan.order == ("a", "b", "c", "d")


@pytest.mark.parametrize(
    ("body", "rule"),
    [
        (
            "steps:\n  - {id: a, kind: set, needs: [b], values: {v: 1}}\n"
            "  - {id: b, kind: set, needs: [a], values: {v: 1}}",
            "dag-cycle",
        ),
        (
            "steps:\n  - {id: a, kind: set, values: {v: '{{ steps.zz.output }}'}}",
            "unknown-step",
        ),
        ("steps:\n  - {id: a, kind: set, needs: [nope], values: {v: 1}}", "unknown-step"),
        (
            "steps:\n  - {id: a, kind: set, values: {v: 1}}\n"
            "  - {id: a, kind: set, values: {v: 2}}",
            "duplicate-step-id",
        ),
        ("steps:\n  - {id: a, kind: set, when: 'x ==', values: {v: 1}}", "condition-syntax"),
        (
            "steps:\n  - {id: a, kind: set, values: {v: 1}}\noutputs: {o: '{{ steps.q.output }}'}",
            "unknown-step",
        ),
    ],
)
def test_plan_refuses_broken_specs(body: str, rule: str) -> None:
    with pytest.raises(SpecError) as info:
        build_plan(spec(body))
    assert rule in {d.rule for d in info.value.diagnostics}


async def test_template_error_names_step_and_field(h: Harness) -> None:
    # the checker cannot see inside an input without declared properties: a run-time error
    result = await h.run(
        spec(
            """
            inputs: {obj: {type: object}}
            steps:
              - {id: a, kind: set, values: {x: 1}}
              - {id: b, kind: set, values: {y: "{{ inputs.obj.missing }}"}}
            """
        ),
        {"obj": {"present": 1}},
    )
    assert result.status == "failed"
    assert "'b'" in (result.error or "")
    assert "values.y" in (result.error or "")
    assert result.step("b").status == "failed"
    assert result.step("a").status == "succeeded"


async def test_checker_refuses_statically_broken_specs(h: Harness) -> None:
    pipeline = spec(
        """
        steps:
          - {id: a, kind: set, values: {x: 1}}
          - {id: b, kind: set, values: {y: "{{ steps.a.output.missing }}"}}
        """
    )
    with pytest.raises(SpecError, match="template-field-not-in-contract"):
        await h.run(pipeline)
    assert h.store.run_ids() == []  # nothing ran, nothing journaled


async def test_when_false_skips_and_dependants_follow_rule(h: Harness) -> None:
    result = await h.run(
        spec(
            """
            inputs: {go: {type: boolean, default: false}}
            steps:
              - {id: maybe, kind: set, when: "inputs.go", values: {v: 1}}
              - {id: after, kind: set, values: {v: "{{ steps.maybe.output }}"}}
              - {id: optin, kind: set, when: "steps.maybe.status == 'skipped'",
                 values: {v: "{{ steps.maybe.output }}"}}
            outputs: {o: "{{ steps.optin.output.v }}"}
            """
        )
    )
    assert result.status == "succeeded"
    assert result.step("maybe").status == "skipped"
    assert result.step("after").status == "skipped"  # every dependency skipped
    assert result.step("optin").status == "succeeded"  # its own `when` opts in
    assert result.outputs == {"o": None}  # a skipped step's output reads as null
    assert "step_skipped" in h.types("after")


SWITCH = """
inputs: {n: {type: integer}}
steps:
  - id: route
    kind: switch
    cases:
      - {when: "inputs.n > 10", then: [big]}
      - {when: "inputs.n > 5", then: [medium]}
    default: [small]
  - {id: big, kind: set, values: {v: big}}
  - {id: medium, kind: set, values: {v: medium}}
  - {id: small, kind: set, values: {v: small}}
  - id: join
    kind: set
    values: {v: "{{ steps.big.output or steps.medium.output or steps.small.output }}"}
outputs: {label: "{{ steps.join.output.v.v }}"}
"""


@pytest.mark.parametrize(("n", "label"), [(20, "big"), (7, "medium"), (1, "small")])
async def test_switch_routes_to_one_branch(h: Harness, n: int, label: str) -> None:
    result = await h.run(spec(SWITCH), {"n": n})
    assert result.status == "succeeded", result.error
    assert result.outputs == {"label": label}
    statuses = {s.id: s.status for s in result.steps}
    for branch in ("big", "medium", "small"):
        assert statuses[branch] == ("succeeded" if branch == label else "skipped")


async def test_bad_inputs_are_refused_before_running(h: Harness) -> None:
    pipeline = spec("inputs: {n: {type: integer}}\nsteps:\n  - {id: a, kind: set, values: {v: 1}}")
    with pytest.raises(InputError, match="missing required input 'n'"):
        await h.run(pipeline, {})
    with pytest.raises(InputError, match="'n'"):
        await h.run(pipeline, {"n": "x"})
    with pytest.raises(InputError, match="unknown input 'm'"):
        await h.run(pipeline, {"n": 1, "m": 2})


async def test_sandbox_blocks_unsafe_attributes(h: Harness) -> None:
    result = await h.run(
        spec("steps:\n  - {id: a, kind: set, values: {v: '{{ run.__class__.__mro__ }}'}}")
    )
    assert result.status == "failed"
    assert "not allowed" in (result.error or "") or "unsafe" in (result.error or "")


async def test_run_id_and_default_outputs(h: Harness) -> None:
    result = await h.run(
        spec("steps:\n  - {id: a, kind: set, values: {rid: '{{ run.id }}'}}"), run_id="r-1"
    )
    assert result.run_id == "r-1"
    assert result.outputs == {"a": {"rid": "r-1"}}
    assert result.to_json()["steps"] == [
        {
            "id": "a",
            "status": "succeeded",
            "attempts": 1,
            "duration_ms": result.steps[0].duration_ms and round(result.steps[0].duration_ms, 3),
            "cached": False,
        }
    ]


async def test_dotted_access_prefers_keys_over_dict_methods(h: Harness) -> None:
    result = await h.run(
        spec(
            """
            inputs: {items: {type: array, default: [1, 2]}}
            steps:
              - {id: a, kind: set, values: {values: "{{ inputs.items }}", keys: 3}}
            outputs: {v: "{{ steps.a.output.values }}", k: "{{ steps.a.output.keys }}"}
            """
        )
    )
    assert result.outputs == {"v": [1, 2], "k": 3}
