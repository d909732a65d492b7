"""Run control outside a running process: cancel (kill switch) and approval decisions."""

from __future__ import annotations

from evopipe.engine.journal import JournalError, JournalStore
from evopipe.engine.replay import ResumeRefused, check_gaps


def request_cancel(store: JournalStore, run_id: str) -> None:
    """Set the run's cancel flag; the running process stops it within ``cancel_poll_s``."""
    store.get_run(run_id)  # raises for an unknown run
    store.request_cancel(run_id)


def record_decision(
    store: JournalStore,
    run_id: str,
    step_id: str,
    *,
    approved: bool,
    comment: str | None = None,
    decided_by: str | None = None,
) -> None:
    """Append an ``approval_decided`` event for a step the run is waiting on."""
    info = store.get_run(run_id)
    if info.status != "waiting":
        raise ResumeRefused(f"run {run_id!r} is {info.status}, not waiting for an approval")
    events = store.load_events(run_id)
    check_gaps(events, run_id)
    waiting: set[str] = set()
    for ev in events:
        if ev.step_id is None:
            continue
        if ev.type == "step_waiting":
            waiting.add(ev.step_id)
        elif ev.type in ("step_succeeded", "step_failed", "step_skipped", "approval_decided"):
            waiting.discard(ev.step_id)
    if step_id not in waiting:
        listed = ", ".join(sorted(waiting)) or "none"
        raise JournalError(
            f"run {run_id!r} is not waiting on step {step_id!r} (waiting on: {listed})"
        )
    store.record_approval(run_id, step_id, approved, comment, decided_by)
