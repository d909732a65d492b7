"""Run control outside a running process: cancel (kill switch) and approval decisions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from evopipe.engine.journal import JournalError, JournalStore
from evopipe.engine.replay import ResumeRefused, check_gaps
from evopipe.spec.fields import FieldValuesError, coerce_values, fields_from


def request_cancel(store: JournalStore, run_id: str) -> None:
    """Set the run's cancel flag; the running process stops it within ``cancel_poll_s``."""
    store.get_run(run_id)  # raises for an unknown run
    store.request_cancel(run_id)


@dataclass(frozen=True, slots=True)
class Decision:
    """A person's decision on a step waiting for approval."""

    step_id: str
    approved: bool = True
    comment: str | None = None
    decided_by: str | None = None
    values: Mapping[str, Any] = field(default_factory=dict)
    """Answers to the step's typed ``fields`` (see :mod:`evopipe.spec.fields`)."""


def record_decision(store: JournalStore, run_id: str, decision: Decision) -> dict[str, Any]:
    """Append an ``approval_decided`` event for a step the run is waiting on.

    The decision's ``values`` answer the step's typed ``fields`` (kept in its ``step_waiting``
    event): they are checked and converted first, and a decision whose values do not fit is
    refused whole (:class:`~evopipe.spec.fields.FieldValuesError`), with nothing recorded. A
    rejection needs none. Returns the values as recorded."""
    info = store.get_run(run_id)
    if info.status != "waiting":
        raise ResumeRefused(f"run {run_id!r} is {info.status}, not waiting for an approval")
    events = store.load_events(run_id)
    check_gaps(events, run_id)
    waiting: dict[str, Mapping[str, Any]] = {}
    for ev in events:
        if ev.step_id is None:
            continue
        if ev.type == "step_waiting":
            waiting[ev.step_id] = ev.data.get("meta") or {}
        elif ev.type in ("step_succeeded", "step_failed", "step_skipped", "approval_decided"):
            waiting.pop(ev.step_id, None)
    step_id = decision.step_id
    if step_id not in waiting:
        listed = ", ".join(sorted(waiting)) or "none"
        raise JournalError(
            f"run {run_id!r} is not waiting on step {step_id!r} (waiting on: {listed})"
        )
    checked = _checked_values(waiting[step_id], decision)
    store.record_approval(
        run_id, step_id, decision.approved, decision.comment, decision.decided_by, checked
    )
    return checked


def _checked_values(meta: Mapping[str, Any], decision: Decision) -> dict[str, Any]:
    step_id, values = decision.step_id, decision.values
    fields = fields_from(meta.get("fields"))
    if not decision.approved:
        return {}
    if not fields and values:
        raise FieldValuesError(f"step {step_id!r} asks for no values (given: {', '.join(values)})")
    try:
        return coerce_values(fields, values)
    except FieldValuesError as exc:
        raise FieldValuesError(f"step {step_id!r}: {exc}") from None
