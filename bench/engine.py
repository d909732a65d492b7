"""Engine overhead benchmark, side by side with LangGraph in the same process.

Shapes (no-op nodes, zero-latency):
- chain: 1,000 steps, each depending on the previous one;
- fan-out: 1,000 independent steps.

evopipe runs ``set`` steps with constant values (a no-op kind) — without a journal, and with
the SQLite journal (WAL) with group commit per event-loop turn (default) and with a commit at
every step end (``durability="step"``). LangGraph runs a ``StateGraph`` of the same shape with
no-op nodes — without a checkpointer, and with ``SqliteSaver``. Every configuration is measured
``--repeats`` times, interleaved (so background load hits all alike); the best run counts.
Objects built during setup are frozen (``gc.freeze``) and garbage is collected before each
timed run, for both engines alike.
Per-step overhead = wall time of a run / number of steps.

Also: 100 independent ``llm`` steps on ``sim:latency_ms=200`` with max_concurrency 100 → wall
time (should be a little over 200 ms, far under 1 s).

Writes ``bench/results/engine.json`` and rewrites the engine table in ``bench/README.md``
(``--no-readme`` to skip). The goal is measured at 1,000 steps; 100 steps are shown too
(LangGraph's per-node cost grows with the graph's size).

    .venv/bin/python bench/engine.py [--steps 1000 100] [--repeats 5] [--no-readme]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
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

from evopipe.engine import RunOptions, Services, run_pipeline
from evopipe.models import ModelHub
from evopipe.spec.loader import loads
from evopipe.spec.pipeline import Pipeline

HERE = Path(__file__).parent
RESULTS = HERE / "results" / "engine.json"
README = HERE / "README.md"
TABLE_START = "<!-- engine-table:start -->"
TABLE_END = "<!-- engine-table:end -->"
LOOPS: list[asyncio.AbstractEventLoop] = []
STORES: list[Any] = []


# -- evopipe ----------------------------------------------------------------------------------


def chain_spec(n: int) -> Pipeline:
    lines = ["apiVersion: evopipe/v1", "name: chain", "steps:"]
    lines.append("  - {id: s0, kind: set, values: {v: 1}}")
    lines += [
        f"  - {{id: s{i}, kind: set, needs: [s{i - 1}], values: {{v: 1}}}}" for i in range(1, n)
    ]
    return loads("\n".join(lines)).pipeline


def fan_spec(n: int) -> Pipeline:
    lines = ["apiVersion: evopipe/v1", "name: fan", "steps:"]
    lines += [f"  - {{id: s{i}, kind: set, values: {{v: 1}}}}" for i in range(n)]
    return loads("\n".join(lines)).pipeline


def evopipe_runner(pipeline: Pipeline, mode: str, tmp: Path) -> Callable[[], float]:
    store = None
    durability = "step" if mode == "sqlite-step" else "turn"
    if mode.startswith("sqlite"):
        from evopipe.store import Store

        store = Store.open(str(tmp / f"evopipe-{pipeline.name}-{len(pipeline.steps)}-{mode}.db"))
        STORES.append(store)
    services = Services(models=ModelHub(allow_network=False), store=store)
    options = RunOptions(durability=durability)  # type: ignore[arg-type]

    loop = asyncio.new_event_loop()  # one loop, like a server; asyncio.run per call adds ~ms
    LOOPS.append(loop)

    def once() -> float:
        start = time.perf_counter()
        coro = run_pipeline(pipeline, {}, services=services, options=options)
        result = loop.run_until_complete(coro)
        took = time.perf_counter() - start
        if result.status != "succeeded":
            raise RuntimeError(f"evopipe {mode} run {result.status}: {result.error}")
        return took

    once()  # warm: plan compiled, kinds imported (like LangGraph's compile())
    return once


# -- LangGraph --------------------------------------------------------------------------------


def langgraph_runner(shape: str, n: int, checkpoint: bool, tmp: Path) -> Callable[[], float]:
    from typing import TypedDict

    from langgraph.graph import END, START, StateGraph

    class State(TypedDict, total=False):
        x: int

    def noop(state: State) -> dict[str, Any]:
        return {}

    graph = StateGraph(State)
    for i in range(n):
        graph.add_node(f"n{i}", noop)
    if shape == "chain":
        graph.add_edge(START, "n0")
        for i in range(1, n):
            graph.add_edge(f"n{i - 1}", f"n{i}")
        graph.add_edge(f"n{n - 1}", END)
    else:
        for i in range(n):
            graph.add_edge(START, f"n{i}")
            graph.add_edge(f"n{i}", END)
    saver = None
    if checkpoint:
        from langgraph.checkpoint.sqlite import SqliteSaver

        conn = sqlite3.connect(str(tmp / f"lg-{shape}-{n}.db"), check_same_thread=False)
        saver = SqliteSaver(conn)
        STORES.append(conn)
    app = graph.compile(checkpointer=saver)
    counter = iter(range(10**9))

    def once() -> float:
        config: dict[str, Any] = {"recursion_limit": 10 * n + 10}
        if checkpoint:
            config["configurable"] = {"thread_id": f"t{next(counter)}"}
        start = time.perf_counter()
        app.invoke({"x": 0}, config)
        return time.perf_counter() - start

    once()
    return once


# -- parallelism ------------------------------------------------------------------------------


def parallel_wall_time(width: int = 100, latency_ms: int = 200) -> float:
    model = f"sim:latency_ms={latency_ms}"
    lines = ["apiVersion: evopipe/v1", "name: wide", f"limits: {{max_concurrency: {width}}}"]
    lines += ["steps:"] + [
        f"  - {{id: s{i}, kind: llm, model: '{model}', prompt: 'item {i}'}}" for i in range(width)
    ]
    pipeline = loads("\n".join(lines)).pipeline
    services = Services(models=ModelHub(allow_network=False))
    start = time.perf_counter()
    result = asyncio.run(run_pipeline(pipeline, {}, services=services))
    took = time.perf_counter() - start
    if result.status != "succeeded":
        raise RuntimeError(f"parallel run {result.status}: {result.error}")
    return took


# -- main -------------------------------------------------------------------------------------


def measure(n: int, repeats: int, tmp: Path) -> dict[str, dict[str, dict[str, float]]]:
    configs: dict[tuple[str, str], Callable[[], float]] = {}
    for shape, build in (("chain", chain_spec), ("fanout", fan_spec)):
        pipeline = build(n)
        for mode in ("memory", "sqlite", "sqlite-step"):
            configs[(shape, f"evopipe/{mode}")] = evopipe_runner(pipeline, mode, tmp)
        configs[(shape, "langgraph/none")] = langgraph_runner(shape, n, False, tmp)
        configs[(shape, "langgraph/sqlite")] = langgraph_runner(shape, n, True, tmp)
    samples: dict[tuple[str, str], list[float]] = {key: [] for key in configs}
    # Both engines live in one process: freeze what setup built (compiled graphs, plans) and
    # collect before every timed run, so that neither pays for the other's garbage.
    gc.collect()
    gc.freeze()
    for _ in range(repeats):
        for key, once in configs.items():
            gc.collect()
            samples[key].append(once())
    gc.unfreeze()
    out: dict[str, dict[str, dict[str, float]]] = {}
    for (shape, name), values in samples.items():
        out.setdefault(shape, {})[name] = {
            "best_us_per_step": round(min(values) / n * 1e6, 2),
            "median_us_per_step": round(statistics.median(values) / n * 1e6, 2),
        }
    return out


def ratios(results: dict[str, dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for shape, rows in results.items():

        def best(name: str, rows: dict[str, dict[str, float]] = rows) -> float:
            return rows[name]["best_us_per_step"]

        out[shape] = {
            "no_journal": round(best("langgraph/none") / best("evopipe/memory"), 1),
            "journal": round(best("langgraph/sqlite") / best("evopipe/sqlite"), 1),
            "journal_commit_per_step": round(
                best("langgraph/sqlite") / best("evopipe/sqlite-step"), 1
            ),
        }
    return out


def table(doc: dict[str, Any]) -> str:
    lines = [
        f"Per-step overhead in µs (best of {doc['repeats']} interleaved runs; load average at "
        f"start {doc['loadavg']} on {doc['cpus']} shared cores — compare the ratios, measured in "
        "the same process at the same time):",
        "",
        "| steps | shape | evopipe | evopipe + SQLite journal | evopipe + SQLite, commit "
        "per step | LangGraph | LangGraph + SqliteSaver | ratio (no journal) | "
        "ratio (journal) |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size, block in doc["sizes"].items():
        for shape, rows in block["results"].items():
            r = block["ratios"][shape]
            cells = [
                rows[name]["best_us_per_step"]
                for name in (
                    "evopipe/memory",
                    "evopipe/sqlite",
                    "evopipe/sqlite-step",
                    "langgraph/none",
                    "langgraph/sqlite",
                )
            ]
            lines.append(
                f"| {int(size):,} | {shape} | "
                + " | ".join(f"{c:,.1f}" for c in cells)
                + f" | {r['no_journal']}x | {r['journal']}x |"
            )
    lines += [
        "",
        f"100 independent llm steps on `sim:latency_ms=200`, max_concurrency 100: "
        f"**{doc['parallel_100x200ms_s']:.3f} s** wall time.",
    ]
    return "\n".join(lines)


def write_readme(text: str) -> None:
    current = README.read_text(encoding="utf-8") if README.exists() else "# Benchmarks\n"
    block = f"{TABLE_START}\n{text}\n{TABLE_END}"
    if TABLE_START in current and TABLE_END in current:
        head, _, rest = current.partition(TABLE_START)
        _, _, tail = rest.partition(TABLE_END)
        current = head + block + tail
    else:
        current = current.rstrip("\n") + "\n\n## Engine (`bench/engine.py`)\n\n" + block + "\n"
    README.write_text(current, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--steps", type=int, nargs="+", default=[1000, 100], help="Graph sizes (first: goal)."
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--no-readme", action="store_true", help="Do not rewrite the table in bench/README.md."
    )
    args = parser.parse_args()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    with tempfile.TemporaryDirectory() as tmp:
        try:
            sizes = {
                str(n): {
                    "results": (res := measure(n, args.repeats, Path(tmp))),
                    "ratios": ratios(res),
                }
                for n in args.steps
            }
        finally:
            for loop in LOOPS:
                loop.close()
            for store in STORES:
                store.close()
    doc: dict[str, Any] = {
        "benchmark": "engine",
        "steps": args.steps[0],
        "repeats": args.repeats,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "loadavg": round(load, 2) if load is not None else None,
        "results": sizes[str(args.steps[0])]["results"],
        "ratios": sizes[str(args.steps[0])]["ratios"],
        "sizes": sizes,
        "parallel_100x200ms_s": round(parallel_wall_time(), 4),
        "goal": {"no_journal": 8, "journal": 25},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    text = table(doc)
    print(text)
    if not args.no_readme:
        write_readme(text)


if __name__ == "__main__":
    main()
