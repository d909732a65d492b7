"""Run summaries and retention read from the store (``evopipe runs list|show``, ``evopipe gc``).

Step summaries are read back from the journal using the engine's event vocabulary
(``step_started``, ``step_attempt_started``, ``step_succeeded``, ``step_failed``,
``step_skipped``, ``step_waiting``, ``step_cancelled``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from evopipe.store.errors import StoreError
from evopipe.store.records import GcCounts, RunRecord, StoredEvent
from evopipe.store.store import Store

_AGE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_AGE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_END_STATUS = {
    "step_succeeded": "succeeded",
    "step_failed": "failed",
    "step_skipped": "skipped",
    "step_waiting": "waiting",
    "step_cancelled": "cancelled",
}
_START = frozenset({"step_started", "step_attempt_started"})


def parse_age(text: str) -> timedelta:
    """``30d``, ``12h``, ``90m``, ``45s``, ``2w`` → a timedelta; a clear error otherwise."""
    match = _AGE_RE.match(text)
    if match is None:
        raise StoreError(
            f"invalid age {text!r}: use a number and a unit s, m, h, d or w (e.g. 30d, 12h)"
        )
    return timedelta(seconds=float(match.group(1)) * _AGE_UNITS[match.group(2)])


def step_summaries(events: Sequence[StoredEvent]) -> list[dict[str, Any]]:
    """Per step (in order of first appearance): status, attempts, duration, cached, error;
    a step waiting for an approval that asks for typed values also has ``asks`` (its
    fields)."""
    steps: dict[str, dict[str, Any]] = {}
    for ev in events:
        if ev.step_id is None:
            continue
        if ev.type not in _START and ev.type not in _END_STATUS:
            continue
        step = steps.setdefault(
            ev.step_id,
            {
                "id": ev.step_id,
                "status": "running",
                "attempts": 0,
                "duration_ms": None,
                "cached": False,
                "error": None,
            },
        )
        data = ev.payload
        if ev.type in _START:
            step["status"] = "running"
            step["attempts"] = max(int(step["attempts"]), int(data.get("attempt", 1) or 1))
            continue
        step["status"] = _END_STATUS[ev.type]
        if "attempts" in data:
            step["attempts"] = int(data["attempts"] or 0)
        if "duration_ms" in data:
            step["duration_ms"] = data["duration_ms"]
        step["cached"] = bool(data.get("cached", False))
        step["error"] = data.get("error")
        step.pop("asks", None)
        asks = (data.get("meta") or {}).get("fields") if ev.type == "step_waiting" else None
        if asks:
            step["asks"] = asks
    return list(steps.values())


def run_summary(store: Store, run_id: str) -> dict[str, Any]:
    """What ``evopipe runs show RUN_ID --json`` prints."""
    run = store.get_run(run_id)
    events = store.load_events(run_id)
    out = run.to_json()
    out["usage"] = run.usage or {}
    out["steps"] = step_summaries(events)
    return out


def list_runs(store: Store, *, limit: int = 50, status: str | None = None) -> list[RunRecord]:
    """The most recent runs (see :meth:`Store.list_runs`)."""
    return store.list_runs(limit=limit, status=status)


def collect_garbage(store: Store, older_than: str | timedelta) -> GcCounts:
    """``evopipe gc --older-than 30d``: delete finished runs older than the age, and so on."""
    age = parse_age(older_than) if isinstance(older_than, str) else older_than
    return store.gc(age)
