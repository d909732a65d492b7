"""Fault injection, fast version of ``make chaos`` (bench/chaos.py, the same code): 20 runs of
a 10-step pipeline on ``sim`` models failing 30 % of calls (429, 500, timeout, malformed JSON),
with retries and fallback models; nothing may be lost, duplicated or changed."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "chaos.py"


@pytest.fixture(scope="module")
def chaos_mod() -> ModuleType:
    spec = importlib.util.spec_from_file_location("evopipe_bench_chaos", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


async def test_twenty_faulty_runs_lose_and_duplicate_nothing(
    chaos_mod: ModuleType, tmp_path: Path
) -> None:
    report = await chaos_mod.chaos(20, fail_rate=0.3, latency_ms=0.5, db_dir=tmp_path)
    assert report.problems == []
    assert report.runs_completed == 20
    assert report.outputs_lost == report.outputs_duplicated == report.outputs_different == 0
    assert report.journal_failed_events == 0
    assert set(report.faults_by_type) == {"429", "500", "timeout", "malformed"}
    assert 0.2 < report.observed_fault_rate < 0.4
    assert report.retries == report.faults_injected  # every fault was retried, none swallowed
    assert report.model_calls == report.steps_expected + report.faults_injected


async def test_fallback_model_answers_when_the_primary_keeps_failing(
    chaos_mod: ModuleType, tmp_path: Path
) -> None:
    """With one attempt per model, a fault moves the step on to the fallback models."""
    report = await chaos_mod.chaos(
        10, fail_rate=0.3, latency_ms=0, max_attempts=1, seed=7, db_dir=tmp_path
    )
    assert report.fallbacks_used > 0
    assert report.fallback_switches >= report.fallbacks_used
    assert report.outputs_duplicated == 0
    # a step whose three models all failed is reported as failed, never as a success
    assert report.runs_completed + report.runs_failed == 10


async def test_the_verifier_sees_lost_outputs(chaos_mod: ModuleType, tmp_path: Path) -> None:
    """Negative control: when every call fails, the runs fail and every output counts as lost."""
    report = await chaos_mod.chaos(2, fail_rate=1.0, latency_ms=0, max_attempts=1, db_dir=tmp_path)
    assert report.runs_failed == 2
    assert report.runs_completed == 0
    assert report.outputs_lost == 20
    assert report.journal_failed_events >= 2
