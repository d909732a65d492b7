"""The orchestrator through the application layer and the CLI: catalog, routing (with a
canary), chains run on real pipelines (fake and failing sim models), schedules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evopipe.app import App, Settings
from evopipe.cli import build_app

STEP = """apiVersion: evopipe/v1
kind: Pipeline
name: {name}
inputs: {{text: {{type: string}}}}
outputs: {{out: "{{{{ steps.a.output }}}}"}}
steps:
  - {{id: a, kind: llm, prompt: "{name} {{{{ inputs.text }}}}"{model}}}
"""
CHAIN = """apiVersion: evopipe/v1
kind: Chain
name: release
inputs: {change: {type: string}}
stages:
  - id: build
    pipeline: build.yaml
    inputs: {text: "{{ inputs.change }}"}
  - id: deploy
    pipeline: deploy.yaml
    inputs: {text: "{{ stages.build.outputs.out }}"}
    side_effects: true
    compensate: {pipeline: rollback.yaml, inputs: {text: "{{ stages.deploy.outputs.out }}"}}
  - id: verify
    pipeline: VERIFY
    inputs: {text: "{{ stages.deploy.outputs.out }}"}
outputs: {release: "{{ stages.deploy.outputs.out }}"}
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EVOPIPE_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("EVOPIPE_DB", str(tmp_path / "e.db"))
    monkeypatch.setenv("EVOPIPE_MODEL", "fake")
    for name in ("build", "deploy", "rollback", "verify"):
        (tmp_path / f"{name}.yaml").write_text(STEP.format(name=name, model=""))
    (tmp_path / "broken.yaml").write_text(
        STEP.format(name="broken", model=", model: 'sim:fail_rate=1'")
    )
    (tmp_path / "ok.chain.yaml").write_text(CHAIN.replace("VERIFY", "verify.yaml"))
    (tmp_path / "bad.chain.yaml").write_text(CHAIN.replace("VERIFY", "broken.yaml"))
    return tmp_path


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(build_app(), list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def test_catalog_lists_library_pipelines_by_category(project: Path) -> None:
    code, out = cli("catalog", "list", "--json")
    assert code == 0
    entries = {e["name"]: e for e in json.loads(out)}
    assert entries["bug-triage"]["category"] == "development"
    assert entries["summarise-text"]["category"] == "text"
    code, out = cli("catalog", "register", "summarise-text")
    assert (code, out.strip()) == (0, "registered summarise-text v1")
    code, out = cli("catalog", "show", "summarise-text")
    assert "origin: both" in out
    assert "apiVersion: evopipe/v1" in out
    code, out = cli("catalog", "list", "-c", "text")
    assert "[registered v1]" in out
    assert "bug-triage" not in out


def test_route_explains_and_applies_a_canary(project: Path) -> None:
    code, out = cli("route", "summarise this long text into a short tldr summary", "--explain")
    assert code == 0, out
    assert out.startswith("patterns/summarise-text  via retrieval")
    assert "retrieval" in out
    assert "summarise-text" in out.splitlines()[2]
    code, out = cli("route", "compose a sonnet about autumn leaves")
    assert code == 1
    assert out.startswith("no match")
    cli("catalog", "register", "summarise-text")
    cli("catalog", "register", "summarise-text")
    assert cli("release", "canary", "summarise-text", "2", "--share", "0.5")[0] == 0
    roles = set()
    for key in range(12):
        code, out = cli(
            "route", "summarise this text into a tldr summary", "--key", str(key), "--json"
        )
        data = json.loads(out)
        roles.add((data["role"], data["target"]))
    assert roles == {("champion", "summarise-text@1"), ("challenger", "summarise-text@2")}
    with App(Settings.load()) as app:
        decisions = app.routing.decisions(limit=100)
    assert len(decisions) == 14
    assert decisions[0]["trail"][-1]["stage"] == "retrieval"


def test_a_chain_runs_and_a_failing_one_is_compensated(project: Path) -> None:
    code, out = cli("chain", "check", "ok.chain.yaml")
    assert code == 0, out
    code, out = cli("chain", "run", "ok.chain.yaml", "-i", "change=fix-1", "--json")
    assert code == 0, out
    result = json.loads(out)
    assert result["status"] == "succeeded"
    assert result["outputs"]["release"].startswith("fake-")
    code, out = cli("chain", "run", "bad.chain.yaml", "-i", "change=fix-2", "--json")
    assert code == 1
    result = json.loads(out)
    actions = [(e["stage"], e["action"]) for e in result["events"]]
    assert ("verify", "stage_failed") in actions
    assert actions[-3:] == [
        ("deploy", "compensation_started"),
        ("deploy", "compensation_succeeded"),
        ("", "chain_failed"),
    ]
    code, out = cli("chain", "show", result["chain_id"])
    assert json.loads(out)["status"] == "failed"
    code, out = cli("report", "chains", "--json")
    [release] = json.loads(out)
    assert (release["subject"], release["runs"], release["success_rate"]) == ("release", 2, 0.5)
    assert release["last_failure"]["ref"] == result["chain_id"]
    code, out = cli("report", "pipelines", "--json")
    by_name = {r["subject"]: r for r in json.loads(out)}
    assert by_name["verify"]["runs"] == 1
    assert by_name["broken"]["success_rate"] == 0.0
    assert by_name["deploy"]["cost_usd"] == 0.0


def test_a_chain_with_bad_wiring_is_refused_before_it_starts(project: Path) -> None:
    text = CHAIN.replace("VERIFY", "verify.yaml").replace(
        "stages.build.outputs.out", "stages.build.outputs.nope"
    )
    (project / "wrong.chain.yaml").write_text(text)
    code, out = cli("chain", "run", "wrong.chain.yaml", "-i", "change=x")
    assert code == 2
    assert "wrong.chain.yaml:11:20: error[chain-reference]" in out
    with App(Settings.load()) as app:
        assert app.runs.list() == []  # nothing ran


def test_schedules_from_the_cli(project: Path) -> None:
    code, out = cli("schedule", "add", "health", "*/5 * * * *", "verify.yaml", "-i", "text=ping")
    assert code == 0, out
    assert out.startswith("health: */5 * * * * (UTC) next ")
    code, out = cli("schedule", "add", "bad", "every minute", "verify.yaml")
    assert code == 2
    assert "bad cron expression" in out
    code, out = cli("schedule", "list", "--json")
    assert [s["name"] for s in json.loads(out)] == ["health"]
    code, out = cli("scheduler", "--once")
    assert (code, out.strip()) == (0, "fired 0")  # nothing due right after adding it
    assert cli("schedule", "remove", "health")[0] == 0
    assert cli("schedule", "remove", "health")[0] == 2


async def test_the_scheduler_starts_real_runs_and_records_their_end(project: Path) -> None:
    import asyncio

    async with App(Settings.load()) as app:
        app.scheduling.add("health", "*/5 * * * *", "verify.yaml", {"text": "ping"})
        scheduler = app.scheduling.scheduler()
        [(schedule, checked)] = scheduler.schedules.list()
        nominal = schedule.next_time(checked)
        fires = await scheduler.tick(nominal + 1)
        assert [(f.nominal, f.status) for f in fires] == [(nominal, "running")]
        for _ in range(200):
            if scheduler.fires("health")[0].status != "running":
                break
            await asyncio.sleep(0.01)
        [fire] = scheduler.fires("health")
        assert fire.status == "succeeded"
        run = app.runs.get(fire.run_id or "")
        assert run["status"] == "succeeded"


async def test_routed_runs_demote_a_failing_challenger_automatically(project: Path) -> None:
    (project / "routes.yaml").write_text("rules:\n  - {target: verify, keywords: [verify]}\n")
    async with App(Settings.load()) as app:
        good = app.pipelines.resolve("verify.yaml").pipeline
        bad = app.pipelines.resolve("broken.yaml").pipeline.model_copy(
            update={"name": "verify", "description": "verify a release"}
        )
        assert app.routing.register("verify", good) == 1
        assert app.routing.register("verify", bad) == 2
        app.releases.start_canary("verify", 2, share=0.5, max_error_rate=0.2, min_requests=3)
        roles = []
        for key in range(16):
            outcome, result = await app.routing.run(
                "verify the release", {"text": "v"}, key=f"user-{key}"
            )
            assert outcome.target is not None
            assert result is not None
            assert outcome.decision.stage == "keywords"
            roles.append(outcome.role)
            assert result.ok == (outcome.role == "champion")
        canary = app.releases.canaries.get("verify")
        assert canary is not None
        assert canary.state == "demoted"
        assert roles.count("challenger") == 3  # demoted at its third failure
        assert "error rate 100.00% over 3 runs" in (canary.reason or "")
        assert "canary" not in app.releases.labels.aliases("verify")


def test_route_run_from_the_cli(project: Path) -> None:
    (project / "routes.yaml").write_text("rules:\n  - {target: verify.yaml, keywords: [verify]}\n")
    code, out = cli("route", "verify the release", "--run", "-i", "text=v", "--json")
    assert code == 0, out
    data = json.loads(out)
    assert (data["stage"], data["target"]) == ("keywords", "verify.yaml")
    assert data["run"]["status"] == "succeeded"


async def test_a_per_pipeline_limit_throttles_fires_and_a_dead_holder_frees_its_slot(
    project: Path,
) -> None:
    import math
    import time

    from evopipe.app.schedules import settle
    from evopipe.orchestrate.concurrency import Leases

    async with App(Settings.load()) as app:
        for name in ("a", "b"):
            app.scheduling.add(
                name, "*/5 * * * *", "verify.yaml", {"text": "x"}, overlap="allow_all"
            )
        start = math.ceil(time.time() / 3600) * 3600.0
        now = [start]
        scheduler = app.scheduling.scheduler(clock=lambda: now[0], max_per_pipeline=1)
        elsewhere = Leases(app.store, clock=lambda: now[0])  # another process, then it dies
        assert elsewhere.acquire([("pipeline:verify.yaml", 1)], "other") is not None
        fires = await scheduler.tick()
        assert [f.status for f in fires] == ["throttled", "throttled"]
        now[0] = start + 300  # the dead holder's 30 s lease expired long ago
        fires = await scheduler.tick()
        assert sorted(f.status for f in fires) == ["running", "throttled"]
        await settle(scheduler)
        done = [f for f in scheduler.fires() if f.nominal == start + 300]
        assert sorted(f.status for f in done) == ["succeeded", "throttled"]
        assert elsewhere.held("pipeline:verify.yaml") == 0  # released at the run's end


def test_no_match_generates_and_registers_then_routes_to_it(project: Path) -> None:
    request = "compose a sonnet about autumn leaves"
    code, out = cli("route", request, "--generate", "--register", "sonnets", "--json")
    assert code == 0, out
    data = json.loads(out)
    assert (data["stage"], data["target"], data["registered"]) == ("none", None, 1)
    assert data["generated"]["valid"] is True
    assert data["generated"]["generation_id"]
    code, out = cli("route", request, "--json")
    assert code == 0, out
    assert json.loads(out)["target"] == "sonnets@1"
