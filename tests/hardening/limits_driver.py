"""Runs one resource-limit scenario in a fresh process and prints a JSON line: the run's
status, the budget it names, its error and the process's peak RSS (``ru_maxrss``).

    python tests/hardening/limits_driver.py SCENARIO
    python tests/hardening/limits_driver.py --record   # every scenario; writes the ``limits``
                                                       # section of bench/results/reliability.json

Used by test_hardening_limits.py (one subprocess per scenario, so peaks do not mix).
"""

from __future__ import annotations

import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from evopipe.engine import RunOptions, Services
from evopipe.engine.policy import Policy
from evopipe.engine.runner import run_pipeline
from evopipe.models import ModelHub
from evopipe.models.base import ModelRequest
from evopipe.models.testing import FunctionModel
from evopipe.spec.errors import EvopipeError
from evopipe.spec.loader import load_file, loads
from evopipe.spec.pipeline import Pipeline
from evopipe.store import Store

MIB = 1024 * 1024
BIG = 100 * MIB
HEADER = "apiVersion: evopipe/v1\nname: limits\n"
Outcome = dict[str, Any]


def _peak_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KiB on Linux


async def _run(
    text: str | Pipeline, tmp: Path, inputs: dict[str, Any] | None = None, **kw: Any
) -> Outcome:
    hub = kw.pop("hub", None) or ModelHub(allow_network=False)
    policy = kw.pop("policy", Policy.untrusted())
    with Store.open(f"sqlite:///{tmp / 'limits.db'}") as store:
        services = Services(models=hub, store=store, policy=policy, base_dir=tmp)
        try:
            pipeline = loads(HEADER + text).pipeline if isinstance(text, str) else text
            result = await run_pipeline(
                pipeline, inputs or {}, services=services, options=RunOptions(workspace=tmp / "ws")
            )
        except EvopipeError as exc:
            return {"status": "refused", "budget": None, "error": str(exc)[:300]}
    return {"status": result.status, "budget": result.budget, "error": (result.error or "")[:300]}


async def big_shell_output(tmp: Path) -> Outcome:
    """A trusted shell step writing 100 MB to stdout (cap: max_output_bytes)."""
    script = "import sys\nfor _ in range(100): sys.stdout.write('x' * 1048576)"
    command = json.dumps([sys.executable, "-c", script])
    text = f"steps:\n  - id: big\n    kind: shell\n    command: {command}\n"
    return await _run(text, tmp, policy=Policy.trusting())


async def big_model_output(tmp: Path) -> Outcome:
    """A model answering 100 MB of text."""
    hub = ModelHub(allow_network=False)

    def huge(request: ModelRequest) -> str:
        return "x" * BIG

    hub.add(FunctionModel(huge, model_id="huge"))
    text = "steps:\n  - {id: big, kind: llm, model: huge, prompt: hi, retry: {max_attempts: 1}}\n"
    return await _run(text, tmp, hub=hub)


async def big_template_value(tmp: Path) -> Outcome:
    """A template trying to build 100 MB (`'x' * 104857600`)."""
    text = "steps:\n  - {id: big, kind: set, values: {v: \"{{ 'x' * 104857600 }}\"}}\n"
    return await _run(text, tmp)


ENDLESS = """limits: {max_steps: 2000}
steps:
  - id: outer
    kind: loop
    max_iterations: 1000
    until: "false"
    steps:
      - id: inner
        kind: loop
        max_iterations: 1000
        until: "false"
        steps: [{id: it, kind: tool, tool: length, args: {value: "x"}}]
"""


async def endless_loop_steps(tmp: Path) -> Outcome:
    """Two nested loops (10^6 iterations) whose `until` never holds; max_steps 2000."""
    return await _run(ENDLESS, tmp)


async def endless_loop_timeout(tmp: Path) -> Outcome:
    """The same endless loops with no step budget, under timeout_s: 2."""
    return await _run(ENDLESS.replace("max_steps: 2000", "timeout_s: 2"), tmp)


async def map_million(tmp: Path) -> Outcome:
    """A map over 10^6 items (cap: max_map_items)."""
    text = """inputs: {xs: {type: array}}
steps:
  - id: fan
    kind: map
    over: "{{ inputs.xs }}"
    steps: [{id: u, kind: tool, tool: length, args: {value: "{{ item }}"}}]
"""
    return await _run(text, tmp, {"xs": list(range(1_000_000))})


async def self_including_pipeline(tmp: Path) -> Outcome:
    """A pipeline file whose only step runs the same file (cap: max_depth)."""
    path = tmp / "rec.yaml"
    path.write_text(HEADER + "steps:\n  - {id: again, kind: pipeline, pipeline: rec.yaml}\n")
    try:
        pipeline = load_file(path).pipeline
    except EvopipeError as exc:
        return {"status": "refused", "budget": None, "error": str(exc)[:300]}
    return await _run(pipeline, tmp)


async def deep_yaml(tmp: Path) -> Outcome:
    """A 2 MB document nesting `[` one million levels deep."""
    path = tmp / "deep.yaml"
    path.write_text(HEADER + "steps: " + "[" * 1_000_000 + "]" * 1_000_000 + "\n")
    try:
        load_file(path)
    except EvopipeError as exc:
        return {"status": "refused", "budget": None, "error": str(exc)[:300]}
    return {"status": "loaded", "budget": None, "error": ""}


SCENARIOS: dict[str, Callable[[Path], Coroutine[Any, Any, Outcome]]] = {
    "big_shell_output": big_shell_output,
    "big_model_output": big_model_output,
    "big_template_value": big_template_value,
    "endless_loop_steps": endless_loop_steps,
    "endless_loop_timeout": endless_loop_timeout,
    "map_million": map_million,
    "self_including_pipeline": self_including_pipeline,
    "deep_yaml": deep_yaml,
}


def run_scenario(name: str) -> Outcome:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        outcome = asyncio.run(SCENARIOS[name](Path(tmp)))
        outcome["seconds"] = round(time.perf_counter() - start, 2)
    outcome["peak_rss_mib"] = _peak_mib()
    outcome["scenario"] = name
    return outcome


def in_subprocess(name: str, timeout_s: float = 300) -> Outcome:
    proc = subprocess.run(
        [sys.executable, __file__, name],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    if proc.returncode != 0:
        return {"scenario": name, "status": "crashed", "returncode": proc.returncode,
                "error": proc.stderr[-2000:]}  # fmt: skip
    outcome: Outcome = json.loads(proc.stdout.strip().splitlines()[-1])
    return outcome


def _record() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from _reliability import update_section

    results = {name: in_subprocess(name) for name in SCENARIOS}
    for r in results.values():
        print(json.dumps(r))
    peak = max(float(r.get("peak_rss_mib", 0)) for r in results.values())
    path = update_section(
        "limits",
        {
            "ceiling_mib": CEILING_MIB,
            "max_peak_rss_mib": peak,
            "scenarios": results,
            "how": "one fresh process per scenario; peak = ru_maxrss of that process",
        },
    )
    print(f"wrote {path}")


CEILING_MIB = 1024
"""The stated memory ceiling: no scenario's process may peak above 1 GiB."""


if __name__ == "__main__":
    if sys.argv[1:] == ["--record"]:
        _record()
    else:
        print(json.dumps(run_scenario(sys.argv[1])))
