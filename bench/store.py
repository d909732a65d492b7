"""Store micro-benchmark: microseconds per journal event appended (SQLite, WAL).

Batch size 1 is one transaction per event (the worst case: an engine that flushes after each
event); 3 is about what the engine commits per step of a chain; 100 is one transaction per 100
events. Also measures the cancel-flag poll, and the same transactions on the bare sqlite3
module as a floor (the store's own overhead is the difference).
Writes ``bench/results/store.json``. Compare: LangGraph's SQLite checkpointer costs about
1,600 µs per node on this kind of machine.

    .venv/bin/python bench/store.py [--events 5000] [--postgres]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from evopipe.store import EventRecord, Store, tables

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
        for batch in (1, 3, 100):
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
        # last: it writes rows with seqs of its own
        out["sqlalchemy_core_same_work"] = _bench_sqlalchemy(store, total)
    return out


def _bench_sqlalchemy(store: Store, total: int) -> dict[str, Any]:
    """The same single-event commit and cancel poll through SQLAlchemy Core, for comparison
    with the store's raw-driver hot path."""
    ins = insert(tables.events)
    poll_stmt = select(tables.runs.c.cancel_requested).where(tables.runs.c.run_id == "bench")
    seq = 10_000_000

    def append_one() -> float:
        nonlocal seq
        rounds = max(1, total // 5)
        start = time.perf_counter()
        for _ in range(rounds):
            seq += 1
            row = {"run_id": "bench", "seq": seq, "type": "e", "step_id": "s", "attempt": 1}
            with store.engine.begin() as conn:
                conn.execute(ins, [{**row, "payload": json.dumps(PAYLOAD), "ts": 0.0}])
        return (time.perf_counter() - start) / rounds * 1e6

    def poll() -> float:
        n = 1000
        with store.engine.connect() as conn:
            start = time.perf_counter()
            for _ in range(n):
                conn.execute(poll_stmt).fetchone()
            elapsed = time.perf_counter() - start
            conn.rollback()
        return elapsed / n * 1e6

    return {"append_batch_1_per_event": _repeat(append_one), "cancel_poll": _repeat(poll)}


def bench_raw_sqlite(path: Path, total: int) -> dict[str, Any]:
    """The floor: the same transaction with the bare sqlite3 module (no store, no JSON)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        "CREATE TABLE events (run_id VARCHAR(64), seq INTEGER, type VARCHAR(64), step_id "
        "VARCHAR(200), attempt INTEGER, payload TEXT, ts FLOAT, PRIMARY KEY (run_id, seq))"
    )
    text = json.dumps(PAYLOAD, separators=(",", ":"))
    seq = 0

    def one_round(batch: int) -> float:
        nonlocal seq
        rounds = max(1, total // batch)
        start = time.perf_counter()
        for _ in range(rounds):
            conn.execute("BEGIN IMMEDIATE")
            rows = [("bench", seq + i + 1, "e", "s", 1, text, 0.0) for i in range(batch)]
            conn.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            seq += batch
            conn.execute("COMMIT")
        return (time.perf_counter() - start) / (rounds * batch) * 1e6

    out = {f"append_batch_{b}_per_event": _repeat(lambda b=b: one_round(b)) for b in (1, 3, 100)}  # type: ignore[misc]
    conn.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--postgres", action="store_true", help="also run on a throwaway cluster")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    results: dict[str, Any] = {
        "benchmark": "store",
        "unit": "microseconds per event (median of 5 rounds)",
        "machine": {
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version,
            "cpus": os.cpu_count(),
            "load_average_1m": round(load, 2),
        },
        "reference": {"langgraph_sqlite_checkpointer_us_per_node": 1600},
    }
    with tempfile.TemporaryDirectory() as tmp:
        results["sqlite_wal"] = bench_store(str(Path(tmp) / "bench.db"), args.events)
        results["raw_sqlite3_floor"] = bench_raw_sqlite(Path(tmp) / "raw.db", args.events)
    if args.postgres:
        from evopipe.store.testing import throwaway_postgres

        with throwaway_postgres() as url:
            results["postgresql"] = bench_store(url, min(args.events, 2000))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
