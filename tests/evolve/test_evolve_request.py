"""Seed-free start: genesis writes the seed from a request, evolution improves it."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from evopipe.app import App, Settings
from evopipe.app.evolve import EvalSource
from evopipe.app.evolve_request import RequestArgs, auto_mapping, evolve_from_request
from evopipe.evolve.config import EvolveConfig
from evopipe.models import ModelHub
from evopipe.models.testing import FakeModel
from evopipe.spec import load_file, loads
from evopipe.spec.errors import EvopipeError


def write_sum_dataset(folder: Path) -> Path:
    folder.mkdir()
    rng = random.Random(0)
    for split, n in {"train": 8, "val": 10, "test": 10}.items():
        rows = []
        for _ in range(n):
            nums = [rng.randint(1, 40) for _ in range(rng.randint(2, 4))]
            text = "The receipts say " + ", ".join(map(str, nums)) + "."
            rows.append(json.dumps({"input": text, "target": str(sum(nums))}))
        (folder / f"{split}.jsonl").write_text("\n".join(rows) + "\n")
    return folder


async def test_evolve_from_a_request_generates_the_seed_then_improves_it(tmp_path: Path) -> None:
    data = write_sum_dataset(tmp_path / "sums")
    hub = ModelHub()
    hub.add(FakeModel(), "fake")
    args = RequestArgs(
        request="Add up the numbers written in a text and answer with the total.",
        source=EvalSource(str(data), "numeric[pick=first]", model="fake", concurrency=1),
        config=EvolveConfig(
            generations=1, population=2, offspring=1, seed=0, operators=("tool_search",)
        ),
        seed_out=tmp_path / "seed.yaml",
    )
    with App(Settings.load(tmp_path, db=str(tmp_path / "evo.db")), models=hub) as app:
        outcome = await evolve_from_request(app, args)
    seed = load_file(str(outcome.seed_path)).pipeline
    assert seed.metadata.get("origin") == "genesis"
    (name,) = seed.inputs
    assert outcome.mapping == {name: "input"}
    summary = outcome.result.summary
    assert summary["seed_quality"] == 0.0
    assert summary["champion_quality"] == 1.0
    assert outcome.generation["request"] == args.request


def test_auto_mapping_needs_help_when_it_cannot_guess(tmp_path: Path) -> None:
    data = tmp_path / "two.jsonl"
    data.write_text('{"a": "x", "b": "y", "target": "1"}\n' * 3)
    seed = loads(
        "apiVersion: evopipe/v1\nkind: Pipeline\nname: s\ninputs: {text: {type: string}}\n"
        "outputs: {o: '{{ steps.t.output }}'}\nsteps:\n- {id: t, kind: set, values: {x: 1}}\n"
    ).pipeline
    source = EvalSource(str(data), "exact")
    with pytest.raises(EvopipeError, match=r"map them to dataset fields \['a', 'b'\]"):
        auto_mapping(seed, source)
    given = EvalSource(str(data), "exact", mapping={"text": "b"})
    assert auto_mapping(seed, given) == {"text": "b"}


def test_cli_evolve_from_a_request(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from evopipe.cli import build_app

    data = write_sum_dataset(tmp_path / "sums")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EVOPIPE_CONFIG", str(tmp_path / "none.toml"))
    out = CliRunner().invoke(
        build_app(),
        [
            "evolve",
            "--request",
            "Add up the numbers written in a text.",
            "--dataset",
            str(data),
            "--metric",
            "numeric[pick=first]",
            "--model",
            "fake:any",
            "--operators",
            "tool_search,params",
            "--generations",
            "1",
            "--offspring",
            "2",
            "--seed-out",
            str(tmp_path / "made.yaml"),
            "--db",
            str(tmp_path / "evo.db"),
            "--json",
        ],
    )
    assert out.exit_code == 0, out.output
    assert "seed generated from the request" in out.stderr
    assert (tmp_path / "made.yaml").is_file()
    assert json.loads(out.stdout)["champion_quality"] == 1.0
    both = CliRunner().invoke(
        build_app(),
        ["evolve", "seed.yaml", "--request", "x", "--dataset", str(data), "--metric", "exact"],
    )
    assert both.exit_code == 2
    assert "PIPELINE or --request" in both.stderr
