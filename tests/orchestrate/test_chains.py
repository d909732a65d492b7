"""Chains: checked before they start (located diagnostics), durable across a kill, and
compensated in reverse order on failure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from evopipe.orchestrate.chains import ChainRunner, StageOutcome
from evopipe.orchestrate.chainspec import check_chain, load_chain_text
from evopipe.spec import Pipeline, SpecError, loads
from evopipe.store import Store


def _pipe(name: str, inputs: str, outputs: str, schema: str = "") -> Pipeline:
    out = f"\n    output: {{schema: {schema}}}" if schema else ""
    return loads(
        f"""apiVersion: evopipe/v1
kind: Pipeline
name: {name}
inputs: {inputs}
outputs: {outputs}
steps:
  - id: a
    kind: llm
    prompt: "work"{out}
"""
    ).pipeline


PIPES = {
    "test": _pipe(
        "test",
        "{code: {type: string}}",
        '{report: "{{ steps.a.output.summary }}", passed: "{{ steps.a.output.passed }}"}',
        "{type: object, properties: {summary: {type: string}, passed: {type: integer}}}",
    ),
    "build": _pipe("build", "{report: {type: string}}", '{artifact: "{{ steps.a.output }}"}'),
    "deploy": _pipe("deploy", "{artifact: {type: string}}", '{release: "{{ steps.a.output }}"}'),
    "rollback": _pipe("rollback", "{release: {type: string}}", '{done: "{{ steps.a.output }}"}'),
    "unbuild": _pipe("unbuild", "{artifact: {type: string}}", '{done: "{{ steps.a.output }}"}'),
    "smoke": _pipe("smoke", "{release: {type: string}}", '{ok: "{{ steps.a.output }}"}'),
}

HOTFIX = """apiVersion: evopipe/v1
kind: Chain
name: hotfix
inputs: {change: {type: string}}
stages:
  - id: test
    pipeline: test
    inputs: {code: "{{ inputs.change }}"}
  - id: build
    pipeline: build
    inputs: {report: "{{ stages.test.outputs.report }}"}
    side_effects: true
    compensate: {pipeline: unbuild, inputs: {artifact: "{{ stages.build.outputs.artifact }}"}}
  - id: deploy
    pipeline: deploy
    inputs: {artifact: "{{ stages.build.outputs.artifact }}"}
    side_effects: true
    compensate: {pipeline: rollback, inputs: {release: "{{ stages.deploy.outputs.release }}"}}
  - id: smoke
    pipeline: smoke
    inputs: {release: "{{ stages.deploy.outputs.release }}"}
