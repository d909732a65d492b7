"""Store micro-benchmark: microseconds per journal event appended (SQLite, WAL).

Batch size 1 is one transaction per event (the worst case: an engine that flushes after each
event); batch size 100 is one transaction per 100 events. Also measures the cancel-flag poll.
Writes ``bench/results/store.json``. Compare: LangGraph's SQLite checkpointer costs about
1,600 µs per node on this kind of machine.

    .venv/bin/python bench/store.py [--events 5000] [--postgres]
"""

from __future__ import annotations

import argparse
import json
import platform
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evopipe.store import EventRecord, Store

RESULTS = Path(__file__).parent / "results" / "store.json"
PAYLOAD = {"output": {"text": "a short model answer", "n": 3}, "duration_ms": 12.5, "cached": False}


def _per_event_us(store: Store, run_id: str, total: int, batch: int) -> float:
    events = [EventRecord("step_succeeded", f"s{i}", 1, PAYLOAD) for i in range(batch)]
    rounds = max(1, total // batch)
    start = time.perf_counter()
    for _ in range(rounds):
        store.append_events(run_id, events)
    return (time.perf_counter() - start) / (rounds * batch) * 1e6


def _repeat(fn: Callable[[], float], times: int = 5) -> dict[str, float]:
    samples = [fn() for _ in range(times)]
    return {"median_us": round(statistics.median(samples), 2), "min_us": round(min(samples), 2)}


def bench_store(url: str, total: int) -> dict[str, Any]:
    with Store.open(url) as store:
        store.create_run("bench", pipeline_name="bench", spec_hash="h", spec_json="{}", inputs={})
        _per_event_us(store, "bench", 200, 1)  # warm up
        out: dict[str, Any] = {}
        for batch in (1, 100):
            out[f"append_batch_{batch}_per_event"] = _repeat(
                lambda b=batch: _per_event_us(store, "bench", total, b)  # type: ignore[misc]
            )

        def poll() -> float:
            n = 2000
            start = time.perf_counter()
            for _ in range(n):
                store.cancel_requested("bench")
            return (time.perf_counter() - start) / n * 1e6

        out["cancel_requested_poll"] = _repeat(poll)
        seqs = [e.seq for e in store.load_events("bench")]
        assert seqs == list(range(1, len(seqs) + 1)), "journal has gaps"
        out["events_written"] = len(seqs)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--postgres", action="store_true", help="also run on a throwaway cluster")
    args = parser.parse_args()
    results: dict[str, Any] = {
        "benchmark": "store",
        "unit": "microseconds per event (median of 5 rounds)",
        "machine": {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version},
        "reference": {"langgraph_sqlite_checkpointer_us_per_node": 1600},
    }
    with tempfile.TemporaryDirectory() as tmp:
        results["sqlite_wal"] = bench_store(str(Path(tmp) / "bench.db"), args.events)
    if args.postgres:
        from evopipe.store.testing import throwaway_postgres

        with throwaway_postgres() as url:
            results["postgresql"] = bench_store(url, min(args.events, 2000))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
