from __future__ import annotations

from pathlib import Path

from evolve_helpers import scripted_counter, slice_dataset

from evopipe.demo import run_evolution as run_demo
from evopipe.models import ModelHub


async def test_demo_evolution_prints_lineage_and_gain(tmp_path: Path) -> None:
    hub = ModelHub()
    hub.add(scripted_counter(slice_dataset(tmp_path)), "scripted")
    lines: list[str] = []
    summary = await run_demo(model="scripted", models=hub, out=lines.append)
    text = "\n".join(lines)
    assert "lineage of bbh-object-counting" in text
    assert "tool_search" in text
    assert summary["champion_quality"] > summary["seed_quality"]
    # the program tool_search finds (count_listed on the question, no model call) beats the
    # seed's off-by-one answers
    assert summary["champion_quality"] >= 0.8
    assert f"quality 0.00 -> {summary['champion_quality']:.2f}" in lines[-1]
