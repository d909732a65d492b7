"""The optional integrations wired into the application layer: ``otel = true`` / ``--otel``
puts OpenTelemetry spans on every run of a session, and ``dspy_fewshot`` is an operator an
evolution can use; each extra missing is a clear error naming the install that fixes it."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from interop_needs import need_module

need_module("opentelemetry.sdk", reason="the otel extra is not installed")
need_module("dspy", reason="the dspy extra is not installed")

from sums_model import ANSWERS, SUMS, OneModel, sums_answer
from typer.testing import CliRunner

from evopipe.app import App, Settings, SettingsError
from evopipe.app.evolve import EvalSource, EvolveArgs, EvolveConfig
from evopipe.app.integrations import SUPPLIERS
from evopipe.cli import build_app
from evopipe.evolve.config import SUPPLIED_OPERATORS, EvolveConfigError
from evopipe.evolve.loop import start
from evopipe.evolve.repository import EvolutionRepository
from evopipe.models.testing import FunctionModel

KINDS = Path(__file__).resolve().parents[2] / "examples" / "kinds"


def _spans(text: str) -> list[dict[str, Any]]:
    """The JSON spans the console exporter wrote (one indented object after another)."""
    decoder, spans, at = json.JSONDecoder(), [], text.find("{")
    while at != -1:
        span, end = decoder.raw_decode(text, at)
        spans.append(span)
        at = text.find("{", end)
    return spans


# -- OpenTelemetry ---------------------------------------------------------------------------


def test_otel_setting_puts_spans_on_every_run(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "evopipe.toml").write_text("otel = true\n")
    settings = Settings.load(project, environ={}, persist=False)
    assert settings.otel is True
    with App(settings, environ={"OTEL_TRACES_EXPORTER": "console"}) as app:
        result = app.runs.run_sync(
            KINDS / "extract.yaml", {"review": "Lovely, though late."}, model="fake"
        )
    assert result.ok
    spans = _spans(capsys.readouterr().err)
    by_name = {s["name"]: s for s in spans}
    assert set(by_name) == {"evopipe.run kinds-extract", "evopipe.step read", "chat fake"}
    run, step, call = (
        by_name[n] for n in ("evopipe.run kinds-extract", "evopipe.step read", "chat fake")
    )
    assert call["parent_id"] == step["context"]["span_id"]
    assert step["parent_id"] == run["context"]["span_id"]
    assert call["attributes"]["gen_ai.request.model"] == "fake"
    assert run["attributes"]["evopipe.run.id"] == result.run_id


def test_otel_flag_of_evopipe_run(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    args = ["run", str(KINDS / "llm.yaml"), "-i", "text=Otters.", "--model", "fake", "--json"]
    plain = CliRunner().invoke(build_app(), [*args, "--db", str(project / "a.db")])
    assert plain.exit_code == 0, plain.output
    assert "chat fake" not in plain.stderr
    traced = CliRunner().invoke(build_app(), [*args, "--db", str(project / "b.db"), "--otel"])
    assert traced.exit_code == 0, traced.output
    names = {s["name"] for s in _spans(traced.stderr)}
    assert names == {"evopipe.run kinds-llm", "evopipe.step summarise", "chat fake"}


def test_otel_without_its_extra_or_exporter_is_a_clear_error(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings.load(project, environ={}, persist=False, otel=True)
    zipkin = App(settings, environ={"OTEL_TRACES_EXPORTER": "zipkin"})
    with zipkin as app, pytest.raises(SettingsError, match="OTEL_TRACES_EXPORTER='zipkin'"):
        app.runs.run_sync(KINDS / "set.yaml", {"first": "A", "last": "B"})
    endpoint = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}  # otlp by default
    monkeypatch.setitem(sys.modules, "opentelemetry.exporter.otlp.proto.http.trace_exporter", None)
    otlp = App(settings, environ=endpoint)
    with otlp as app, pytest.raises(SettingsError, match="opentelemetry-exporter-otlp-proto-http"):
        app.runs.run_sync(KINDS / "set.yaml", {"first": "A", "last": "B"})
    monkeypatch.setitem(sys.modules, "evopipe.interop.otel", None)
    bare = App(settings, environ={})
    with bare as app, pytest.raises(SettingsError, match=re.escape("pip install 'evopipe[otel]'")):
        app.runs.run_sync(KINDS / "set.yaml", {"first": "A", "last": "B"})


# -- DSPy few-shot operator ----------------------------------------------------------------------


def _sums_dataset(project: Path) -> Path:
    rows = [("2+2", "train"), ("3+3", "train"), ("1+1", "train"), ("5+5", "val"),
            ("1+1", "val"), ("4+4", "test"), ("6+6", "test")]  # fmt: skip
    path = project / "sums.jsonl"
    right = {**ANSWERS, "1+1": "2"}
    path.write_text("".join(json.dumps({"sum": s, "answer": right[s], "split": p}) + "\n"
                            for s, p in rows))  # fmt: skip
    return path


async def test_dspy_fewshot_operator_evolves_through_the_app(project: Path) -> None:
    (project / "sums.yaml").write_text(SUMS)
    model = FunctionModel(sums_answer)
    settings = Settings.load(project, environ={}, db=str(project / "s.db"))
    config = EvolveConfig(generations=1, offspring=1, operators=("dspy_fewshot",), seed=1)
    source = EvalSource(
        dataset=str(_sums_dataset(project)), metric="exact", expected="answer", output="answer"
    )
    async with App(settings, models=OneModel(model)) as app:
        result = await app.evolutions.evolve(EvolveArgs(project / "sums.yaml", source, config))
        genealogy = json.loads(app.evolutions.lineage(result.run_id, "json"))
        children = [n for n in genealogy["nodes"] if "dspy_fewshot" in n["operators"]]
        assert len(children) == 1
        child = EvolutionRepository(app.store).get_spec(children[0]["id"])
    demos = [(d.input, d.output) for d in child.steps[0].demos]
    # DSPy bootstrapped the train examples the model gets right (2+2, 3+3); it fills the third
    # demo with a labelled example, whose answer is the dataset's (2), not the model's (3)
    assert demos == [("What is 2+2?", "4"), ("What is 3+3?", "6"), ("What is 1+1?", "2")]


async def test_supplied_operators_need_their_extra_and_the_app(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert set(SUPPLIERS) == set(SUPPLIED_OPERATORS)
    (project / "sums.yaml").write_text(SUMS)
    config = EvolveConfig(generations=1, offspring=1, operators=("dspy_fewshot",))
    source = EvalSource(dataset=str(_sums_dataset(project)), metric="exact", expected="answer")
    settings = Settings.load(project, environ={}, db=str(project / "s.db"))
    monkeypatch.setitem(sys.modules, "evopipe.interop.dspy_bridge", None)
    async with App(settings, models=OneModel(FunctionModel(sums_answer))) as app:
        with pytest.raises(EvolveConfigError, match=re.escape("pip install 'evopipe[dspy]'")):
            await app.evolutions.evolve(EvolveArgs(project / "sums.yaml", source, config))
        with pytest.raises(EvolveConfigError, match="dspy_fewshot were not supplied"):
            await start(
                app.pipelines.resolve(project / "sums.yaml").pipeline,
                repo=EvolutionRepository(app.store),
                evaluator=None,  # type: ignore[arg-type]  # refused before it is used
                config=config,
            )
