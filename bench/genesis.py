"""Genesis benchmark: the 30 test requests on the embedded local model (SmolLM2-135M).

Two phases, each per request with a wall-time cap (a capped request counts as invalid):

* ``assemble`` (the default strategy for an embedded model): the model makes the small
  structured decisions (pattern, steps), genesis assembles and checks the spec — all 30 requests;
* ``draft`` (the model writes the whole spec under the reduced format's JSON Schema, then
  deterministic repairs and model repair rounds, no assembly) on the first ``--draft-sample``
  requests: first-try validity, validity after repair, rounds.

Results are written after every request, so an interrupted run still leaves figures.
Writes ``bench/results/genesis.json``.

    .venv/bin/python bench/genesis.py [--model local:smollm2-135m] [--limit 30]
        [--draft-sample 3] [--max-rounds 2] [--timeout 300]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import yaml

from evopipe.engine import Services
from evopipe.genesis import GenerationError, MetaLimitExceeded, MetaLimits, agenerate
from evopipe.genesis.driver import Strategy
from evopipe.genesis.result import Round
from evopipe.models import ModelHub

HERE = Path(__file__).parent
ROOT = HERE.parent
REQUESTS = ROOT / "tests" / "genesis" / "requests.yaml"
RESULTS = HERE / "results" / "genesis.json"


def _round_summary(r: Round) -> dict[str, Any]:
    return {
        "source": r.source,
        "valid": r.valid,
        "first_rules": sorted({d.rule for d in r.first_diagnostics}),
        "repairs": [a.repair for a in r.repairs],
        "rules": sorted({d.rule for d in r.diagnostics}),
        "error": (r.error or "")[:300] or None,
        "seconds": round(r.duration_s, 2),
    }


async def one(
    request: str, model: str, max_rounds: int, strategy: Strategy, timeout_s: float
) -> dict[str, Any]:
    started = time.monotonic()
    services = Services(models=ModelHub())
    failed: dict[str, Any] = {
        "request": request,
        "strategy": strategy,
        "valid": False,
        "first_try_valid": False,
        "valid_after_repair": False,
        "source": None,
    }
    try:
        result = await agenerate(
            request,
            model=model,
            services=services,
            max_rounds=max_rounds,
            strategy=strategy,
            limits=MetaLimits(timeout_s=timeout_s),
        )
    except GenerationError as exc:
        return {
            **failed,
            "rounds": len(exc.rounds),
            "seconds": round(time.monotonic() - started, 2),
            "round_details": [_round_summary(r) for r in exc.rounds],
        }
    except MetaLimitExceeded as exc:
        return {
            **failed,
            "rounds": None,
            "limit": exc.rule,
            "seconds": round(time.monotonic() - started, 2),
        }
    model_rounds = [r for r in result.rounds if r.source != "assemble"]
    return {
        "request": request,
        "strategy": strategy,
        "valid": True,
        "first_try_valid": result.first_try_valid,
        "valid_after_repair": any(r.valid for r in model_rounds),
        "source": result.source,
        "pattern": result.pattern,
        "name": result.pipeline.name,
        "steps": len(result.pipeline.steps),
        "rounds": result.rounds_needed,
        "seconds": round(time.monotonic() - started, 2),
        "round_details": [_round_summary(r) for r in result.rounds],
    }


def summarise(rows: list[dict[str, Any]], planned: int) -> dict[str, Any]:
    n = len(rows)

    def rate(key: str) -> float:
        return round(sum(1 for r in rows if r[key]) / n, 3) if n else 0.0

    seconds = [r["seconds"] for r in rows]
    valid_rounds = [r["rounds"] for r in rows if r["valid"]]
    capped = sum(1 for r in rows if r.get("limit"))
    return {
        "requests_planned": planned,
        "requests_done": n,
        "first_try_validity": rate("first_try_valid"),
        "validity_after_repair": rate("valid_after_repair"),
        "validity_with_assembly": rate("valid"),
        "mean_rounds_when_valid": round(statistics.mean(valid_rounds), 2) if valid_rounds else None,
        "rounds_histogram": {
            str(k): sum(1 for r in rows if r["rounds"] == k)
            for k in sorted({r["rounds"] for r in rows if r["rounds"] is not None})
        },
        "hit_time_cap": capped,
        "seconds_median": round(statistics.median(seconds), 2) if seconds else None,
        "seconds_total": round(sum(seconds), 1),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="local:smollm2-135m")
    parser.add_argument("--limit", type=int, default=30)
    parser.add_argument("--draft-sample", type=int, default=3)
    parser.add_argument("--max-rounds", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=300.0, help="Seconds per request.")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    requests = [str(r) for r in yaml.safe_load(REQUESTS.read_text(encoding="utf-8"))]
    phases: list[tuple[Strategy, list[str]]] = [
        ("assemble", requests[: args.limit]),
        ("draft", requests[: args.draft_sample]),
    ]
    rows: dict[str, list[dict[str, Any]]] = {"assemble": [], "draft": []}
    report: dict[str, Any] = {}
    for strategy, chosen in phases:
        for i, request in enumerate(chosen, 1):
            row = await one(request, args.model, args.max_rounds, strategy, args.timeout)
            rows[strategy].append(row)
            print(
                f"[{strategy} {i}/{len(chosen)}] valid={row['valid']} "
                f"first_try={row['first_try_valid']} after_repair={row['valid_after_repair']} "
                f"rounds={row['rounds']} {row['seconds']}s  {request[:50]}",
                flush=True,
            )
            report = {
                "benchmark": "genesis",
                "model": args.model,
                "max_rounds": args.max_rounds,
                "timeout_s_per_request": args.timeout,
                "machine": {"python": platform.python_version(), "platform": platform.platform()},
                "summary": {
                    name: summarise(done, len(dict(phases)[name])) for name, done in rows.items()
                },
                "requests": rows,
            }
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report.get("summary"), indent=2))


if __name__ == "__main__":
    asyncio.run(main())
