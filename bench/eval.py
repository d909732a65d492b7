"""Evaluation throughput with the simulated model: examples per second at concurrency 1, 10, 100.

Each example is one run of a one-step ``llm`` pipeline on ``sim:latency_ms=L`` (an
``asyncio.sleep`` of L ms per call, no network), scored with ``exact``; every prompt is distinct,
so the response cache never hits. The ideal rate is ``concurrency * 1000 / L`` examples/s; the
gap to it is the engine's and the evaluator's own overhead. A second pass over the same
examples shows the cache: zero model calls. Writes ``bench/results/eval.json``.

    .venv/bin/python bench/eval.py [--latency-ms 50] [--seconds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

from evopipe.engine import Services
from evopipe.evaluate import build_metrics, evaluate, from_rows
from evopipe.models import InMemoryCache, ModelHub
from evopipe.spec import loads

RESULTS = Path(__file__).parent / "results" / "eval.json"
PIPELINE = """\
apiVersion: evopipe/v1
kind: Pipeline
name: bench-classify
inputs:
  text: {type: string}
defaults:
  temperature: 0
outputs:
  answer: "{{ steps.answer.output }}"
steps:
  - id: answer
    kind: llm
    prompt: "Label: {{ inputs.text }}"
"""


async def _measure(concurrency: int, n: int, latency_ms: float) -> dict[str, Any]:
    model_id = f"sim:latency_ms={latency_ms:g},seed=1"
    hub = ModelHub(cache=InMemoryCache())
    services = Services(models=hub)
    pipeline = loads(PIPELINE).pipeline
    rows = [{"text": f"message number {i} for c{concurrency}", "label": "x"} for i in range(n)]
    dataset = from_rows(rows)
    metrics = build_metrics("exact")
    from evopipe.engine import RunOptions
    from evopipe.evaluate import EvalSettings

    settings = EvalSettings(run_options=RunOptions(model=model_id))
    start = time.perf_counter()
    report = await evaluate(
        pipeline,
        dataset,
        metrics,
        services=services,
        split="all",
        concurrency=concurrency,
        settings=settings,
    )
    elapsed = time.perf_counter() - start
    again_start = time.perf_counter()
    again = await evaluate(
        pipeline,
        dataset,
        metrics,
        services=services,
        split="all",
        concurrency=concurrency,
        settings=settings,
    )
    again_elapsed = time.perf_counter() - again_start
    ideal = concurrency * 1000 / latency_ms
    rate = report.n / elapsed
    return {
        "concurrency": concurrency,
        "examples": report.n,
        "seconds": round(elapsed, 3),
        "examples_per_s": round(rate, 1),
        "ideal_examples_per_s": round(ideal, 1),
        "efficiency": round(rate / ideal, 3),
        "model_calls": report.spent_calls,
        "failures": report.failures,
        "cached_pass": {
            "seconds": round(again_elapsed, 3),
            "examples_per_s": round(again.n / again_elapsed, 1),
            "model_calls": again.spent_calls,
        },
    }


async def _main(latency_ms: float, seconds: float) -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    rows = []
    for concurrency in (1, 10, 100):
        ideal = concurrency * 1000 / latency_ms
        n = max(20, int(ideal * seconds))
        result = await _measure(concurrency, n, latency_ms)
        print(json.dumps(result))
        rows.append(result)
    return {
        "benchmark": "eval",
        "unit": "examples per second (one llm step per example, sim model)",
        "sim_latency_ms": latency_ms,
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_1m_before": round(load_before, 2),
            "load_average_1m_after": round(os.getloadavg()[0], 2),
        },
        "note": "the gap to the ideal rate is per-run CPU overhead (engine + evaluator); "
        "the cached pass makes zero model calls",
        "results": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=3.0, help="target time per level")
    args = parser.parse_args()
    doc = asyncio.run(_main(args.latency_ms, args.seconds))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
