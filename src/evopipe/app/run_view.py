"""One run as the dashboard shows it: the summary, each step in detail (status, attempts,
prompt template, output, contract result, tokens, cost, latency, the approval message) and the
graph of its top-level steps (edges are the plan's dependencies)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from evopipe.app.tenancy import NotFound
from evopipe.engine.plan import build_plan
from evopipe.spec.canonical import spec_from_json
from evopipe.spec.errors import EvopipeError

if TYPE_CHECKING:
    from evopipe.app.root import App

__all__ = ["graph_of", "run_view"]

_ENDED_EARLY = frozenset({"failed", "budget_exceeded", "cancelled"})
"""Run statuses after which a step that never started shows as ``not_run`` (not ``pending``)."""

_PREVIEW = 4000
"""Outputs longer than this (as JSON text) are cut in the page."""

_STATUS = {
    "step_started": "running",
    "step_attempt_started": "running",
    "step_succeeded": "succeeded",
    "step_failed": "failed",
    "step_skipped": "skipped",
    "step_waiting": "waiting",
    "step_cancelled": "cancelled",
}


def graph_of(spec_json: str) -> dict[str, Any]:
    """Nodes (id, kind) and edges (dependency → dependant) of the pipeline's top level."""
    try:
        plan = build_plan(spec_from_json(spec_json))
    except EvopipeError:
        return {"nodes": [], "edges": []}
    nodes = [{"id": sid, "kind": plan.steps[sid].config.kind} for sid in plan.order]
    edges = [{"source": dep, "target": sid} for sid in plan.order for dep in plan.steps[sid].deps]
    return {"nodes": nodes, "edges": edges}


def _preview(value: Any) -> str | None:
    if value is None:
        return None
    shown = value if isinstance(value, str) else json.dumps(value, indent=2, default=str)
    return shown if len(shown) <= _PREVIEW else shown[:_PREVIEW] + " …"


def _blank(step_id: str, kind: str = "", prompt: str | None = None) -> dict[str, Any]:
    return {
        "id": step_id,
        "kind": kind,
        "status": "pending",
        "attempts": 0,
        "model": None,
        "prompt": prompt,
        "output": None,
        "error": None,
        "contract": [],
        "input_tokens": 0,
        "output_tokens": 0,
        "cost_usd": 0.0,
        "latency_ms": None,
        "message": None,
        "fields": {},
        "decision": None,
    }


def _apply(step: dict[str, Any], kind: str, data: dict[str, Any]) -> None:
    if kind in _STATUS:
        step["status"] = _STATUS[kind]
    if kind in ("step_started", "step_attempt_started"):
        step["attempts"] = max(step["attempts"], int(data.get("attempt") or 1))
        step["model"] = data.get("model") or step["model"]
    elif kind == "step_succeeded" or kind == "step_skipped":
        step["output"] = _preview(data.get("output"))
        step["attempts"] = int(data.get("attempts") or step["attempts"])
        step["latency_ms"] = data.get("duration_ms")
        for key in ("input_tokens", "output_tokens", "cost_usd"):
            if data.get(key) is not None:
                step[key] = data[key]
    elif kind == "step_failed":
        step["error"] = data.get("error")
        step["latency_ms"] = data.get("duration_ms")
    elif kind == "step_waiting":
        meta = data.get("meta") or {}
        step["message"] = meta.get("message")
        step["fields"] = meta.get("fields") or {}
    elif kind == "output_invalid":
        step["contract"].append({"ok": False, "detail": "; ".join(data.get("errors") or [])})
    elif kind == "output_repaired":
        step["contract"].append({"ok": True, "detail": "repaired: " + ", ".join(data["repairs"])})
    elif kind == "approval_decided":
        step["decision"] = data


def _queued_view(app: App, run_id: str) -> dict[str, Any]:
    """A run still in the queue (no journal yet): its graph, every step pending."""
    from sqlalchemy import text

    with app.store.begin() as conn:
        row = conn.execute(
            text(
                "SELECT tenant, spec_json, inputs_json, status, created_at FROM run_queue "
                "WHERE run_id = :r"
            ),
            {"r": run_id},
        ).first()
    if row is None:
        raise NotFound(f"no run {run_id!r}")
    m = row._mapping
    graph = graph_of(m["spec_json"])
    run = {
        "run_id": run_id,
        "pipeline_name": spec_from_json(m["spec_json"]).name,
        "status": "queued",
        "error": None,
        "usage": {},
        "inputs": json.loads(m["inputs_json"]),
        "outputs": None,
        "created_at": datetime.fromtimestamp(m["created_at"], tz=UTC).isoformat(),
        "finished_at": None,
    }
    steps = [_blank(n["id"], n["kind"]) for n in graph["nodes"]]
    return {"run": run, "steps": steps, "graph": graph}


def run_view(app: App, run_id: str) -> dict[str, Any]:
    """Summary, steps (in plan order, then any inner steps as they appear) and graph."""
    run = app.store.find_run(run_id)
    if run is None:
        return _queued_view(app, run_id)
    graph = graph_of(run.spec_json)
    prompts: dict[str, str | None] = {}
    try:
        for config in spec_from_json(run.spec_json).steps:
            prompts[config.id] = getattr(config, "prompt", None)
    except EvopipeError:
        pass
    steps = {n["id"]: _blank(n["id"], n["kind"], prompts.get(n["id"])) for n in graph["nodes"]}
    for event in app.store.load_events(run_id):
        if event.step_id is None:
            continue
        step = steps.get(event.step_id)
        if step is None:
            step = steps[event.step_id] = _blank(event.step_id)
        _apply(step, event.type, dict(event.payload))
    if run.status in _ENDED_EARLY:
        for step in steps.values():
            if step["status"] == "pending":
                step["status"] = "not_run"
    summary = run.to_json()
    summary["usage"] = run.usage or {}
    summary["inputs"] = run.inputs
    summary["outputs"] = run.outputs
    return {"run": summary, "steps": list(steps.values()), "graph": graph}
