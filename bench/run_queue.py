"""Queue micro-benchmark: milliseconds per queue operation with 10,000 finished runs stored.

Submit (check the pipeline, insert, compute the position), get, one page of 50 of a tenant's
runs, lease and release, each repeated 200 times; p50 and p95. SQLite by default; with
``--postgres`` also on a throwaway PostgreSQL cluster. Writes ``bench/results/run_queue.json``.

    .venv/bin/python bench/run_queue.py [--rows 10000] [--postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evopipe.app import App, Settings
from evopipe.queue import tables
from evopipe.spec.canonical import spec_to_json
from evopipe.spec.loader import loads

RESULTS = Path(__file__).parent / "results" / "run_queue.json"
ROUNDS = 200
PIPELINE = loads(
    """
apiVersion: evopipe/v1
name: one
inputs: {text: {type: string}}
steps:
  - {id: a, kind: llm, model: fake, prompt: "{{ inputs.text }}"}
outputs: {out: "{{ steps.a.output }}"}
"""
).pipeline


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    at = lambda p: round(ordered[int(p * (len(ordered) - 1))] * 1000, 3)  # noqa: E731
    return {"p50_ms": at(0.5), "p95_ms": at(0.95), "n": len(ordered)}


def _timed(fn: Callable[[], Any], into: list[float]) -> Any:
    start = time.perf_counter()
    out = fn()
    into.append(time.perf_counter() - start)
    return out


def _fill(app: App, rows: int) -> None:
    now, spec = time.time(), spec_to_json(PIPELINE)
    done = [
        {
            "run_id": f"old{i}",
            "tenant": f"t{i % 10}",
            "strategy": "enqueue",
            "spec_json": spec,
            "inputs_json": "{}",
            "status": "done",
            "outcome": "succeeded",
            "attempts": 1,
            "cancel_requested": False,
            "created_at": now,
        }
        for i in range(rows)
    ]
    with app.store.begin() as conn:
        conn.execute(tables.run_queue.insert(), done)


def bench(url: str, project: str, rows: int) -> dict[str, Any]:
    times: dict[str, list[float]] = {
        k: [] for k in ("submit", "get", "list_50", "lease", "release")
    }
    with App(Settings.load(project, db=url)) as app:
        _fill(app, rows)
        queue = app.queue
        for i in range(ROUNDS):
            submit = lambda n=i: asyncio.run(  # noqa: E731
                queue.submit(PIPELINE, {"text": "x"}, tenant="t1", key=f"k{n % 5}")
            )
            queued = _timed(submit, times["submit"])
            _timed(lambda q=queued: queue.get(q.run_id), times["get"])
            _timed(lambda: queue.list(tenant="t1", limit=50), times["list_50"])
        for _ in range(ROUNDS):
            row = _timed(lambda: queue.rq.lease("bench", 30.0), times["lease"])
            if row is None:
                break
            _timed(lambda r=row: queue.rq.release(r, "succeeded"), times["release"])
    return {name: _ms(samples) for name, samples in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    results: dict[str, Any] = {
        "rows_stored": args.rows,
        "machine": f"{platform.system()} {platform.machine()}, python {platform.python_version()}",
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    with tempfile.TemporaryDirectory() as tmp:
        results["sqlite"] = bench(str(Path(tmp) / "queue.db"), tmp, args.rows)
        if args.postgres:
            from evopipe.store.testing import create_database, throwaway_postgres

            with throwaway_postgres() as base:
                results["postgresql"] = bench(create_database(base, "bench"), tmp, args.rows)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
