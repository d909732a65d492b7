"""Meta-metrics of the whole ecosystem, from the store (``evopipe stats``).

- generation rate: valid pipelines generated per hour (between the first and the last
  generation, at least one hour) and the share valid at the first try;
- novelty: the share of evaluated evolution candidates whose structure entered the innovation
  gallery;
- reuse: how often each stored pattern was reused (genesis, transplant);
- fitness gain per 100 calls over every finished evolution run.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from evopipe.evolve import tables as et
from evopipe.genesis.records import list_generations
from evopipe.memory.innovations import Gallery
from evopipe.memory.patterns import PatternDB

HOUR = 3600.0


def generation_stats(store: Any) -> dict[str, Any]:
    rows = list_generations(store, limit=100_000)
    valid = [r for r in rows if r.status == "succeeded"]
    times = [r.created_at for r in rows]
    hours = max((max(times) - min(times)) / HOUR, 1.0) if times else 1.0
    return {
        "generations": len(rows),
        "valid": len(valid),
        "generated_per_hour": len(valid) / hours,
        "first_try_valid_share": (
            sum(r.first_try_valid for r in valid) / len(valid) if valid else 0.0
        ),
        "mean_rounds": sum(r.rounds for r in rows) / len(rows) if rows else 0.0,
    }


def evolution_stats(store: Any) -> dict[str, Any]:
    with store.begin() as conn:
        summaries = [
            json.loads(r[0])
            for r in conn.execute(
                select(et.evo_runs.c.summary_json).where(et.evo_runs.c.summary_json.is_not(None))
            )
        ]
    calls = sum(int(s.get("calls", 0)) for s in summaries)
    gain = sum(
        float(s.get("champion_quality", 0)) - float(s.get("seed_quality", 0)) for s in summaries
    )
    candidates = sum(int(s.get("candidates", 0)) for s in summaries)
    return {
        "runs": len(summaries),
        "calls": calls,
        "candidates": candidates,
        "fitness_gain": gain,
        "fitness_gain_per_100_calls": gain / (calls / 100) if calls else 0.0,
    }


def ecosystem_stats(store: Any) -> dict[str, Any]:
    """Every meta-metric (see the module doc)."""
    evolution = evolution_stats(store)
    innovations = Gallery(store).entries(limit=100_000)
    patterns = PatternDB(store).entries(limit=100_000)
    candidates = evolution["candidates"]
    return {
        "generation": generation_stats(store),
        "evolution": evolution,
        "innovations": len(innovations),
        "novel_structure_share": len(innovations) / candidates if candidates else 0.0,
        "patterns": len(patterns),
        "pattern_reuse": {p.pattern_id[:12]: p.reuse_count for p in patterns},
        "reused_patterns_share": (
            sum(p.reuse_count > 0 for p in patterns) / len(patterns) if patterns else 0.0
        ),
    }
