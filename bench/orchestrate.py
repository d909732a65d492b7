"""Orchestrator benchmark: routing quality, scheduler start lateness, dispatch throughput.

1. **Routing** over the shipped library (17 patterns) on a labelled set written for it
   (``bench/data/routing_requests.json``: 62 in-catalog requests, 15 off-catalog). Stages:
   retrieval (BM25) with a threshold fitted by 2-fold cross-validation (fit on one half,
   measure on the other), no model. Reports top-1 accuracy on in-catalog requests, off-catalog
   detection, and the latency of the rule/keyword stages (p95).
2. **Start lateness** on the real clock: schedules firing every second (six-field cron) under
   :meth:`Scheduler.serve` for ``--seconds``; lateness = dispatch time - nominal time.
3. **1,000 schedules due in one minute**: the time to dispatch all of them in one tick.
4. **The model intent stage** on the same labelled set, with the embedded model by default
   (``--intent-model``): top-1 accuracy, off-catalog detection, seconds per decision.

Writes ``bench/results/orchestrate.json``.

    .venv/bin/python bench/orchestrate.py [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from evopipe.app.schema import open_store
from evopipe.genesis.patterns import load_patterns
from evopipe.orchestrate.routing import (
    Candidate,
    Router,
    RouteRequest,
    Rule,
    Thresholds,
    fit_threshold,
)
from evopipe.orchestrate.scheduler import Scheduler
from evopipe.orchestrate.schedules import Schedule, Schedules

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "orchestrate.json"
REQUESTS = HERE / "data" / "routing_requests.json"


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _scores(router: Router, items: list[dict[str, Any]]) -> list[tuple[str | None, float]]:
    out = []
    for item in items:
        decision = await router.route(item["text"])
        top = decision.trail[0].candidates[0] if decision.trail[0].candidates else None
        out.append((top.name, top.score) if top else (None, 0.0))
    return out


def _evaluate(items: list[dict[str, Any]], scored: list[tuple[str | None, float]], th: float):  # type: ignore[no-untyped-def]
    inside = [(i, s) for i, s in zip(items, scored, strict=True) if i["expect"]]
    outside = [(i, s) for i, s in zip(items, scored, strict=True) if not i["expect"]]
    right = sum(1 for i, (n, sc) in inside if n == i["expect"] and sc >= th)
    rejected = sum(1 for _, (_n, sc) in outside if sc < th)
    return right, len(inside), rejected, len(outside)


async def bench_routing() -> dict[str, Any]:
    items = json.loads(REQUESTS.read_text(encoding="utf-8"))
    candidates = [Candidate(p.name, p.description, p.tags, "library") for p in load_patterns()]
    # retrieval only: an unreachable threshold makes the stage report its candidates
    router = Router(candidates, thresholds=Thresholds(retrieval=1e9))
    scored = await _scores(router, items)
    ranking = sum(
        1 for i, (n, _) in zip(items, scored, strict=True) if i["expect"] and n == i["expect"]
    )
    folds = [items[0::2], items[1::2]]
    fold_scores = [scored[0::2], scored[1::2]]
    totals = [0, 0, 0, 0]
    thresholds = []
    for k in (0, 1):
        fit_items, fit_scores = folds[k], fold_scores[k]
        labels = [
            (sc, bool(i["expect"]) and n == i["expect"])
            for i, (n, sc) in zip(fit_items, fit_scores, strict=True)
        ]
        th = fit_threshold(labels)
        thresholds.append(round(th, 3))
        for j, value in enumerate(_evaluate(folds[1 - k], fold_scores[1 - k], th)):
            totals[j] += value
    rules = [Rule(f"target-{i}", keywords=(f"word{i}", f"other{i}")) for i in range(50)]
    rules += [Rule("explicit", event="push", fields={"branch": "^release/"})]
    fast = Router(candidates, rules)
    times = []
    for i in range(500):
        started = time.perf_counter()
        await fast.route(RouteRequest(f"please handle word{i % 50} now", event="push"))
        times.append((time.perf_counter() - started) * 1000)
    router.close()
    fast.close()
    inside = sum(1 for i in items if i["expect"])
    return {
        "requests": len(items),
        "in_catalog": inside,
        "off_catalog": len(items) - inside,
        "retrieval_top1_ranking_accuracy": round(ranking / inside, 3),
        "top1_accuracy_in_catalog": round(totals[0] / totals[1], 3),
        "off_catalog_detection": round(totals[2] / totals[3], 3),
        "fitted_thresholds_per_fold": thresholds,
        "stages": "rules+keywords (none in the set) then retrieval; no model (intent stage off)",
        "rule_keyword_stage_ms_p50": round(statistics.median(times), 3),
        "rule_keyword_stage_ms_p95": round(_quantile(times, 0.95), 3),
    }


class _Noop:
    def __init__(self) -> None:
        self.started = 0

    async def start(self, schedule: Schedule, nominal: float) -> str:
        self.started += 1
        return f"run-{self.started}"

    async def cancel(self, run_id: str) -> None:
        return None


async def bench_lateness(seconds: float, db: str) -> dict[str, Any]:
    with open_store(db, environ={}) as store:
        for i in range(5):
            Schedules(store).add(
                Schedule(f"every-second-{i}", "* * * * * *", "x", overlap="allow_all")
            )
        scheduler = Scheduler(store, _Noop(), grace_s=5.0)
        stop = asyncio.Event()
        task = asyncio.create_task(scheduler.serve(stop))
        await asyncio.sleep(seconds)
        stop.set()
        await task
        late = [f.lateness for f in scheduler.fires() if f.status == "running"]
    return {
        "schedules": 5,
        "seconds": seconds,
        "fires": len(late),
        "lateness_s_p50": round(statistics.median(late), 4),
        "lateness_s_p99": round(_quantile(late, 0.99), 4),
        "lateness_s_max": round(max(late), 4),
    }


async def bench_thousand(db: str) -> dict[str, Any]:
    with open_store(db, environ={}) as store:
        now = time.time()
        nominal = (int(now) // 60 + 1) * 60.0
        clock_at = [now]
        schedules = Schedules(store, clock=lambda: clock_at[0])
        for i in range(1000):
            schedules.add(Schedule(f"s{i:04d}", "* * * * *", "x", overlap="allow_all"))
        dispatcher = _Noop()
        scheduler = Scheduler(store, dispatcher)
        started = time.perf_counter()
        fires = await scheduler.tick(nominal)
        elapsed = time.perf_counter() - started
    return {
        "schedules": 1000,
        "dispatched": dispatcher.started,
        "fires": len(fires),
        "seconds_to_dispatch_all": round(elapsed, 3),
    }


async def bench_model_stage(model_id: str) -> dict[str, Any]:
    """The intent stage alone: the model picks one of the 17 library pipelines (or none) for
    each labelled request, by constrained JSON (``ModelChooser``). Top-1 accuracy on the
    in-catalog requests, off-catalog detection (``none``), and latency per decision."""
    from evopipe.models import ModelHub
    from evopipe.orchestrate.intent import ModelChooser

    items = json.loads(REQUESTS.read_text(encoding="utf-8"))
    candidates = [Candidate(p.name, p.description, p.tags, "library") for p in load_patterns()]
    chooser = ModelChooser(ModelHub().get(model_id))
    right = rejected = 0
    times = []
    for item in items:
        started = time.perf_counter()
        choice, _confidence = await chooser.choose(item["text"], candidates)
        times.append(time.perf_counter() - started)
        if item["expect"]:
            right += choice == item["expect"]
        else:
            rejected += choice is None
    inside = sum(1 for i in items if i["expect"])
    return {
        "model": model_id,
        "requests": len(items),
        "top1_accuracy_in_catalog": round(right / inside, 3),
        "off_catalog_detection": round(rejected / (len(items) - inside), 3),
        "decision_s_p50": round(statistics.median(times), 2),
        "decision_s_p95": round(_quantile(times, 0.95), 2),
        "note": "the intent stage alone, every request sent to the model (in the cascade it "
        "runs only when the cheaper stages did not decide)",
    }


async def main(seconds: float, intent_model: str | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        routing = await bench_routing()
        if intent_model:
            routing["model_stage"] = await bench_model_stage(intent_model)
        lateness = await bench_lateness(seconds, f"sqlite:///{tmp}/late.db")
        thousand = await bench_thousand(f"sqlite:///{tmp}/many.db")
    return {
        "routing": routing,
        "lateness": lateness,
        "thousand_due": thousand,
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": f"{platform.system()} {platform.machine()}, python {platform.python_version()}",
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument(
        "--intent-model",
        default="local:smollm2-135m",
        help="measure the model intent stage with this model ('' to skip)",
    )
    args = parser.parse_args()
    result = asyncio.run(main(args.seconds, args.intent_model or None))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
