"""Unified reports: per pipeline, schedule or workflow — runs, success rate, cost, latency and
the last failure — computed from plain outcome rows, whatever produced them."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from evopipe.store.records import FieldsJson


@dataclass(frozen=True)
class Outcome:
    """One finished (or running) unit of work to report on."""

    subject: str
    status: str
    at: float
    seconds: float | None = None
    cost_usd: float | None = None
    ref: str | None = None
    """A run or chain id, shown for the last failure."""
    error: str | None = None


@dataclass(frozen=True)
class Report(FieldsJson):
    subject: str
    runs: int
    succeeded: int
    failed: int
    success_rate: float | None
    cost_usd: float | None
    """Summed; None when any run's cost is unknown."""
    latency_s_p50: float | None
    latency_s_max: float | None
    last_failure: dict[str, Any] | None


FAILED = frozenset({"failed", "budget_exceeded", "cancelled"})
DONE = FAILED | {"succeeded"}


def summarise(outcomes: Iterable[Outcome]) -> list[Report]:
    """One report per subject, sorted by subject."""
    groups: dict[str, list[Outcome]] = {}
    for o in outcomes:
        groups.setdefault(o.subject, []).append(o)
    return [_report(subject, rows) for subject, rows in sorted(groups.items())]


def _report(subject: str, rows: list[Outcome]) -> Report:
    done = [r for r in rows if r.status in DONE]
    ok = sum(r.status == "succeeded" for r in done)
    failures = sorted((r for r in done if r.status in FAILED), key=lambda r: r.at)
    costs = [r.cost_usd for r in rows]
    times = [r.seconds for r in done if r.seconds is not None]
    last = failures[-1] if failures else None
    return Report(
        subject=subject,
        runs=len(rows),
        succeeded=ok,
        failed=len(failures),
        success_rate=round(ok / len(done), 4) if done else None,
        cost_usd=None if any(c is None for c in costs) else round(sum(c or 0.0 for c in costs), 6),
        latency_s_p50=round(statistics.median(times), 3) if times else None,
        latency_s_max=round(max(times), 3) if times else None,
        last_failure=None
        if last is None
        else {"at": last.at, "ref": last.ref, "status": last.status, "error": last.error},
    )
