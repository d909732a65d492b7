"""map, loop, pipeline, generate, approval, tool and the unsafe kinds through the real engine."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from steps_helpers import EngineHarness, spec

from evopipe.engine.policy import Policy
from evopipe.spec.errors import SpecError
from evopipe.spec.pipeline import Pipeline

# -- map ---------------------------------------------------------------------------------------

MAP_STEPS = """
inputs: {xs: {type: array}}
steps:
  - id: fan
    kind: map
    over: "{{ inputs.xs }}"
    max_concurrency: 2
    steps:
      - {id: up, kind: tool, tool: upper, args: {text: "{{ item }}"}}
      - {id: n, kind: tool, tool: length, args: {value: "{{ steps.up.output }}"}}
    collect: "{{ index }}:{{ steps.up.output }}:{{ steps.n.output }}"
outputs: {r: "{{ steps.fan.output }}"}
"""


async def test_map_inner_steps_in_input_order(eng: EngineHarness) -> None:
    xs = [f"w{i}" * (i % 4 + 1) for i in range(25)]
    result = await eng.run(MAP_STEPS, {"xs": xs})
    assert result.status == "succeeded", result.error
    assert result.outputs["r"] == [f"{i}:{x.upper()}:{len(x)}" for i, x in enumerate(xs)]
    paths = {e.step_id for e in eng.events.events if e.type == "step_succeeded"}
    assert {"fan[0].up", "fan[24].n"} <= paths


async def test_map_default_result_is_last_inner_output(eng: EngineHarness) -> None:
    result = await eng.run(
        """
        steps:
          - id: fan
            kind: map
            over: "{{ [3, 1, 2] }}"
            steps:
              - {id: double, kind: tool, tool: arithmetic, args: {expression: "{{ item }} * 2"}}
        """
    )
    assert result.status == "succeeded", result.error
    assert result.step("fan").output == [6, 2, 4]


async def test_map_over_a_non_list_fails_clearly(eng: EngineHarness) -> None:
    result = await eng.run(
        """
        inputs: {xs: {type: string}}
        steps:
          - id: fan
            kind: map
            over: "{{ inputs.xs }}"
            steps: [{id: u, kind: tool, tool: upper, args: {text: "{{ item }}"}}]
        """,
        {"xs": "a,b,c"},
    )
    assert result.status == "failed"
    assert "fan" in (result.error or "")
    assert "`over` must render to a list, got str" in (result.error or "")


async def test_map_over_a_million_items_fails_naming_the_budget(eng: EngineHarness) -> None:
    result = await eng.run(
        """
        inputs: {xs: {type: array}}
        steps:
          - id: fan
            kind: map
            over: "{{ inputs.xs }}"
            steps: [{id: u, kind: tool, tool: length, args: {value: "x"}}]
        """,
        {"xs": list(range(1_000_000))},
    )
    assert result.status == "budget_exceeded"
    assert result.budget == "max_map_items"
    assert "1000000 items, limit 10000" in (result.error or "")
    started = [e for e in eng.events.events if e.type == "step_started"]
    assert [e.step_id for e in started] == ["fan"], "no item may run"


async def test_map_item_failure_names_the_item(eng: EngineHarness) -> None:
    result = await eng.run(
        """
        steps:
          - id: fan
            kind: map
            over: '{{ ["1 + 1", "2 / 0", "3"] }}'
            max_concurrency: 1
            steps: [{id: calc, kind: tool, tool: arithmetic, args: {expression: "{{ item }}"}}]
        """
    )
    assert result.status == "failed"
    assert "item 1 failed" in (result.error or "")
    assert "division by zero" in (result.error or "")


async def test_map_over_inline_sub_pipeline(eng: EngineHarness) -> None:
    result = await eng.run(
        """
        steps:
          - id: fan
            kind: map
            over: '{{ ["a b", "c d e"] }}'
            pipeline:
              apiVersion: evopipe/v1
              name: words
              inputs: {text: {type: string}}
              steps:
                - {id: c, kind: tool, tool: count, args: {text: "{{ inputs.text }}", words: true}}
              outputs: {n: "{{ steps.c.output }}"}
            inputs: {text: "{{ item }}"}
            collect: "{{ outputs.n * 10 + index }}"
        """
    )
    assert result.status == "succeeded", result.error
    assert result.step("fan").output == [20, 31]


async def test_empty_map(eng: EngineHarness) -> None:
    result = await eng.run(
        """
        steps:
          - {id: fan, kind: map, over: "{{ [] }}",
             steps: [{id: u, kind: tool, tool: upper, args: {text: "{{ item }}"}}]}
        """
    )
    assert result.status == "succeeded", result.error
    assert result.step("fan").output == []


# -- loop --------------------------------------------------------------------------------------


async def test_loop_until_condition(eng: EngineHarness) -> None:
    result = await eng.run(
        """
        steps:
          - id: grow
            kind: loop
            max_iterations: 10
            steps:
              - id: acc
                kind: tool
                tool: arithmetic
                args:
                  expression: "{{ (loop.previous.acc if loop.previous else 1) }} * 2"
            until: "steps.acc.output >= 20"
        outputs: {o: "{{ steps.grow.output }}"}
        """
    )
    assert result.status == "succeeded", result.error
    out = result.outputs["o"]
    assert out["iterations"] == 5
    assert out["converged"] is True
    assert out["outputs"] == {"acc": 32}
    assert out["last"] == 32


async def test_loop_exhausted_succeeds_unconverged(eng: EngineHarness) -> None:
    result = await eng.run(
        """
        steps:
          - id: spin
            kind: loop
            max_iterations: 3
            steps:
              - {id: it, kind: tool, tool: length, args: {value: "{{ 'x' * loop.iteration }}"}}
            until: "false"
          - {id: after, kind: tool, tool: upper, args: {text: "unconverged"},
             when: "not steps.spin.output.converged"}
        """
    )
    assert result.status == "succeeded", result.error
    assert result.step("spin").output["iterations"] == 3
    assert result.step("spin").output["converged"] is False
    assert result.step("spin").output["last"] == 3
    assert result.step("after").output == "UNCONVERGED"
    assert "loop_exhausted" in [e.type for e in eng.events.events]


async def test_endless_loop_ends_on_the_step_budget(eng: EngineHarness) -> None:
    result = await eng.run(
        """
        limits: {max_steps: 50}
        steps:
          - id: spin
            kind: loop
            max_iterations: 1000
            steps: [{id: it, kind: tool, tool: length, args: {value: "x"}}]
            until: "false"
        """
    )
    assert result.status == "budget_exceeded"
    assert result.budget == "max_steps"


# -- pipeline ----------------------------------------------------------------------------------

CHILD = """apiVersion: evopipe/v1
name: child
inputs: {text: {type: string}}
steps:
  - {id: up, kind: tool, tool: upper, args: {text: "{{ inputs.text }}"}}
