"""The application layer's operations: settings, runs started without waiting, the event
stream replayed from the journal, cancel, approve on the run's own model, the registry."""

from __future__ import annotations

import asyncio
import json
import pickle
from pathlib import Path

import pytest

from evopipe.app import App, Decision, EvopipeError, Settings, SettingsError, UsageError
from evopipe.orchestrate.registry import Registry
from evopipe.spec import loads

SLOW = """apiVersion: evopipe/v1
kind: Pipeline
name: slow-chain
inputs: {topic: {type: string, default: cats}}
outputs: {last: "{{ steps.s3.output }}"}
steps:
  - {id: s1, kind: llm, prompt: "one {{ inputs.topic }}"}
  - {id: s2, kind: llm, prompt: "two {{ steps.s1.output }}"}
  - {id: s3, kind: llm, prompt: "three {{ steps.s2.output }}"}
"""
GATED = """apiVersion: evopipe/v1
kind: Pipeline
name: gated
outputs: {text: "{{ steps.draft.output }}"}
steps:
  - {id: draft, kind: llm, prompt: "Draft a note"}
  - {id: review, kind: approval, message: "ok?", needs: [draft]}
  - {id: after, kind: llm, prompt: "Polish {{ steps.draft.output }}", needs: [review]}
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EVOPIPE_CONFIG", str(tmp_path / "none.toml"))
    for name in ("EVOPIPE_DB", "EVOPIPE_MODEL"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "slow.yaml").write_text(SLOW)
    (tmp_path / "gated.yaml").write_text(GATED)
    return tmp_path


# -- settings ------------------------------------------------------------------------------


def test_settings_precedence_file_then_environment_then_flags(project: Path) -> None:
    (project / "evopipe.toml").write_text('default_model = "fake"\ndb = "data/x.db"\n')
    s = Settings.load(project, environ={})
    assert s.default_model == "fake"
    assert s.db == str(project / "data" / "x.db")  # relative to the file that says it
    s = Settings.load(project, environ={"EVOPIPE_MODEL": "sim", "EVOPIPE_DB": "env.db"})
    assert (s.default_model, s.db) == ("sim", "env.db")
    s = Settings.load(project, environ={"EVOPIPE_MODEL": "sim"}, default_model="flag", db=None)
    assert s.default_model == "flag"  # a flag wins; a flag given as None does not count


def test_settings_are_plain_data(project: Path) -> None:
    s = Settings.load(project, environ={}, model="fake", trust=True)
    assert Settings.from_json(json.loads(json.dumps(s.to_json()))) == s
    assert pickle.loads(pickle.dumps(s)) == s


def test_settings_errors_name_the_file(project: Path) -> None:
    (project / "evopipe.toml").write_text("default_model = 3\n")
    with pytest.raises(SettingsError, match=r"evopipe.toml: default_model must be a str"):
        Settings.load(project, environ={})
    with pytest.raises(SettingsError, match="unknown setting"):
        Settings.load(project, environ={}, colour="blue")


# -- runs ----------------------------------------------------------------------------------


def _app(project: Path, **flags: object) -> App:
    return App(Settings.load(project, environ={}, db=str(project / "s.db"), **flags))


async def test_start_returns_at_once_and_events_replay_gap_free(project: Path) -> None:
    async with _app(project, model="sim:latency_ms=40,seed=1") as app:
        handle = await app.runs.start("slow.yaml")
        assert not handle.done()
        assert app.runs.get(handle.run_id)["status"] == "running"
        seen = [e.seq async for e in app.runs.events(handle.run_id)]
        result = await handle.result()
    assert result.ok
    assert seen == list(range(1, len(seen) + 1))
    with _app(project) as app:  # a second session replays the same journal from any point
        later = [(e.seq, e.type) async for e in app.runs.events(result.run_id, after=3)]
        assert [s for s, _ in later] == seen[3:]
        assert later[-1][1] == "run_finished"


async def test_start_raises_before_anything_runs_on_a_bad_pipeline(project: Path) -> None:
    (project / "bad.yaml").write_text(SLOW.replace("{{ steps.s2.output }}", "{{ steps.zz }}"))
    async with _app(project, model="fake") as app:
        with pytest.raises(Exception, match=r"bad.yaml:\d+:\d+"):
            await app.runs.start("bad.yaml")
        assert app.runs.list() == []


async def test_cancel_stops_a_started_run_and_it_resumes(project: Path) -> None:
    async with _app(project, model="sim:latency_ms=150,seed=1") as app:
        handle = await app.runs.start("slow.yaml")
        await asyncio.sleep(0.05)
        app.runs.cancel(handle.run_id)
        result = await handle.result()
        assert result.status == "cancelled"
        resumed = await app.runs.resume(handle.run_id)
        assert resumed.ok
        assert resumed.run_id == handle.run_id


async def test_unknown_run_is_a_clear_error(project: Path) -> None:
    async with _app(project) as app:
        with pytest.raises(EvopipeError, match="no run with id 'run_nope'"):
            [e async for e in app.runs.events("run_nope")]


async def test_approve_continues_on_the_runs_own_model(project: Path) -> None:
    async with _app(project) as app:
        first = await app.runs.run("gated.yaml", model="fake")
        assert first.status == "waiting"
    # a new session with no --model: the run's model (fake) is used, not the default
    async with _app(project) as app:
        done = await app.runs.approve(first.run_id, Decision("review", decided_by="ann"))
        assert done.ok, done.error
        events = [e async for e in app.runs.events(first.run_id)]
    after = [e for e in events if e.type == "step_succeeded" and e.step_id == "after"]
    assert [e.data["model"] for e in after] == ["fake"]


# -- registry ------------------------------------------------------------------------------


def _register(app: App, text: str, name: str = "greeter") -> int:
    registry = Registry(app.store)
    number = registry.add_version(name, f"cand{text}", loads(_greeter(text)).pipeline, {})
    registry.set_champion(name, number)
    return number


def _greeter(text: str) -> str:
    return (
        "apiVersion: evopipe/v1\nkind: Pipeline\nname: greeter\n"
        f"steps:\n  - {{id: hi, kind: set, values: {{greeting: {text}}}}}\n"
        "outputs: {greeting: '{{ steps.hi.output.greeting }}'}\n"
    )


async def test_registered_names_and_pinned_versions_run(project: Path) -> None:
    async with _app(project) as app:
        assert _register(app, "v1") == 1
        assert _register(app, "v2") == 2
        assert [e.to_json() for e in app.registry.list()] == [
            {"name": "greeter", "versions": 2, "champion": 2}
        ]
        assert (await app.runs.run("greeter")).outputs == {"greeting": "v2"}
        assert (await app.runs.run("greeter@1")).outputs == {"greeting": "v1"}
        with pytest.raises(UsageError, match="no version 7"):
            await app.runs.run("greeter@7")
        with pytest.raises(UsageError, match="NAME@N"):
            await app.runs.run("greeter@latest")
        assert app.registry.show("greeter")["champion"] == 2
