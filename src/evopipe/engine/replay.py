"""Reading a journal back: what resume replays and what a fork copies.

Resume replays completed top-level steps and, inside a container that was in flight, its
completed inner steps: in a map or loop (``fanout[3].summarise``, ``refine#2.draft``) their
paths and bodies are fixed by the journaled spec, so the container runs again and only what
did not finish runs. Inside a sub-pipeline or a generated pipeline (``review/draft``) the
run's spec hash does not cover the inner spec, so each ``subrun_started`` event records a
``replay_key`` (the inner spec's hash and its inputs): on resume the inner steps are replayed
only when the sub-run starts again with the same key, else it re-runs as a whole.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from evopipe.engine.journal import ApprovalDecision, JournalError, JournalStore
from evopipe.engine.plan import Plan
from evopipe.engine.state import Replayed
from evopipe.engine.types import Event, StepRecord, StepStatus
from evopipe.spec.base import StepBase
from evopipe.spec.canonical import plain_data
from evopipe.spec.errors import EvopipeError
from evopipe.spec.pipeline import Pipeline
from evopipe.spec.templates import references

_INNER = ("/", ".", "[", "#")
_BODY = re.compile(r"[./\[#]")


class ResumeRefused(EvopipeError):
    """The run cannot be resumed (spec changed, already finished ...)."""


@dataclass(frozen=True)
class LoadedJournal:
    replay: dict[str, Replayed]
    approvals: dict[str, ApprovalDecision]
    last_seq: int
    started: Mapping[str, Any]
    spent: list[Replayed]
    """Every completed step, inner ones included (containers record no usage of their own
    steps): what resume counts against the budget."""
    subruns: dict[str, str]
    """The ``replay_key`` each sub-run (by path) last started with."""


def spec_json(pipeline: Pipeline) -> str:
    """The spec as stored with a run: every field (defaults included, so that it validates
    back to an equal pipeline with the same hash). ``PlanCache.spec_json`` memoises it."""
    return json.dumps(pipeline.model_dump(mode="json", by_alias=True), sort_keys=True)


def stored_pipeline(info: Any) -> Pipeline:
    return Pipeline.model_validate(json.loads(info.spec_json))


def check_gaps(events: Sequence[Event], run_id: str) -> None:
    for i, ev in enumerate(events, start=1):
        if ev.seq != i:
            raise JournalError(f"journal of run {run_id!r} has a gap: seq {ev.seq} at {i}")


def _top_level(step_id: str | None) -> bool:
    return step_id is not None and not any(mark in step_id for mark in _INNER)


def _root(path: str) -> str:
    """The top-level step a path is inside (``fanout[3].summarise`` or ``review/draft`` → the
    first name)."""
    return _BODY.split(path, maxsplit=1)[0]


def replayed_from(event: Event) -> Replayed:
    data = event.data
    status: StepStatus = "skipped" if event.type == "step_skipped" else "succeeded"
    record = StepRecord(
        id=str(event.step_id),
        status=status,
        attempts=int(data.get("attempts", 0)),
        duration_ms=float(data.get("duration_ms", 0.0)),
        cached=bool(data.get("cached", False)),
        output=data.get("output"),
        input_tokens=int(data.get("input_tokens", 0)),
        output_tokens=int(data.get("output_tokens", 0)),
        cost_usd=_cost(data.get("cost_usd", 0.0)),
    )
    return Replayed(record, dict(data))


def _cost(value: Any) -> float | None:
    return None if value is None else float(value)


def load_replay(events: Sequence[Event], run_id: str) -> LoadedJournal:
    """Completed steps that resume replays (their last word in the journal: see the module
    docstring), every completed step (what the run has spent) and approval decisions. Inner
    steps of a completed container are not replayed: the container itself is."""
    check_gaps(events, run_id)
    done: dict[str, Replayed] = {}
    approvals: dict[str, ApprovalDecision] = {}
    started: Mapping[str, Any] = {}
    subruns: dict[str, str] = {}
    for ev in events:
        if ev.type == "run_started":
            started = ev.data
        elif ev.type == "subrun_started" and ev.step_id:
            subruns[ev.step_id] = str(ev.data.get("replay_key") or "")
        elif ev.type == "approval_decided" and ev.step_id:
            approvals[ev.step_id] = ApprovalDecision(
                bool(ev.data.get("approved")),
                ev.data.get("comment"),
                ev.data.get("decided_by"),
                dict(ev.data.get("values") or {}),
            )
        elif ev.step_id is None:
            continue
        elif ev.type in ("step_succeeded", "step_skipped"):
            done[ev.step_id] = replayed_from(ev)
        elif ev.type in ("step_started", "step_failed", "step_waiting"):
            done.pop(ev.step_id, None)
    replay = {
        path: rep for path, rep in done.items() if _top_level(path) or _root(path) not in done
    }
    last = events[-1].seq if events else 0
    return LoadedJournal(replay, approvals, last, started, list(done.values()), subruns)


def replay_key(spec_hash: str, inputs: Mapping[str, Any]) -> str:
    """What a sub-run's inner steps depend on besides the run's spec: its own spec and inputs."""
    text = json.dumps(inputs, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(f"{spec_hash}\n{text}".encode()).hexdigest()[:32]


def _step_data(step: StepBase) -> dict[str, Any]:
    return plain_data(step)


def _reads_inputs(step: StepBase) -> bool:
    texts = list(step.templates().values()) + list(step.conditions().values())
    dumped = json.dumps(_step_data(step))
    if "inputs" not in dumped:
        return False
    for text in texts:
        try:
            if any(ref.root == "inputs" for ref in references(text)):
                return True
        except EvopipeError:
            return True
    return "inputs." in dumped or "inputs[" in dumped


def fork_replay(
    store: JournalStore,
    source_run: str,
    pipeline: Pipeline,
    plan: Plan,
    inputs: Mapping[str, Any],
) -> dict[str, Replayed]:
    """Completed steps of ``source_run`` that a new run of ``pipeline`` can reuse: same config,
    every dependency reused too, same inputs if the step reads them, same defaults and
    personas."""
    info = store.get_run(source_run)
    old = stored_pipeline(info)
    loaded = load_replay(store.load_events(source_run), source_run)
    old_steps = {s.id: s for s in old.steps}
    same_inputs = dict(info.inputs) == dict(inputs)
    same_settings = old.defaults == pipeline.defaults and old.personas == pipeline.personas
    copied: dict[str, Replayed] = {}
    for sid in plan.order:
        ps = plan.steps[sid]
        before = old_steps.get(sid)
        rep = loaded.replay.get(sid)
        if before is None or rep is None or rep.record.status != "succeeded":
            continue
        if _step_data(before) != _step_data(ps.config):
            continue
        if not all(d in copied for d in ps.deps):
            continue
        if not same_settings or (not same_inputs and _reads_inputs(ps.config)):
            continue
        copied[sid] = rep
    return copied
