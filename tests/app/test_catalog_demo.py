"""The catalog on the real example service: the hotfix workflow deploys a good release, then
rolls a deliberately broken one back; the monitors run on their schedules (fake clock)."""

from __future__ import annotations

import importlib.util
import math
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from evopipe.app import App, Settings
from evopipe.app.schedules import settle

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "examples" / "catalog" / "demo.py"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _demo() -> Any:
    spec = importlib.util.spec_from_file_location("catalog_demo", DEMO)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EVOPIPE_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.delenv("EVOPIPE_DB", raising=False)
    return tmp_path


async def test_hotfix_deploys_then_rolls_back_a_broken_release_and_monitors_run(
    project: Path,
) -> None:
    state = project / "state"
    module = _demo()
    report = await module.demo(module.fresh(state), python=sys.executable)
    assert len(report["registered"]) == 12
    assert report["good_release"]["status"] == "succeeded"
    assert '"version": "1.0.0"' in report["good_release"]["outputs"]["deployed"]
    bad = report["broken_release"]
    assert bad["status"] == "failed"
    assert bad["events"][-4:] == [
        "verify: stage_failed",
        "deploy: compensation_started",
        "deploy: compensation_succeeded",
        "-: chain_failed",
    ]
    assert report["current_release"] == "1.0.0"  # the broken 1.0.1 was rolled back
    assert (state / "releases" / "1.0.1" / "BROKEN").exists()

    settings = Settings.load(db=str(state / "evopipe.db"), trust=True)
    async with App(settings) as app:
        categories = {e.name: e.category for e in app.catalog.list() if e.origin != "library"}
        assert categories["monitor-health"] == "monitoring"
        assert categories["deploy"] == "deployment"
        assert categories["unit-test"] == "testing"
        assert categories["bug-fix"] == "development"
        hour = math.ceil(time.time() / 3600) * 3600.0
        clock = Clock(hour)
        scheduler = app.scheduling.scheduler(clock=clock)
        for minute in range(30):
            clock.now = hour + 60 * minute
            await scheduler.tick()
            await settle(scheduler)
        fires = scheduler.fires()
        reports = {r.subject: r for r in app.reports.schedules()}
    assert reports["monitor-performance"].runs == 2
    assert reports["monitor-health"].success_rate == 1.0
    counts = {
        name: sum(f.schedule == name for f in fires)
        for name in ("monitor-health", "monitor-performance", "monitor-errors")
    }
    assert counts == {"monitor-health": 6, "monitor-performance": 2, "monitor-errors": 6}
    assert {f.status for f in fires} == {"succeeded"}
    assert all(f.nominal % 300 == 0 for f in fires)
