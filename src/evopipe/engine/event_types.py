"""The one event type of the engine, and the typed payload of each kind of event.

Every subscriber — the journal writer, the progress display, ``--events jsonl``, later the
server's SSE feed — receives the same :class:`Event`. ``Event.type`` names the kind of event
and selects the shape of ``Event.data``, declared once below as a ``TypedDict`` per type in
:data:`EVENT_DATA`. :func:`event_json_schema` turns that table into the JSON Schema of
``Event.to_json()`` (shipped as ``schemas/events-v1.json``, regenerated and checked by
``python -m evopipe.docgen``). Payloads are open: a producer may add keys, and step kinds may
emit events of their own types (``ctx.emit``), which the schema admits with any ``data``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from pydantic import ConfigDict, TypeAdapter, with_config
from typing_extensions import TypedDict


@dataclass(slots=True)
class Event:
    """One thing that happened in a run; the journal is the ordered list of a run's events.

    ``seq`` numbers are assigned per run, from 1, without gaps. ``step_id`` is a path for
    events of inner scopes (``fanout[3].summarise``, ``sub/extract``). Treat events as
    immutable (not frozen only because frozen dataclasses are slower to create, and the engine
    makes one or two per step).
    """

    type: str
    run_id: str
    seq: int
    step_id: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    ts: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "type": self.type,
            "run_id": self.run_id,
            "step_id": self.step_id,
            "ts": self.ts,
            "data": dict(self.data),
        }


# -- payloads (``Event.data``) per event type -------------------------------------------------

_open = with_config(ConfigDict(extra="allow"))


@_open
class RunStarted(TypedDict, total=False):
    pipeline: str
    spec_hash: str
    inputs: dict[str, Any]
    base_dir: str
    forked_from: str | None
    source: str | None
    model: str | None
    """The run's ``--model``: resume and approve continue on it."""
    workspace: str | None
    """The run's workspace when one was given: resume works in it again."""
    depth: int


@_open
class RunResumed(TypedDict, total=False):
    completed: list[str]


@_open
class StepStarted(TypedDict, total=False):
    attempt: int
    kind: str
    idempotency_key: str
    model: str


@_open
class StepAttemptStarted(TypedDict, total=False):
    attempt: int
    model: str | None
    reason: str | None


@_open
class StepRetry(TypedDict, total=False):
    attempt: int
    error: str
    error_type: str
    delay_s: float
    fallback_model: str | None


@_open
class StepSucceeded(TypedDict, total=False):
    output: Any
    attempts: int
    duration_ms: float
    model: str
    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    """``None``: a call had no known price."""
    calls: int
    cached: bool
    meta: dict[str, Any]
    forked_from: str | None


@_open
class StepFailed(TypedDict, total=False):
    error: str
    attempts: int
    duration_ms: float
    error_type: str


@_open
class StepSkipped(TypedDict, total=False):
    reason: str
    meta: dict[str, Any]
    output: Any


@_open
class StepWaiting(TypedDict, total=False):
    duration_ms: float
    meta: dict[str, Any]


@_open
class StepCancelled(TypedDict, total=False):
    pass


@_open
class ModelCall(TypedDict, total=False):
    model: str
    attempt: int
    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    """``None``: the model has no known price."""
    cached: bool
    latency_ms: float
    requests: int
    """Provider requests behind this call when more than one (adapter re-asks)."""
    error: str
    """Set when the call failed after sending requests (they are usage all the same)."""


@_open
class SubrunStarted(TypedDict, total=False):
    pipeline: str
    depth: int
    replay_key: str


@_open
class SubrunFinished(TypedDict, total=False):
    status: str
    error: str | None


@_open
class ApprovalDecided(TypedDict, total=False):
    approved: bool
    comment: str | None
    decided_by: str | None
    values: dict[str, Any]


@_open
class OutputRepaired(TypedDict, total=False):
    repairs: list[str]


@_open
class OutputInvalid(TypedDict, total=False):
    attempt: int
    errors: list[str]


@_open
class LoopExhausted(TypedDict, total=False):
    iterations: int


@_open
class RunFinished(TypedDict, total=False):
    status: str
    outputs: dict[str, Any]
    usage: dict[str, Any]
    error: str | None
    budget: str | None
    waiting_on: list[str]


EVENT_DATA: Mapping[str, type] = MappingProxyType(
    {
        "run_started": RunStarted,
        "run_resumed": RunResumed,
        "step_started": StepStarted,
        "step_attempt_started": StepAttemptStarted,
        "step_retry": StepRetry,
        "step_succeeded": StepSucceeded,
        "step_failed": StepFailed,
        "step_skipped": StepSkipped,
        "step_waiting": StepWaiting,
        "step_cancelled": StepCancelled,
        "model_call": ModelCall,
        "subrun_started": SubrunStarted,
        "subrun_finished": SubrunFinished,
        "approval_decided": ApprovalDecided,
        "output_repaired": OutputRepaired,
        "output_invalid": OutputInvalid,
        "loop_exhausted": LoopExhausted,
        "run_finished": RunFinished,
    }
)
"""Event type → the TypedDict of its ``data`` (the engine's own events)."""

EVENTS_SCHEMA_ID = "https://evopipe.dev/schema/events-v1.json"


def event_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of one ``Event.to_json()`` object, every type included."""
    defs: dict[str, Any] = {}
    branches: list[dict[str, Any]] = []
    for name, payload in EVENT_DATA.items():
        schema = TypeAdapter(payload).json_schema(ref_template="#/$defs/{model}")
        defs.update(schema.pop("$defs", {}))
        defs[payload.__name__] = schema
        branches.append(
            {
                "properties": {
                    "type": {"const": name},
                    "data": {"$ref": f"#/$defs/{payload.__name__}"},
                },
            }
        )
    branches.append(
        {
            "description": "An event a step kind emits itself (``ctx.emit``).",
            "properties": {"type": {"not": {"enum": list(EVENT_DATA)}}, "data": {"type": "object"}},
        }
    )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": EVENTS_SCHEMA_ID,
        "title": "Event",
        "description": "One event of a run, as journaled and streamed (Event.to_json()).",
        "type": "object",
        "required": ["seq", "type", "run_id", "step_id", "ts", "data"],
        "properties": {
            "seq": {"type": "integer", "minimum": 1},
            "type": {"type": "string"},
            "run_id": {"type": "string"},
            "step_id": {"type": ["string", "null"]},
            "ts": {"type": "number"},
            "data": {"type": "object"},
        },
        "oneOf": branches,
        "$defs": defs,
    }


def event_json_schema_text() -> str:
    return json.dumps(event_json_schema(), indent=2, sort_keys=True) + "\n"
