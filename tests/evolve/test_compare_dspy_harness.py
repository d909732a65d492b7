"""``bench/compare_dspy.py``'s plumbing on the fake model, so the side-by-side benchmark does
not rot between its (long, embedded-model) runs: the OpenAI-compatible endpoint answers DSPy
on 127.0.0.1 and counts the calls; each optimiser row is filled."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import compare_dspy  # noqa: E402
from _openai_compat import serving  # noqa: E402

from evopipe.models import ModelHub  # noqa: E402


def test_dspy_optimisers_run_against_the_loopback_endpoint(tmp_path: Path) -> None:
    compare_dspy.offline_env(tmp_path / "cache")
    sizes = {"train": 3, "val": 3, "test": 4}
    splits = {k: compare_dspy.rows(k, n) for k, n in sizes.items()}
    with serving(ModelHub().get("fake")) as (base_url, counter):
        assert base_url.startswith("http://127.0.0.1:")
        rows = compare_dspy.dspy_side(base_url, counter, splits, "fake")
        answered = counter.calls
    assert set(rows) == {
        "Predict",
        "LabeledFewShot",
        "BootstrapFewShot",
        "BootstrapFewShotWithRandomSearch",
    }
    assert all(r["error"] is None for r in rows.values())
    # the fake model never answers a count: every score is 0, and the calls were real
    assert all(r["test_accuracy"] == 0.0 for r in rows.values())
    assert rows["Predict"]["optimisation_calls"] == 0
    assert rows["BootstrapFewShot"]["optimisation_calls"] > 0
    assert answered >= 4 * sizes["test"]


def test_the_metric_reads_the_first_integer() -> None:
    assert compare_dspy.first_int("There are 7 objects (and 2 more)") == "7"
    assert compare_dspy.first_int("none") is None


def test_the_banking_task_asks_dspy_for_one_of_the_ten_intents(tmp_path: Path) -> None:
    compare_dspy.offline_env(tmp_path / "cache")
    task = compare_dspy.TASKS["banking10"]
    sizes = {"train": 2, "val": 2, "test": 3}
    splits = {k: compare_dspy.rows(k, n, task.data) for k, n in sizes.items()}
    assert len(task.labels) == 10
    assert "transfer_fee_charged: a fee for making a transfer" in task.instructions
    with serving(ModelHub().get("fake")) as (base_url, counter):
        rows = compare_dspy.dspy_side(base_url, counter, splits, "fake", task)
    assert rows["Predict"]["test_accuracy"] == 0.0  # the fake model names no intent
    assert counter.calls >= 4 * sizes["test"]
    assert compare_dspy.same_label(" Card_Payment_Fee_Charged ", "card_payment_fee_charged")
