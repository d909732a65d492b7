"""Resource limits: each hostile workload fails cleanly, naming the limit, in a fresh process
whose peak RSS stays under a stated ceiling (1 GiB; the measured figures are in
bench/results/reliability.json, ``limits``). Scenarios live in limits_driver.py."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

DRIVER = Path(__file__).resolve().parent / "limits_driver.py"


def _driver() -> ModuleType:
    spec = importlib.util.spec_from_file_location("evopipe_limits_driver", DRIVER)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


driver = _driver()

EXPECTED: dict[str, tuple[str, str | None, str]] = {
    # scenario: (status, budget, words the error must contain)
    "big_shell_output": ("failed", None, "max_output_bytes=1000000"),
    "big_model_output": ("failed", None, "max_output_bytes=1000000"),
    "big_template_value": ("failed", None, "templates may build at most 1000000"),
    "endless_loop_steps": ("budget_exceeded", "max_steps", "max_steps"),
    "endless_loop_timeout": ("budget_exceeded", "timeout_s", "timeout_s"),
    "map_million": ("budget_exceeded", "max_map_items", "1000000 items, limit 10000"),
    "self_including_pipeline": ("refused", None, "sub-pipeline cycle"),
    "deep_yaml": ("refused", None, "nested deeper than 100 levels"),
}


def test_every_scenario_is_covered() -> None:
    assert set(EXPECTED) == set(driver.SCENARIOS)


@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_limit_fails_cleanly_under_the_memory_ceiling(scenario: str) -> None:
    outcome: dict[str, Any] = driver.in_subprocess(scenario)
    status, budget, words = EXPECTED[scenario]
    assert outcome["status"] == status, outcome
    assert outcome["budget"] == budget, outcome
    assert words in outcome["error"], outcome
    assert outcome["peak_rss_mib"] < driver.CEILING_MIB, outcome