outputs: {release: "{{ stages.deploy.outputs.release }}"}
"""


def resolve(target: str) -> Pipeline:
    if target not in PIPES:
        raise KeyError(f"no pipeline {target}")
    return PIPES[target]


class Killed(BaseException):
    """The process dies mid-chain."""


class Runner:
    def __init__(
        self, fail: str | None = None, kill: str | None = None, journal: bool = False
    ) -> None:
        self.fail, self.kill, self.journal = fail, kill, journal
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.resumed: list[str] = []

    async def resume(self, run_id: str) -> StageOutcome | None:
        """With ``journal``, the killed run is continued (as the engine would)."""
        if not self.journal:
            return None
        self.resumed.append(run_id)
        return StageOutcome("succeeded", {"release": "resumed"}, run_id)

    async def run(
        self, pipeline: Pipeline, inputs: Mapping[str, Any], *, run_id: str
    ) -> StageOutcome:
        self.calls.append((pipeline.name, dict(inputs)))
        if pipeline.name == self.kill:
            raise Killed
        if pipeline.name == self.fail:
            return StageOutcome("failed", run_id=run_id, error=f"{pipeline.name} broke")
        first = next(iter(pipeline.outputs))
        return StageOutcome("succeeded", {first: f"{pipeline.name}-out"}, run_id)


def test_a_well_wired_chain_checks() -> None:
    pipelines = check_chain(load_chain_text(HOTFIX, "hotfix.yaml"), resolve)
    assert set(pipelines) == {
        "test",
        "build",
        "build.compensate",
        "deploy",
        "deploy.compensate",
        "smoke",
    }


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'stages.test.outputs.report }}"}',
            'stages.deploy.outputs.release }}"}',
            "hotfix.yaml:11:22: error[chain-reference]: stages.deploy.outputs.release: "
            "no earlier stage",
        ),
        (
            "stages.test.outputs.report",
            "stages.test.outputs.passed",
            "hotfix.yaml:11:22: error[chain-type]: stages.test.outputs.passed is integer, "
            "the input expects string",
        ),
        (
            '{code: "{{ inputs.change }}"}',
            '{cod: "{{ inputs.change }}"}',
            "hotfix.yaml:8:19: error[chain-unknown-input]: pipeline test declares no input 'cod'",
        ),
        (
            "pipeline: smoke",
            "pipeline: smok",
            "hotfix.yaml:20:15: error[chain-pipeline]: cannot resolve pipeline 'smok'",
        ),
        (
            'stages.build.outputs.artifact }}"}}',
            'stages.build.outputs.art }}"}}',
            "hotfix.yaml:13:56: error[chain-reference]: stages.build.outputs.art: pipeline build "
            "has no output 'art'",
        ),
    ],
)
def test_bad_wiring_is_reported_at_file_line_col(old: str, new: str, message: str) -> None:
    assert old in HOTFIX
    text = HOTFIX.replace(old, new, 1)
    with pytest.raises(SpecError) as info:
        check_chain(load_chain_text(text, "hotfix.yaml"), resolve)
    assert message in str(info.value)


def test_schema_errors_are_located() -> None:
    text = HOTFIX.replace("pipeline: test", "pipelin: test")
    with pytest.raises(SpecError) as info:
        load_chain_text(text, "hotfix.yaml")
    assert str(info.value).splitlines() == [
        "hotfix.yaml:6:5: error[chain-missing-field]: missing field 'pipeline' "
        "(at stages[0].pipeline)",
        "hotfix.yaml:7:5: error[chain-unknown-key]: unknown key 'pipelin' (at stages[0].pipelin)",
    ]


async def test_a_chain_runs_and_wires_outputs(store: Store) -> None:
    loaded = load_chain_text(HOTFIX, "hotfix.yaml")
    runner = Runner()
    result = await ChainRunner(store, runner).start(
        loaded, check_chain(loaded, resolve), {"change": "fix"}
    )
    assert result.status == "succeeded"
    assert result.outputs == {"release": "deploy-out"}
    assert runner.calls[1] == ("build", {"report": "test-out"})


async def test_failure_compensates_completed_side_effects_in_reverse(store: Store) -> None:
    loaded = load_chain_text(HOTFIX, "hotfix.yaml")
    runner = Runner(fail="smoke")
    result = await ChainRunner(store, runner).start(
        loaded, check_chain(loaded, resolve), {"change": "x"}
    )
    assert result.status == "failed"
    assert [c[0] for c in runner.calls] == [
        "test",
        "build",
        "deploy",
        "smoke",
        "rollback",
        "unbuild",
    ]
    assert runner.calls[4] == ("rollback", {"release": "deploy-out"})
    actions = [(e["stage"], e["action"]) for e in result.events if "compensation" in e["action"]]
    assert actions == [
        ("deploy", "compensation_started"),
        ("deploy", "compensation_succeeded"),
        ("build", "compensation_started"),
        ("build", "compensation_succeeded"),
    ]
    failed = next(e for e in result.events if e["action"] == "stage_failed")
    assert failed["data"]["error"] == "smoke broke"


async def test_resume_after_a_kill_does_not_rerun_completed_stages(store: Store) -> None:
    loaded = load_chain_text(HOTFIX, "hotfix.yaml")
    pipelines = check_chain(loaded, resolve)
    with pytest.raises(Killed):
        await ChainRunner(store, Runner(kill="deploy")).start(
            loaded, pipelines, {"change": "x"}, chain_id="c1"
        )
    assert ChainRunner(store, Runner()).get("c1")["status"] == "running"
    again = Runner()
    result = await ChainRunner(store, again).resume("c1", loaded, pipelines)
    assert result.status == "succeeded"
    assert [c[0] for c in again.calls] == ["deploy", "smoke"]  # test and build not re-run


async def test_the_stage_in_flight_is_continued_from_its_journal(store: Store) -> None:
    loaded = load_chain_text(HOTFIX, "hotfix.yaml")
    pipelines = check_chain(loaded, resolve)
    with pytest.raises(Killed):
        await ChainRunner(store, Runner(kill="deploy")).start(
            loaded, pipelines, {"change": "x"}, chain_id="c3"
        )
    again = Runner(journal=True)
    result = await ChainRunner(store, again).resume("c3", loaded, pipelines)
    assert result.status == "succeeded"
    assert again.resumed == ["c3-deploy-4"]  # the killed run, continued
    assert [c[0] for c in again.calls] == ["smoke"]
    assert result.outputs == {"release": "resumed"}


async def test_a_kill_during_compensation_resumes_the_remaining_ones(store: Store) -> None:
    loaded = load_chain_text(HOTFIX, "hotfix.yaml")
    pipelines = check_chain(loaded, resolve)
    runner = Runner(fail="smoke", kill="unbuild")
    with pytest.raises(Killed):
        await ChainRunner(store, runner).start(loaded, pipelines, {"change": "x"}, chain_id="c2")
    again = Runner()
    result = await ChainRunner(store, again).resume("c2", loaded, pipelines)
    assert result.status == "failed"
    assert [c[0] for c in again.calls] == ["unbuild"]  # rollback already done
