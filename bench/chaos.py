"""Fault injection (``make chaos``): runs of a 10-step pipeline on ``sim`` models that fail.

Each call to the primary and to the fallback model fails with probability ``fail_rate`` (30 %)
with a mix of 429, 500, timeouts and malformed JSON (``SimModel``). Every step retries
(``max_attempts`` per model) then falls back to two more ``sim`` models in turn. Every run is
journaled in a real SQLite store. A run passes when:

- it succeeded, and its outputs and every step's output equal those of a fault-free run of the
  same inputs (the fake answers are a pure function of the request, so a retried call that
  finally succeeds must produce exactly the fault-free value);
- its journal holds exactly one ``step_succeeded`` event per step, carrying that same output,
  and no ``step_failed`` event.

Counts go to the ``chaos`` section of ``bench/results/reliability.json``::

    python bench/chaos.py                 # 200 runs (make chaos)
    python bench/chaos.py --runs 20       # quicker

``tests/hardening/test_chaos.py`` runs a 20-run version of the same code in ``make test``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from evopipe.engine import RunOptions, Services
from evopipe.engine.runner import run_pipeline
from evopipe.models import ModelHub
from evopipe.models.testing import SimModel
from evopipe.spec.loader import loads
from evopipe.spec.pipeline import Pipeline
from evopipe.store import Store

PRIMARY = "sim:primary"
BACKUP = "sim:backup"
BACKUP2 = "sim:backup2"
STEPS = 10


def chaos_pipeline(max_attempts: int = 4) -> Pipeline:
    """Ten steps (seven ``llm``, three ``extract`` with a JSON Schema), partly parallel."""
    retry = (
        f"{{max_attempts: {max_attempts}, backoff_s: 0, jitter: false, "
        f"fallback_models: [{BACKUP}, {BACKUP2}]}}"
    )
    schema = (
        "{schema: {type: object, required: [title, score], properties: "
        "{title: {type: string}, score: {type: integer}}}, max_retries: 0}"
    )
    lines = [
        "apiVersion: evopipe/v1",
        "name: chaos",
        "inputs: {topic: {type: string}}",
        "steps:",
    ]
    for i in range(1, STEPS + 1):
        sid = f"s{i:02d}"
        if i == 1:
            prompt = "Topic: {{ inputs.topic }}"
        elif i % 2 == 0:  # two steps read the same parent: they run in parallel
            prompt = f"Go on from: {{{{ steps.s{i - 1:02d}.output | tojson }}}}"
        else:
            prompt = (
                f"Combine {{{{ steps.s{i - 2:02d}.output | tojson }}}} and {{{{ inputs.topic }}}}"
            )
        kind = "extract" if i in (3, 6, 9) else "llm"
        lines.append(f"  - id: {sid}")
        lines.append(f"    kind: {kind}")
        lines.append(f"    model: {PRIMARY}")
        lines.append(f"    prompt: {json.dumps(prompt)}")
        lines.append(f"    retry: {retry}")
        if kind == "extract":
            lines.append(f"    output: {schema}")
    lines.append("outputs: {last: '{{ steps.s10.output }}', mid: '{{ steps.s09.output.title }}'}")
    return loads("\n".join(lines) + "\n").pipeline


@dataclass
class ChaosReport:
    runs: int = 0
    runs_completed: int = 0
    runs_failed: int = 0
    steps_expected: int = 0
    model_calls: int = 0
    faults_injected: int = 0
    faults_by_type: dict[str, int] = field(default_factory=dict)
    observed_fault_rate: float = 0.0
    retries: int = 0
    fallback_switches: int = 0
    fallbacks_used: int = 0
    """Steps whose successful answer came from a fallback model."""
    outputs_lost: int = 0
    outputs_duplicated: int = 0
    outputs_different: int = 0
    journal_failed_events: int = 0
    wall_time_s: float = 0.0
    settings: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _hub(fail_rate: float, latency_ms: float, seed: int) -> tuple[ModelHub, list[SimModel]]:
    hub = ModelHub(allow_network=False)
    sims = []
    for n, model_id in enumerate((PRIMARY, BACKUP, BACKUP2)):
        sim = SimModel(latency_ms, latency_ms / 2, fail_rate, seed + n, retry_after_s=0.0)
        hub.add(sim, model_id)
        sims.append(sim)
    return hub, sims


def _topics(runs: int) -> list[str]:
    return [f"chaos topic {i}: {'x' * (i % 7)}" for i in range(runs)]


async def _reference(pipeline: Pipeline, topics: list[str]) -> list[dict[str, Any]]:
    hub, _ = _hub(0.0, 0.0, 0)
    services = Services(models=hub)
    out = []
    for topic in topics:
        result = await run_pipeline(pipeline, {"topic": topic}, services=services)
        if result.status != "succeeded":
            raise RuntimeError(f"fault-free run failed: {result.error}")
        out.append({"outputs": result.outputs, "steps": {s.id: s.output for s in result.steps}})
    return out


def _verify(report: ChaosReport, result: Any, expected: dict[str, Any], events: list[Any]) -> None:
    if result.status != "succeeded":
        report.runs_failed += 1
        report.problems.append(f"{result.run_id}: {result.status}: {result.error}")
    else:
        report.runs_completed += 1
    if result.outputs != expected["outputs"]:
        report.outputs_different += 1
        report.problems.append(f"{result.run_id}: run outputs differ")
    succeeded: dict[str, list[Any]] = {}
    for ev in events:
        if ev.type == "step_succeeded" and ev.step_id is not None:
            succeeded.setdefault(ev.step_id, []).append(ev.payload.get("output"))
            if ev.payload.get("model") not in (None, PRIMARY):
                report.fallbacks_used += 1
        elif ev.type == "step_failed":
            report.journal_failed_events += 1
        elif ev.type == "step_retry":
            report.retries += 1
            if ev.payload.get("fallback_model"):
                report.fallback_switches += 1
    records = {s.id: s.output for s in result.steps}
    for sid, want in expected["steps"].items():
        found = succeeded.get(sid, [])
        if not found or sid not in records:
            report.outputs_lost += 1
            report.problems.append(f"{result.run_id}: step {sid} has no success event/output")
            continue
        if len(found) > 1:
            report.outputs_duplicated += 1
            report.problems.append(f"{result.run_id}: step {sid} succeeded {len(found)} times")
        if found[0] != want or records[sid] != want:
            report.outputs_different += 1
            report.problems.append(f"{result.run_id}: step {sid} output differs")


async def chaos(
    runs: int = 200,
    *,
    fail_rate: float = 0.3,
    latency_ms: float = 2.0,
    concurrency: int = 20,
    max_attempts: int = 4,
    seed: int = 1,
    db_dir: Path | None = None,
) -> ChaosReport:
    pipeline = chaos_pipeline(max_attempts)
    topics = _topics(runs)
    expected = await _reference(pipeline, topics)
    report = ChaosReport(runs=runs, steps_expected=runs * STEPS)
    report.settings = {
        "fail_rate": fail_rate,
        "latency_ms": latency_ms,
        "concurrent_runs": concurrency,
        "max_attempts_per_model": max_attempts,
        "models": [PRIMARY, BACKUP, BACKUP2],
        "steps_per_run": STEPS,
        "seed": seed,
        "journal": "sqlite",
    }
    hub, sims = _hub(fail_rate, latency_ms, seed)
    with (
        tempfile.TemporaryDirectory(dir=db_dir) as tmp,
        Store.open(f"sqlite:///{Path(tmp) / 'chaos.db'}") as store,
    ):
        services = Services(models=hub, store=store, base_dir=Path(tmp))
        gate = asyncio.Semaphore(concurrency)
        start = time.perf_counter()

        async def one(i: int) -> Any:
            async with gate:
                return await run_pipeline(
                    pipeline,
                    {"topic": topics[i]},
                    services=services,
                    options=RunOptions(cache=False, workspace=Path(tmp) / f"ws{i}"),
                )

        results = await asyncio.gather(*(one(i) for i in range(runs)))
        report.wall_time_s = round(time.perf_counter() - start, 3)
        for result, want in zip(results, expected, strict=True):
            _verify(report, result, want, store.load_events(result.run_id, 0))
    faults = [f for sim in sims for f in sim.faults]
    report.model_calls = sum(sim.calls for sim in sims)
    report.faults_injected = len(faults)
    report.faults_by_type = dict(sorted(Counter(faults).items()))
    report.observed_fault_rate = round(len(faults) / max(1, report.model_calls), 4)
    report.problems = report.problems[:20]
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--fail-rate", type=float, default=0.3)
    parser.add_argument("--latency-ms", type=float, default=2.0)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    report = asyncio.run(chaos(args.runs, fail_rate=args.fail_rate, latency_ms=args.latency_ms))
    data = asdict(report)
    print(json.dumps(data, indent=2))
    if not args.no_write:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from _reliability import update_section

        print(f"wrote {update_section('chaos', data)}")
    ok = (
        report.runs_completed == report.runs
        and report.outputs_lost == 0
        and report.outputs_duplicated == 0
        and report.outputs_different == 0
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