outputs: {shout: "{{ steps.up.output }}!"}
"""


async def test_pipeline_by_relative_path(eng: EngineHarness, tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "child.yaml").write_text(CHILD)
    result = await eng.run(
        """
        steps:
          - {id: call, kind: pipeline, pipeline: sub/child.yaml, inputs: {text: "hi"}}
        outputs: {o: "{{ steps.call.output.shout }}"}
        """
    )
    assert result.status == "succeeded", result.error
    assert result.outputs["o"] == "HI!"


async def test_recursive_pipeline_file_is_bounded(eng: EngineHarness, tmp_path: Path) -> None:
    """Refused statically (a sub-pipeline cycle) or, at the latest, at the depth limit."""
    (tmp_path / "rec.yaml").write_text(
        "apiVersion: evopipe/v1\nname: rec\nlimits: {max_depth: 3}\n"
        "steps:\n  - {id: again, kind: pipeline, pipeline: rec.yaml}\n"
    )
    from evopipe.spec.loader import load_file

    try:
        result = await eng.run(load_file(tmp_path / "rec.yaml").pipeline)
    except SpecError as exc:
        message = str(exc)
        assert "cycle" in message
    else:
        message = result.error or ""
        assert result.status == "failed"
        assert "max_depth=3" in message
    assert "rec.yaml" in message


async def test_deep_chain_of_files_hits_the_depth_limit(eng: EngineHarness, tmp_path: Path) -> None:
    for i in range(6):
        (tmp_path / f"p{i}.yaml").write_text(
            f"apiVersion: evopipe/v1\nname: p{i}\n"
            f"steps:\n  - {{id: down, kind: pipeline, pipeline: p{i + 1}.yaml}}\n"
        )
    (tmp_path / "p6.yaml").write_text(CHILD)
    text = "limits: {max_depth: 3}\nsteps:\n  - {id: top, kind: pipeline, pipeline: p0.yaml}\n"
    try:
        result = await eng.run(text)
    except SpecError as exc:  # the checker sees the chain of files statically
        message = str(exc)
        assert "limits-exceeded" in message
    else:  # otherwise the engine stops it at run time
        message = result.error or ""
        assert result.status == "failed"
        assert "depth 4" in message
    assert "max_depth" in message
    assert "3" in message


async def test_self_generating_pipeline_hits_the_depth_limit(eng: EngineHarness) -> None:
    eng.hooks["generator"] = _generator(
        "steps:\n  - {id: deeper, kind: generate, request: again}\n", []
    )
    result = await eng.run(
        "limits: {max_depth: 4}\nsteps:\n  - {id: g, kind: generate, request: go}\n"
    )
    assert result.status == "failed"
    assert "depth-exceeded" in (result.error or "")


async def test_sub_pipeline_failure_fails_the_step(eng: EngineHarness) -> None:
    result = await eng.run(
        """
        steps:
          - id: call
            kind: pipeline
            pipeline:
              apiVersion: evopipe/v1
              name: bad
              steps: [{id: x, kind: tool, tool: arithmetic, args: {expression: "1/0"}}]
        """
    )
    assert result.status == "failed"
    assert "sub-pipeline 'bad' failed" in (result.error or "")


# -- generate ----------------------------------------------------------------------------------


async def test_generate_without_genesis_is_a_clear_error(eng: EngineHarness) -> None:
    result = await eng.run("steps:\n  - {id: g, kind: generate, request: count words}\n")
    assert result.status == "failed"
    assert "generate needs genesis (evopipe.genesis)" in (result.error or "")


def _generator(text: str, calls: list[dict[str, Any]]) -> Any:
    async def generator(**kw: Any) -> Pipeline:
        calls.append(kw)
        return spec(text)

    return generator


async def test_generate_runs_the_generated_pipeline(eng: EngineHarness) -> None:
    calls: list[dict[str, Any]] = []
    eng.hooks["generator"] = _generator(
        """
        inputs: {text: {type: string}}
        steps: [{id: c, kind: tool, tool: count, args: {text: "{{ inputs.text }}", words: true}}]
        outputs: {n: "{{ steps.c.output }}"}
        """,
        calls,
    )
    result = await eng.run(
        """
        steps:
          - {id: g, kind: generate, request: "count the words of {{ 'x' }}",
             inputs: {text: "one two three"}}
        """
    )
    assert result.status == "succeeded", result.error
    out = result.step("g").output
    assert out["outputs"] == {"n": 3}
    assert out["name"] == "t"
    assert len(out["spec_hash"]) == 64
    assert calls[0]["request"] == "count the words of x"
    assert calls[0]["depth"] == 0
    assert calls[0]["max_repair_rounds"] == 3


async def test_generated_pipeline_is_untrusted_even_under_trust(tmp_path: Path) -> None:
    eng = EngineHarness(tmp_path, Policy.trusting(python_allow={"json:dumps"}))
    marker = tmp_path / "pwned"
    eng.hooks["generator"] = _generator(
        f"""
        steps: [{{id: sh, kind: shell, command: [touch, "{marker}"]}}]
        """,
        [],
    )
    result = await eng.run("steps:\n  - {id: g, kind: generate, request: anything}\n")
    assert result.status == "failed"
    assert "'shell' is not allowed in an untrusted pipeline" in (result.error or "")
    assert not marker.exists()


async def test_generated_pipeline_cannot_raise_limits(eng: EngineHarness) -> None:
    eng.hooks["generator"] = _generator(
        """
        limits: {max_steps: 1000000, max_depth: 50}
        steps:
          - id: spin
            kind: loop
            max_iterations: 1000
            steps: [{id: it, kind: tool, tool: length, args: {value: "x"}}]
            until: "false"
        """,
        [],
    )
    result = await eng.run(
        """
        limits: {max_steps: 30, max_depth: 2}
        steps:
          - {id: g, kind: generate, request: loop forever}
        """
    )
    assert result.status == "budget_exceeded"
    assert result.budget == "max_steps"


async def test_generate_without_run_returns_the_spec(eng: EngineHarness) -> None:
    eng.hooks["generator"] = _generator(
        "limits: {max_steps: 999}\nsteps: [{id: a, kind: tool, tool: upper, args: {text: x}}]\n",
        [],
    )
    result = await eng.run(
        "limits: {max_steps: 10}\nsteps:\n  - {id: g, kind: generate, request: r, run: false}\n"
    )
    assert result.status == "succeeded", result.error
    assert result.step("g").output["spec"]["limits"]["max_steps"] == 10
    assert "outputs" not in result.step("g").output


# -- approval ----------------------------------------------------------------------------------


async def test_approval_pauses_the_run(eng: EngineHarness) -> None:
    result = await eng.run(
        """
        steps:
          - {id: gate, kind: approval, message: "Ship {{ 'v2' }}?"}
          - {id: after, kind: tool, tool: upper, args: {text: "{{ steps.gate.output.comment }}"}}
        """
    )
    assert result.status == "waiting"
    assert result.waiting_on == ("gate",)
    waiting = [e for e in eng.events.events if e.type == "step_waiting"]
    assert waiting[0].data["meta"]["message"] == "Ship v2?"


# -- unsafe kinds through the engine -----------------------------------------------------------


async def test_untrusted_run_refuses_shell_naming_the_step(
    eng: EngineHarness, tmp_path: Path
) -> None:
    """Refused by the checker before planning, or at the latest when the step runs."""
    marker = tmp_path / "ran"
    text = f"steps:\n  - {{id: list_files, kind: shell, command: [touch, '{marker}']}}\n"
    try:
        result = await eng.run(text)
    except SpecError as exc:
        message = str(exc)
        assert "unsafe-kind" in message
    else:
        assert result.status == "failed"
        message = result.error or ""
        assert "not allowed in an untrusted pipeline" in message
    assert "list_files" in message
    assert not marker.exists()


async def test_trusted_shell_runs_in_the_run_workspace(tmp_path: Path) -> None:
    eng = EngineHarness(tmp_path, Policy.trusting())
    result = await eng.run(
        f"""
        steps:
          - id: write
            kind: shell
            command: ["{sys.executable}", "-c", "open('note.txt', 'w').write('hi')"]
        """
    )
    assert result.status == "succeeded", result.error
    assert (tmp_path / "ws").exists()
    assert [p.name for p in (tmp_path / "ws").rglob("note.txt")] == ["note.txt"]


async def test_generate_with_the_real_genesis_hook(eng: EngineHarness) -> None:
    from evopipe.genesis import make_generator

    eng.hooks["generator"] = make_generator(eng.services.models)
    result = await eng.run(
        """
        steps:
          - {id: g, kind: generate, model: fake, request: "Summarise a text in one sentence",
             inputs: {text: hello world}}
        """
    )
    assert result.status == "succeeded", result.error
    out = result.step("g").output
    assert len(out["spec_hash"]) == 64
    assert "outputs" in out
    subruns = [e for e in eng.events.events if e.type == "subrun_started"]
    assert subruns
    assert subruns[0].data["depth"] == 1


async def test_trusted_http_and_python_through_the_engine(tmp_path: Path) -> None:
    import httpx2

    policy = Policy.trusting(python_allow={"json:dumps"}, http_allow_hosts={"api.example.com"})
    eng = EngineHarness(tmp_path, policy)
    eng.hooks["http_transport"] = httpx2.MockTransport(
        lambda request: httpx2.Response(200, json={"words": ["b", "a"]})
    )
    result = await eng.run(
        """
        steps:
          - {id: fetch, kind: http, url: "https://api.example.com/words"}
          - {id: order, kind: tool, tool: sort,
             args: {items: "{{ steps.fetch.output.json.words }}"}}
          - {id: dump, kind: python, function: "json:dumps",
             args: {obj: "{{ steps.order.output }}"}}
        outputs: {o: "{{ steps.dump.output }}"}
        """
    )
    assert result.status == "succeeded", result.error
    assert result.outputs["o"] == '["a", "b"]'
