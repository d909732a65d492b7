"""Dashboard rendering benchmark in a real headless Chromium (Debian's, driven by Playwright).

A store holds 10,000 runs, one run of a 500-step pipeline (a real run on the fake model), and
an evolution with a genealogy of 1,000 candidates (written through the evolution repository:
what the page reads is what an evolution writes). For each page the time is measured from
``goto`` until the page is usable: the runs table is in the DOM, the DAG or the genealogy has
been laid out and drawn (``data-ready`` set by the page's script). Median of 3 loads each,
target 2 s. Writes ``bench/results/dashboard.json``.

    .venv/bin/python bench/dashboard.py [--runs 10000] [--steps 500] [--candidates 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "web"))  # web_served: the server thread, the flags

from web_served import CHROMIUM, FLAGS, free_port, make_app, serve_in_thread  # noqa: E402

from evopipe.app import App  # noqa: E402
from evopipe.app.demo_store import load_pipeline_text  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "dashboard.json"
TARGET_S = 2.0


def seed_runs(app: App, n: int) -> None:
    spec = load_pipeline_text(
        "apiVersion: evopipe/v1\nkind: Pipeline\nname: bulk\nsteps:\n"
        "  - {id: s, kind: llm, prompt: hi}\n"
    )
    from evopipe.spec.canonical import spec_to_json

    text = spec_to_json(spec)
    start = time.time() - n
    for i in range(n):
        rid = f"bulk{i:06d}"
        app.store.create_run(
            rid,
            pipeline_name="bulk",
            spec_hash="h",
            spec_json=text,
            inputs={"i": i},
            created_at=start + i,
        )
        usage = {"calls": 1, "input_tokens": 9, "output_tokens": 4, "cost_usd": 0.0}
        app.store.set_run_status(rid, "succeeded", outputs={}, usage=usage)


def wide_pipeline(steps: int) -> str:
    """``steps`` llm steps in layers of 10, each reading one step of the layer before."""
    lines = ["apiVersion: evopipe/v1", "kind: Pipeline", "name: wide", "steps:"]
    for i in range(steps):
        dep = f" {{{{ steps.s{i - 10}.output }}}}" if i >= 10 else ""
        lines.append(f'  - {{id: s{i}, kind: llm, prompt: "part {i}{dep}"}}')
    return "\n".join(lines) + "\n"


def seed_genealogy(app: App, candidates: int) -> str:
    from evopipe.evolve.fitness import EvalRecord, ExampleResult
    from evopipe.evolve.repository import EvolutionRepository, Member

    repo = EvolutionRepository(app.store)
    rng = random.Random(0)
    run_id = "evo_bench"
    ids = [f"cand{i:05d}" for i in range(candidates)]
    config = {"config": {"selection_split": "val"}, "dataset_key": "bench"}
    repo.create_run(run_id, "bench", ids[0], config)
    ops = ("instruction", "params", "tool_search", "clause", "demo_select", "crossover")
    for i, cid in enumerate(ids):
        generation = 0 if i == 0 else 1 + i // 50
        parents = () if i == 0 else (ids[rng.randrange(max(0, i - 60), i)],)
        member = Member(cid, i, generation, parents, (rng.choice(ops),) if i else (), "", "ok")
        repo.add_member(run_id, member)
        quality = min(1.0, 0.2 + generation * 0.03 + rng.random() * 0.2)
        examples = tuple(
            ExampleResult(f"e{k}", quality, calls=1, cost_usd=1e-5, latency_ms=rng.uniform(5, 50))
            for k in range(4)
        )
        repo.put_evaluation(cid, "bench", EvalRecord("val", examples))
    repo.finish_run(run_id, "finished", {"champion_id": ids[-1]})
    return run_id


def measure(page: Any, url: str, ready: str, loads: int = 3) -> dict[str, Any]:
    times = []
    for _ in range(loads):
        t0 = time.perf_counter()
        page.goto(url, wait_until="domcontentloaded")
        page.wait_for_function(ready, timeout=60_000)
        times.append(time.perf_counter() - t0)
    median = statistics.median(times)
    return {
        "median_s": round(median, 3),
        "all_s": [round(t, 3) for t in times],
        "target_s": TARGET_S,
        "met": median <= TARGET_S,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--candidates", type=int, default=1_000)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "evopipe.db"
        t0 = time.perf_counter()
        with make_app(db, "fake") as app:
            seed_runs(app, args.runs)
            wide = asyncio.run(app.runs.run(load_pipeline_text(wide_pipeline(args.steps)), {}))
            evolution = seed_genealogy(app, args.candidates)
        seeded_s = time.perf_counter() - t0
        port = free_port()
        with make_app(db, "fake") as app:
            stop = serve_in_thread(app, port)
            base = f"http://127.0.0.1:{port}"
            try:
                with sync_playwright() as p:
                    browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
                    page = browser.new_page(viewport={"width": 1280, "height": 900})
                    figures = {
                        "runs_list": measure(
                            page,
                            f"{base}/ui/runs",
                            "document.querySelectorAll('#rows tbody tr').length >= 50",
                        ),
                        "run_dag": measure(
                            page,
                            f"{base}/ui/runs/{wide.run_id}",
                            "document.querySelector('#dag').dataset.ready === '1'",
                        ),
                        "genealogy": measure(
                            page,
                            f"{base}/ui/evolutions/{evolution}",
                            "document.querySelector('#genealogy').dataset.ready === '1'",
                        ),
                    }
                    browser.close()
            finally:
                stop()
    out = {
        "benchmark": "dashboard",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"python": platform.python_version(), "cpu_count": __import__("os").cpu_count()},
        "sizes": {"runs": args.runs, "dag_steps": args.steps, "candidates": args.candidates},
        "seeding_s": round(seeded_s, 1),
        "pages": figures,
        "all_met": all(f["met"] for f in figures.values()),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
