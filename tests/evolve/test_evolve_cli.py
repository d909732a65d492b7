"""End to end through the CLI: evolve (scripted model from a file), lineage, promote, rollback."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from evolve_helpers import SEED_YAML, counter_rules, slice_dataset
from typer.testing import CliRunner

from evopipe.cli import build_app


def test_evolve_lineage_promote_rollback(tmp_path: Path) -> None:
    data = slice_dataset(tmp_path)
    rules = tmp_path / "model.yaml"
    rules.write_text(
        yaml.safe_dump({"rules": counter_rules(data), "fallback": "not sure"}, sort_keys=False)
    )
    seed = tmp_path / "counter.yaml"
    seed.write_text(SEED_YAML)
    db = str(tmp_path / "evo.db")
    app = build_app()
    runner = CliRunner()
    common = ["--db", db]
    out = runner.invoke(
        app,
        [
            "evolve",
            str(seed),
            "--dataset",
            str(data),
            "--metric",
            "numeric[pick=first]",
            "--map",
            "question=input",
            "--model",
            f"scripted:{rules}",
            "--generations",
            "3",
            "--offspring",
            "3",
            "--seed",
            "3",
            "--json",
            *common,
        ],
    )
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout)
    # the program found by ``tool_search`` (``count_listed`` on the question: no model call)
    # answers 7 of the 10 val examples;
    # the seed, whose scripted answers are off by one, none
    assert result["seed_quality"] == 0.0
    assert result["champion_quality"] >= 0.7
    assert "cost projection" in out.stderr
    assert "[generation] gen 1" in out.stderr

    resumed = runner.invoke(app, ["evolve", "--resume", result["run_id"], "--json", *common])
    assert resumed.exit_code == 0, resumed.output
    again_result = json.loads(resumed.stdout)
    assert again_result["champion_id"] == result["champion_id"]
    assert again_result["front"] == result["front"]
    assert again_result["calls"] == result["calls"]

    tree = runner.invoke(app, ["lineage", result["run_id"], *common])
    assert tree.exit_code == 0, tree.output
    assert "tool_search" in tree.stdout
    dot = runner.invoke(app, ["lineage", result["champion_id"][:12], "--format", "dot", *common])
    assert dot.stdout.startswith("digraph lineage")

    seed_id = result["seed_id"][:12]
    refused = runner.invoke(app, ["promote", seed_id, *common])
    assert refused.exit_code == 1
    assert "refused" in refused.stdout

    promoted = runner.invoke(app, ["promote", result["champion_id"][:12], "--json", *common])
    assert promoted.exit_code == 0, promoted.output
    decision = json.loads(promoted.stdout)
    assert decision["promoted"] is True
    assert decision["version"] == 2
    assert decision["comparison"]["p_value"] < 0.05

    back = runner.invoke(app, ["rollback", "counter", *common])
    assert back.exit_code == 0, back.output
    assert "champion is now v1" in back.stdout
    again = runner.invoke(app, ["rollback", "counter", *common])
    assert again.exit_code == 2
    assert "no earlier champion" in again.stderr


def test_bad_arguments_give_clear_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    out = runner.invoke(build_app(), ["evolve", "--db", str(tmp_path / "x.db")])
    assert out.exit_code == 2
    assert "give PIPELINE or --request, with --dataset and --metric" in out.stderr
    missing = runner.invoke(build_app(), ["lineage", "evo_nope", "--db", str(tmp_path / "x.db")])
    assert missing.exit_code == 2
    assert "no candidate" in missing.stderr
